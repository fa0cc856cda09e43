import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// Real ACME parts from Debian: pebble as the CA, certbot as the client. What
/// certbot leaves in `live/` (an unencrypted PKCS#8 key, a fullchain without
/// the root, both symlinks into `archive/`) must pass certroll's local checks
/// as it is, or no certbot-managed fleet could renew unattended.
@Suite struct AcmeIssuanceTests {
    @Test func certbotsLineageForTwoNamesPassesCheckBeforeAndAfterARenewal() async throws {
        let pebble = try await Pebble.start()
        defer { pebble.stop() }
        let certbot = try Certbot(pebble: pebble)
        let names = ["soc-a.example.test", "soc-a-alt.example.test"]
        try await certbot.obtain(names)
        let live = certbot.live(names[0])

        let key = try String(contentsOfFile: live.key, encoding: .utf8)
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----"), "certbot writes unencrypted PKCS#8")
        let chain = try String(contentsOfFile: live.cert, encoding: .utf8)
        #expect(chain.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1 == 2, "leaf and intermediate, no root")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: live.cert) == "../../archive/\(names[0])/fullchain1.pem")

        let dir = try TestPKI.temporaryDirectory()
        let inventory = try TestPKI.write("""
            clusters:
              - name: soc-a
                fqdn: [\(names.joined(separator: ", "))]
                nodes:
                  - { host: 198.18.250.1, role: primary }
            """, to: dir, "inventory.yaml")
        let first = try await certroll(["check", "--cert", live.cert, "--key", live.key, "-i", inventory])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("0 FAIL"), "\(first.stdout)")
        #expect(first.stdout.contains("unencrypted PKCS#8"), "\(first.stdout)")
        #expect(first.stdout.contains("without its issuer 'CN=Pebble Root CA"),
                "the missing root is a warning, not a failure: \(first.stdout)")
        let firstLeaf = try leafFingerprint(live.cert)

        let hookLog = dir.appendingPathComponent("hook.log").path
        try await certbot.renew(names[0], deployHook: "printf '%s\\n' \"$RENEWED_LINEAGE\" >> \(hookLog)")
        #expect(try String(contentsOfFile: hookLog, encoding: .utf8)
                == certbot.configDir.appendingPathComponent("live/\(names[0])").path + "\n",
                "the deploy hook ran once, for this lineage")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: live.cert) == "../../archive/\(names[0])/fullchain2.pem")
        #expect(try leafFingerprint(live.cert) != firstLeaf, "a new leaf behind the same live/ path")
        let second = try await certroll(["check", "--cert", live.cert, "--key", live.key, "-i", inventory])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
    }

    /// The built binary, off the cooperative pool.
    private func certroll(_ arguments: [String]) async throws -> Certroll.Result {
        try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(arguments) }
    }

    private func leafFingerprint(_ path: String) throws -> String {
        let result = try OpenSSLCLI.run(["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }
}
