@testable import CertrollPKI
import CertrollCore
import CertrollTestKit
import Foundation
import Testing

@Suite struct KeyTests {
    let pki = TestPKI.shared

    @Test(arguments: [KeyType.rsa(bits: 2048), .ec(.p256), .ec(.p384)])
    func generatesEveryOfferedType(_ type: KeyType) async throws {
        let key = try await PrivateKey.generate(type)
        let expected = switch type {
        case .rsa(let bits): "RSA \(bits)"
        case .ec(let curve): "EC \(curve.displayName)"
        }
        #expect(key.summary == expected)
    }

    @Test func rsa4096IsTheDefaultAndWorks() async throws {
        #expect(KeyType.default == .rsa(bits: 4096))
        let key = try await PrivateKey.generate(.default)
        #expect(key.summary == "RSA 4096")
    }

    @Test func keyTypeNames() {
        #expect(KeyType(name: "rsa:3072") == .rsa(bits: 3072))
        #expect(KeyType(name: "ec:p384") == .ec(.p384))
        #expect(KeyType(name: "rsa:1024") == nil)
        #expect(KeyType(name: "dsa:2048") == nil)
    }

    @Test func legacyEncryptedPEMOpensWithOpenSSLAndWithUs() throws {
        let secret = Secret("correct horse")
        let pem = try pki.leafKey.traditionalPEM(encryption: (.aes256, secret))
        #expect(pem.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"))
        let dir = try TestPKI.temporaryDirectory()
        let path = try TestPKI.write(pem, to: dir, "key.pem")
        let opened = try OpenSSLCLI.run(["pkey", "-in", path, "-passin", "pass:correct horse", "-pubout"])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout == PEM.encode(pki.leafKey.publicKeyDER, label: "PUBLIC KEY"))

        let file = try KeyFile(contentsOf: path)
        #expect(file.format == .legacyEncrypted(cipher: "AES-256-CBC"))
        #expect(try file.open(passphrase: secret).publicKeyDER == pki.leafKey.publicKeyDER)
        #expect(throws: PKIError.wrongPassphrase(path)) { try file.open(passphrase: Secret("wrong")) }
        #expect(throws: PKIError.passphraseRequired(path)) { try file.open(passphrase: nil) }
    }

    @Test(arguments: [(KeyCipher.aes128, "AES-128-CBC"), (.des3, "DES-EDE3-CBC")])
    func otherCiphers(_ cipher: KeyCipher, _ dekName: String) throws {
        let pem = try pki.ecLeafKey.traditionalPEM(encryption: (cipher, Secret("pw")))
        #expect(pem.contains("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: \(dekName),"))
        let file = try KeyFile(data: Data(pem.utf8), file: "k")
        #expect(try file.open(passphrase: Secret("pw")).publicKeyDER == pki.ecLeafKey.publicKeyDER)
    }

    @Test func unencryptedTraditionalForms() throws {
        let rsa = try pki.leafKey.traditionalPEM()
        #expect(rsa.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\nMII"))
        #expect(try KeyFile(data: Data(rsa.utf8), file: "k").format == .pkcs1)
        let ec = try pki.ecLeafKey.traditionalPEM()
        #expect(ec.hasPrefix("-----BEGIN EC PRIVATE KEY-----\n"))
        #expect(try KeyFile(data: Data(ec.utf8), file: "k").format == .sec1)
    }

    /// PKCS#8 forms made by the real openssl CLI, read and identified by us.
    @Test func readsPKCS8MadeByOpenSSL() throws {
        let dir = try TestPKI.temporaryDirectory()
        let legacy = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "rsa.pem")
        let plain = dir.appendingPathComponent("p8.pem").path
        let encrypted = dir.appendingPathComponent("p8e.pem").path
        #expect(try OpenSSLCLI.run(["pkcs8", "-topk8", "-nocrypt", "-in", legacy, "-out", plain]).status == 0)
        #expect(try OpenSSLCLI.run(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", legacy, "-out", encrypted, "-passout", "pass:s3cret"]).status == 0)

        let p8 = try KeyFile(contentsOf: plain)
        #expect(p8.format == .pkcs8)
        #expect(try p8.open(passphrase: nil).publicKeyDER == pki.leafKey.publicKeyDER)
        let p8e = try KeyFile(contentsOf: encrypted)
        #expect(p8e.format == .pkcs8Encrypted)
        #expect(!p8e.format.loadsInXSOAR)
        #expect(try p8e.open(passphrase: Secret("s3cret")).publicKeyDER == pki.leafKey.publicKeyDER)
        #expect(throws: PKIError.wrongPassphrase(encrypted)) { try p8e.open(passphrase: Secret("nope")) }
    }

    @Test func badKeyFiles() throws {
        #expect(throws: PKIError.emptyFile("k")) { try KeyFile(data: Data("\n \n".utf8), file: "k") }
        #expect(throws: PKIError.certificateInsteadOfKey("k")) {
            try KeyFile(data: Data(pki.leaf.pem.utf8), file: "k")
        }
        let pem = try pki.leafKey.traditionalPEM()
        let truncated = String(pem.prefix(pem.count / 2))
        #expect(throws: PKIError.truncatedPEM("k", block: 1, line: 1, label: "")) {
            try KeyFile(data: Data(truncated.utf8), file: "k")
        }
        let der = Data(base64Encoded: pem.split(separator: "\n").dropFirst().dropLast().joined())!
        do {
            _ = try KeyFile(data: der, file: "k.der")
            Issue.record("DER accepted")
        } catch {
            #expect(error.code == .notPEM)
            #expect(error.reason.contains("k.der is binary DER, not PEM"))
        }
    }
}
