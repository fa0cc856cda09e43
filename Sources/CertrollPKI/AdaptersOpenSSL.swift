public import CertrollCore
public import Foundation

/// `KeyInspector` over OpenSSL: tells whether a node's current key is
/// encrypted and whether the given passphrase opens it (preflight, so a
/// rollback can write an OTC for the old key).
public struct OpenSSLKeyInspector: KeyInspector {
    public init() {}

    public func inspect(pem: Data, passphrase: Secret?) -> KeyInspection {
        let file: KeyFile
        do throws(PKIError) {
            file = try KeyFile(data: pem, file: "the current key")
        } catch {
            return .unreadable(error.reason)
        }
        guard file.format.isEncrypted else { return .unencrypted }
        guard let passphrase else { return .encryptedLocked }
        do throws(PKIError) {
            _ = try file.open(passphrase: passphrase)
            return .encryptedOpened
        } catch {
            return .encryptedLocked
        }
    }
}

/// `CertificateDates` over OpenSSL: validity of a DER certificate.
public struct OpenSSLCertificateDates: CertificateDates {
    public init() {}

    public func validity(der: Data) -> (notBefore: Date, notAfter: Date)? {
        guard let certificate = try? Certificate(der: der) else { return nil }
        return (certificate.notBefore, certificate.notAfter)
    }
}

extension CertificateToInstall {
    /// What `apply` installs, from a `check` report whose files passed:
    /// the chain in XSOAR's order (text outside PEM blocks dropped) and the
    /// key's PEM block as written (legacy encrypted or unencrypted).
    /// `keyPassphrase` is kept only when the key is encrypted (it goes into the OTC).
    public init(checked report: CheckReport, keyPassphrase: Secret?) throws(PKIError) {
        let input = report.material.input
        guard let chain = report.chain else { throw .noCertificate(input.certificateFile) }
        let keyFile = try report.material.keyFile.get()
        let leaf = chain.leaf
        self.init(chainPEM: Data(chain.ordered.map(\.pem).joined().utf8),
                  keyPEM: Data(keyFile.block.text.utf8),
                  notBefore: leaf.notBefore, notAfter: leaf.notAfter,
                  keyPassphrase: keyFile.format.isEncrypted ? keyPassphrase : nil)
    }
}
