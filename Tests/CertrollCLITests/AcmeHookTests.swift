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

/// The built `renew` run as each client's hook: it takes up only the cluster
/// whose source the hook names. The sources are missing on purpose, so the
/// selected cluster ends as a bad source (exit 2) before any node is dialled.
@Suite struct AcmeHookRenewTests {
    /// Each client's hook environment for cluster `name`'s files under `dir`,
    /// and the `certificate:` paths (with `{cluster}`) that name them.
    static func client(_ client: RenewedCertificate.Client, _ dir: String, _ name: String)
        -> (environment: [String: String], source: (cert: String, key: String)) {
        switch client {
        case .certbot:
            (["RENEWED_LINEAGE": "\(dir)/live/\(name)"],
             ("\(dir)/live/{cluster}/fullchain.pem", "\(dir)/live/{cluster}/privkey.pem"))
        case .lego:
            (["LEGO_CERT_PATH": "\(dir)/certificates/\(name).crt", "LEGO_CERT_KEY_PATH": "\(dir)/certificates/\(name).key"],
             ("\(dir)/certificates/{cluster}.crt", "\(dir)/certificates/{cluster}.key"))
        case .acmeSh:
            (["CERT_FULLCHAIN_PATH": "\(dir)/\(name)_ecc/fullchain.cer", "CERT_KEY_PATH": "\(dir)/\(name)_ecc/\(name).key"],
             ("\(dir)/{cluster}_ecc/fullchain.cer", "\(dir)/{cluster}_ecc/{cluster}.key"))
        }
    }

    func run(_ client: RenewedCertificate.Client, hookFor name: String) throws -> (Certroll.Result, state: String) {
        let dir = try TestPKI.temporaryDirectory().path
        let setup = Self.client(client, dir, name)
        // Unrouted addresses: no real host is ever dialled.
        let inventory = try TestPKI.write("""
            defaults:
              ssh: { connect_timeout: 1s, known_hosts: \(dir)/known_hosts }
              certificate:
                cert: \(setup.source.cert)
                key: \(setup.source.key)
            clusters:
              - name: alpha
                nodes: [{ host: 198.18.250.1, role: primary }]
              - name: beta
                nodes: [{ host: 198.18.250.2, role: primary }]
            """, to: URL(fileURLWithPath: dir), "fleet.yaml")
        let state = dir + "/state"
        return (try Certroll.run(["renew", "-i", inventory, "--state-dir", state], environment: setup.environment), state)
    }

    @Test(arguments: [RenewedCertificate.Client.certbot, .lego, .acmeSh])
    func theHooksClusterAloneIsTakenUp(client: RenewedCertificate.Client) throws {
        let (result, _) = try run(client, hookFor: "alpha")
        #expect(result.status == 2, "alpha's missing source is its bad source: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("cluster alpha"), "\(result.stdout)")
        #expect(!result.stdout.contains("cluster beta"), "beta is not the renewed certificate: \(result.stdout)")
    }

    @Test(arguments: [RenewedCertificate.Client.certbot, .lego, .acmeSh])
    func aHookForNoClustersCertificateIsNothingToDo(client: RenewedCertificate.Client) throws {
        let (result, state) = try run(client, hookFor: "gamma")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("cluster alpha") && !result.stdout.contains("cluster beta"), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: state + "/runs"), "no run was started")
    }
}
