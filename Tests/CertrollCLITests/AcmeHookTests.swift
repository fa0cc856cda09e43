@testable import CertrollCLI
import CertrollCore
import CertrollTestKit
import Foundation
import Testing

@Suite struct AcmeHookEnvironmentTests {
    @Test func certbotDeployHookNamesTheLineagesFullchainAndKey() {
        let renewed = AcmeHook.renewed(environment: [
            "RENEWED_LINEAGE": "/etc/letsencrypt/live/soc.example.com",
            "RENEWED_DOMAINS": "soc.example.com",
        ])
        #expect(renewed == RenewedCertificate(
            client: .certbot,
            cert: "/etc/letsencrypt/live/soc.example.com/fullchain.pem",
            key: "/etc/letsencrypt/live/soc.example.com/privkey.pem"))
    }

    @Test func legoRenewHook() {
        let renewed = AcmeHook.renewed(environment: [
            "LEGO_CERT_DOMAIN": "soc.example.com",
            "LEGO_CERT_PATH": "/var/lib/lego/certificates/soc.example.com.crt",
            "LEGO_CERT_KEY_PATH": "/var/lib/lego/certificates/soc.example.com.key",
        ])
        #expect(renewed == RenewedCertificate(
            client: .lego,
            cert: "/var/lib/lego/certificates/soc.example.com.crt",
            key: "/var/lib/lego/certificates/soc.example.com.key"))
    }

    @Test func acmeShReloadCommandUsesTheFullchainNotTheLeafAlone() {
        let renewed = AcmeHook.renewed(environment: [
            "CERT_PATH": "/etc/xsoar-certs/soc.cer",
            "CA_CERT_PATH": "/etc/xsoar-certs/ca.cer",
            "CERT_FULLCHAIN_PATH": "/etc/xsoar-certs/fullchain.cer",
            "CERT_KEY_PATH": "/etc/xsoar-certs/soc.key",
        ])
        #expect(renewed == RenewedCertificate(
            client: .acmeSh, cert: "/etc/xsoar-certs/fullchain.cer", key: "/etc/xsoar-certs/soc.key"))
    }

    @Test(arguments: [
        [:],
        ["PATH": "/usr/bin", "HOME": "/root"],
        ["RENEWED_LINEAGE": ""],
        ["LEGO_CERT_PATH": "/var/lib/lego/certificates/a.crt"],
        ["LEGO_CERT_PATH": "/var/lib/lego/certificates/a.crt", "LEGO_CERT_KEY_PATH": ""],
        ["CERT_KEY_PATH": "/etc/xsoar-certs/soc.key"],
        ["CERT_PATH": "/etc/xsoar-certs/soc.cer", "CERT_KEY_PATH": "/etc/xsoar-certs/soc.key"],
    ])
    func anOrdinaryOrIncompleteEnvironmentIsNoHook(environment: [String: String]) {
        #expect(AcmeHook.renewed(environment: environment) == nil)
    }

    @Test func certbotWinsWhenAHookRunsInsideAnotherClientsEnvironment() {
        let renewed = AcmeHook.renewed(environment: [
            "RENEWED_LINEAGE": "/etc/letsencrypt/live/a",
            "LEGO_CERT_PATH": "/l/a.crt", "LEGO_CERT_KEY_PATH": "/l/a.key",
        ])
        #expect(renewed?.client == .certbot)
    }
}

/// Matching against files laid out as certbot does: `live/NAME/*.pem` are
/// relative symlinks to the newest `archive/NAME/*N.pem`.
@Suite struct AcmeHookMatchTests {
    let root: URL

    init() throws {
        root = try TestPKI.temporaryDirectory().resolvingSymlinksInPath()
        for name in ["a.example.com", "b.example.com"] {
            try lineage(name, version: 1)
        }
    }

