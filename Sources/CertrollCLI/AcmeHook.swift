import CertrollCore
import Foundation

/// A certificate an ACME client has just renewed, as named by the
/// environment it gives its hook.
struct RenewedCertificate: Sendable, Equatable {
    /// The ACME client that ran the hook.
    enum Client: String, Sendable {
        case certbot, lego
        case acmeSh = "acme.sh"
    }

    var client: Client
    /// The renewed chain file, leaf first.
    var cert: String
    /// Its private key.
    var key: String

    /// Whether `source` is this certificate: its chain file or its key file
    /// is the renewed one, either as written or after following symlinks
    /// (certbot's `live/` files are symlinks into `archive/`, and a fleet's
    /// inventory may reach them through a linked folder).
    func matches(_ source: CertificateSource) -> Bool {
        AcmeHook.sameFile(source.cert, cert) || AcmeHook.sameFile(source.key, key)
    }
}

/// Recognises the environment of an ACME client's hook, so `renew` run from
/// one rolls out only the clusters whose source was renewed.
enum AcmeHook {
    /// The certificate the hook was run for, or nil when the environment is
    /// no known client's (an ordinary run): certbot's `--deploy-hook`
    /// (`RENEWED_LINEAGE`), lego's `--renew-hook` (`LEGO_CERT_PATH`,
    /// `LEGO_CERT_KEY_PATH`) or acme.sh's `--reloadcmd`
    /// (`CERT_FULLCHAIN_PATH`, `CERT_KEY_PATH`). An empty variable counts as
    /// unset; a client's pair must be complete to count.
    static func renewed(environment: [String: String]) -> RenewedCertificate? {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let lineage = value("RENEWED_LINEAGE") {
            let folder = URL(fileURLWithPath: lineage, isDirectory: true)
            return RenewedCertificate(
                client: .certbot,
                cert: folder.appendingPathComponent("fullchain.pem").path,
                key: folder.appendingPathComponent("privkey.pem").path)
        }
        if let cert = value("LEGO_CERT_PATH"), let key = value("LEGO_CERT_KEY_PATH") {
            return RenewedCertificate(client: .lego, cert: cert, key: key)
        }
        if let cert = value("CERT_FULLCHAIN_PATH"), let key = value("CERT_KEY_PATH") {
            return RenewedCertificate(client: .acmeSh, cert: cert, key: key)
        }
        return nil
    }

    /// Two paths name the same file when they are equal as written
    /// (absolute, `.`/`..` removed) or lead to the same file once every
    /// symlink is followed. A missing file compares as written only.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        let written = (standardized(a), standardized(b))
        if written.0 == written.1 { return true }
        guard let real0 = realPath(written.0), let real1 = realPath(written.1) else { return false }
        return real0 == real1
    }

    private static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
