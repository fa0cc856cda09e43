import CertrollCore
import Foundation

/// The certificate an ACME client has just renewed, as its deploy hook's
/// environment names it.
struct RenewedCertificate: Sendable, Equatable {
    var cert: String
    var key: String

    /// Whether `source` is this certificate. Real paths are compared, so
    /// certbot's `live/` symlinks match the lineage they point into.
    func matches(_ source: CertificateSource) -> Bool {
        AcmeHook.realPath(source.cert) == AcmeHook.realPath(cert) && AcmeHook.realPath(source.key) == AcmeHook.realPath(key)
    }
}

/// Deploy hooks of ACME clients: certbot `--deploy-hook` (`RENEWED_LINEAGE`),
/// lego `--renew-hook` (`LEGO_CERT_PATH`, `LEGO_CERT_KEY_PATH`), acme.sh
/// `--reloadcmd` (`CERT_FULLCHAIN_PATH`, `CERT_KEY_PATH`).
enum AcmeHook {
    /// The renewed certificate, or nil when not run from a deploy hook.
    static func renewed(environment: [String: String]) -> RenewedCertificate? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let lineage = value("RENEWED_LINEAGE") {
            return RenewedCertificate(cert: lineage + "/fullchain.pem", key: lineage + "/privkey.pem")
        }
        if let cert = value("LEGO_CERT_PATH"), let key = value("LEGO_CERT_KEY_PATH") {
            return RenewedCertificate(cert: cert, key: key)
        }
        if let cert = value("CERT_FULLCHAIN_PATH"), let key = value("CERT_KEY_PATH") {
            return RenewedCertificate(cert: cert, key: key)
        }
        return nil
    }

    /// Symlinks resolved; the path as given when it cannot be.
    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return URL(fileURLWithPath: path).standardizedFileURL.path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