    /// Writes archive files version `version` and points live/ at them, as a
    /// renewal does.
    func lineage(_ name: String, version: Int) throws {
        let archive = root.appendingPathComponent("archive/\(name)")
        let live = root.appendingPathComponent("live/\(name)")
        let files = FileManager.default
        try files.createDirectory(at: archive, withIntermediateDirectories: true)
        try files.createDirectory(at: live, withIntermediateDirectories: true)
        for file in ["fullchain", "privkey"] {
            _ = try TestPKI.write("\(file) \(version) of \(name)\n", to: archive, "\(file)\(version).pem")
            let link = live.appendingPathComponent("\(file).pem")
            try? files.removeItem(at: link)
            try files.createSymbolicLink(atPath: link.path, withDestinationPath: "../../archive/\(name)/\(file)\(version).pem")
        }
    }

    func liveSource(_ name: String, under folder: URL? = nil) -> CertificateSource {
        let live = (folder ?? root).appendingPathComponent("live/\(name)")
        return CertificateSource(cert: live.appendingPathComponent("fullchain.pem").path,
                                 key: live.appendingPathComponent("privkey.pem").path)
    }

    func certbotHook(_ name: String, under folder: URL? = nil) throws -> RenewedCertificate {
        try #require(AcmeHook.renewed(environment: [
            "RENEWED_LINEAGE": (folder ?? root).appendingPathComponent("live/\(name)").path,
        ]))
    }

    @Test func theRenewedLineageMatchesItsOwnSourceOnly() throws {
        let renewed = try certbotHook("a.example.com")
        #expect(renewed.matches(liveSource("a.example.com")))
        #expect(!renewed.matches(liveSource("b.example.com")))
    }

    @Test func aLineageReachedThroughALinkedFolderStillMatches() throws {
        // An inventory that says /srv/acme/live/... where /srv/acme links to
        // /etc/letsencrypt: the paths differ as written, not as files.
        let linked = root.deletingLastPathComponent().appendingPathComponent(root.lastPathComponent + "-link")
        try FileManager.default.createSymbolicLink(atPath: linked.path, withDestinationPath: root.path)
        defer { try? FileManager.default.removeItem(at: linked) }
        let renewed = try certbotHook("a.example.com")
        #expect(renewed.matches(liveSource("a.example.com", under: linked)))
        #expect(!renewed.matches(liveSource("b.example.com", under: linked)))
        #expect(try certbotHook("b.example.com", under: linked).matches(liveSource("b.example.com")))
    }

    @Test func anInventoryThatNamesTheArchiveFileMatchesOnlyWhileLiveStillPointsThere() throws {
        let pinned = CertificateSource(
            cert: root.appendingPathComponent("archive/a.example.com/fullchain1.pem").path,
            key: root.appendingPathComponent("archive/a.example.com/privkey1.pem").path)
        #expect(try certbotHook("a.example.com").matches(pinned))
        try lineage("a.example.com", version: 2)
        #expect(!(try certbotHook("a.example.com").matches(pinned)))
    }

    @Test func pathsWithDotsAndDoubleSlashesAreTheSamePathAsWritten() throws {
        let renewed = RenewedCertificate(client: .lego, cert: "/nowhere/certs/a.crt", key: "/nowhere/certs/a.key")
        #expect(renewed.matches(CertificateSource(cert: "/nowhere/other/../certs/./a.crt", key: "/elsewhere/a.key")))
        #expect(renewed.matches(CertificateSource(cert: "/elsewhere/a.crt", key: "/nowhere//certs/a.key")))
        #expect(!renewed.matches(CertificateSource(cert: "/nowhere/certs/b.crt", key: "/nowhere/certs/b.key")))
    }

    @Test func missingFilesCompareAsWrittenAndNeverByAccident() throws {
        let renewed = try certbotHook("gone.example.com")
        #expect(renewed.matches(liveSource("gone.example.com")))
        #expect(!renewed.matches(liveSource("also-gone.example.com")))
    }
}
