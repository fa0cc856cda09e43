import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// Two simulated XSOAR nodes, reached with the real `ssh`, `openssl s_client`
/// and our TLS probe. Serialized: the tests share the nodes and restart their service.
// The sandbox makes network and mount namespaces, which needs root; CI runs as root.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "sandbox integration tests need root (network and mount namespaces); run them as root, e.g. in make test under CI"),
       .sandbox(nodes: 2, name: "crst"))
struct SandboxNodeTests {

    @Test func sshReachesEveryNodeWithStrictHostKeysAndEachSeesOnlyItsOwnFolder() async throws {
        let pki = try await TestChain.shared()
        let sandbox = try SandboxScope.sandbox()
        let marker = "probe-\(UUID().uuidString.prefix(8))"
        for node in sandbox.nodes {
            let result = try await sandbox.ssh(toNode: node.index, "id -un && touch /usr/local/demisto/\(marker)-\(node.index) && ls /usr/local/demisto")
            #expect(result.succeeded, "ssh to \(node.address): \(result.stderrText)")
            #expect(result.stdoutText.hasPrefix("root\n"))
        }
        for node in sandbox.nodes {
            let listing = try await sandbox.ssh(toNode: node.index, "ls /usr/local/demisto").stdoutText
            for other in sandbox.nodes {
                #expect(listing.contains("\(marker)-\(other.index)") == (other.index == node.index), "node \(node.index) lists: \(listing)")
            }
            _ = try await sandbox.run(onNode: node.index, "rm -f /usr/local/demisto/\(marker)-*")
        }
        #expect(!FileManager.default.fileExists(atPath: "/usr/local/demisto/\(marker)-1"))
        // Strict checking means an unknown host key is refused.
        let empty = try pki.file("empty_known_hosts", Data())
        let refused = try await SandboxProcess.run("/usr/bin/ssh", [
            "-F", "/dev/null", "-i", sandbox.identityFile, "-o", "UserKnownHostsFile=\(empty)",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "root@\(sandbox.nodes[0].address)", "true",
        ])
        #expect(!refused.succeeded)
        #expect(refused.stderrText.contains("Host key verification failed"))
    }

    @Test func adminUsersBecomeRootWithSudo() async throws {
        let sandbox = try SandboxScope.sandbox()
        let free = try await sandbox.ssh(toNode: 1, user: sandbox.adminUser, "sudo -n id -u")
        #expect(free.stdoutText == "0\n", "\(free.stderrText)")
        let password = try #require(FileManager.default.contents(atPath: sandbox.becomePasswordFile))
        let withoutPassword = try await sandbox.ssh(toNode: 2, user: sandbox.passwordAdminUser, "sudo -n id -u")
        #expect(!withoutPassword.succeeded)
        let withPassword = try await sandbox.ssh(toNode: 2, user: sandbox.passwordAdminUser, "sudo -S -p '' id -u", stdin: password + Data("\n".utf8))
        #expect(withPassword.stdoutText == "0\n", "\(withPassword.stderrText)")
    }

    @Test func servesTheWholeChainToOpenSSLAndTheProbe() async throws {
        let pki = try await TestChain.shared()
        let sandbox = try SandboxScope.sandbox()
        let start = try await install(onNode: 1, chain: pki.chainPEM, key: pki.leafKey)
        #expect(start.succeeded, "\(start.stderrText)")
        let node = sandbox.nodes[0]
        for version in ["-tls1_2", "-tls1_3"] {
            let sClient = try await SandboxProcess.run("/usr/bin/openssl", ["s_client", version, "-showcerts", "-connect", "\(node.address):443"], stdin: Data())
            let served = sClient.stdoutText.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
            #expect(served == 3, "openssl s_client \(version) saw \(served) certificates: \(sClient.stderrText)")
        }
        let served = try await OpenSSLTLSProbe().probe(host: node.address, port: node.httpsPort, serverName: "xsoar.sandbox.test", timeout: .seconds(5))
        #expect(served.leafFingerprint == pki.leafFingerprint)
        #expect(served.certificatesDER.count == 3)
        let health = try await SandboxProcess.run("/bin/sh", ["-c", "printf 'GET /health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | openssl s_client -quiet -connect \(node.address):443 2>/dev/null"])
        #expect(health.stdoutText.hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func legacyEncryptedKeyStartsWithTheOTCFileWhichIsThenGone() async throws {
        let pki = try await TestChain.shared()
        let sandbox = try SandboxScope.sandbox()
        let start = try await install(onNode: 2, chain: pki.chainPEM, key: pki.legacyEncryptedKey, otc: pki.otc(keypass: pki.passphrase))
        #expect(start.succeeded, "\(start.stderrText)")
        #expect(try await sandbox.run(onNode: 2, "test -e /var/lib/demisto/otc.conf.json").exitStatus == 1, "the OTC file must be consumed")
        // The keypass is kept: a later restart needs no OTC file.
        let restart = try await sandbox.run(onNode: 2, "service demisto restart")
        #expect(restart.succeeded, "\(restart.stderrText)")
        #expect(try await sandbox.run(onNode: 2, "service demisto status").exitStatus == 0)
        #expect(try await install(onNode: 2, chain: pki.chainPEM, key: pki.leafKey).succeeded)
    }

    @Test(arguments: [
        ("pkcs8", "PKCS#8-encrypted"),
        ("wrong-keypass", "keypass does not decrypt the private key"),
        ("mismatch", "does not match the first certificate"),
    ])
    func startFailsWithAClearLogLine(case name: String, logLine: String) async throws {
        let pki = try await TestChain.shared()
        let sandbox = try SandboxScope.sandbox()
        let start: CommandResult
        switch name {
        case "pkcs8": start = try await install(onNode: 1, chain: pki.chainPEM, key: pki.pkcs8EncryptedKey, otc: pki.otc(keypass: pki.passphrase))
        case "wrong-keypass": start = try await install(onNode: 1, chain: pki.chainPEM, key: pki.legacyEncryptedKey, otc: pki.otc(keypass: "not it"))
        default: start = try await install(onNode: 1, chain: pki.chainPEM, key: pki.otherKey)
        }
        #expect(!start.succeeded)
        #expect(start.stderrText.contains("demisto failed to start"), "\(start.stderrText)")
        #expect(start.stderrText.contains(logLine), "\(start.stderrText)")
        let log = try await sandbox.run(onNode: 1, "grep 'start failed:' /var/lib/demisto/server.log | tail -n 1").stdoutText
        #expect(log.contains(logLine), "server.log: \(log)")
        #expect(try await sandbox.run(onNode: 1, "service demisto status").exitStatus != 0)
        #expect(try await install(onNode: 1, chain: pki.chainPEM, key: pki.leafKey).succeeded)
    }

    @Test func faultSwitchesFailHangAndExitTheNextStart() async throws {
        let sandbox = try SandboxScope.sandbox()
        let sim = "/var/lib/demisto/sim"
        _ = try await sandbox.run(onNode: 2, "service demisto stop; touch \(sim)/fail-next-start")
        let failed = try await sandbox.run(onNode: 2, "service demisto start")
        #expect(!failed.succeeded && failed.stderrText.contains("fail-next-start"), "\(failed.stderrText)")
        #expect(try await sandbox.run(onNode: 2, "service demisto start").succeeded, "the switch is consumed by one start")

        _ = try await sandbox.run(onNode: 2, "service demisto stop; touch \(sim)/hang-next-start; echo 1 > \(sim)/start-timeout")
        let hung = try await sandbox.run(onNode: 2, "service demisto start")
        #expect(!hung.succeeded && hung.stderrText.contains("did not come up"), "\(hung.stderrText)")
        _ = try await sandbox.run(onNode: 2, "rm -f \(sim)/start-timeout")

        _ = try await sandbox.run(onNode: 2, "echo 1 > \(sim)/exit-after")
        #expect(try await sandbox.run(onNode: 2, "service demisto start").succeeded)
        let status = try await sandbox.run(onNode: 2, "sleep 1.5; service demisto status")
        #expect(status.exitStatus == 1, "after exit-after the service is dead: \(status.stdoutText)")
        #expect(try await sandbox.run(onNode: 2, "service demisto start").succeeded)
    }

    /// Stops the service on `node`, installs chain, key and OTC file the way an
    /// administrator would (owner demisto, key 0600), and starts the service.
    private func install(onNode node: Int, chain: Data, key: Data, otc: Data? = nil) async throws -> CommandResult {
        let sandbox = try SandboxScope.sandbox()
        let stop = try await sandbox.run(onNode: node, "service demisto stop")
        #expect(stop.succeeded, "\(stop.stderrText)")
        _ = try await sandbox.run(onNode: node, "cat > /usr/local/demisto/cert.pem && chown demisto:demisto /usr/local/demisto/cert.pem && chmod 0644 /usr/local/demisto/cert.pem", stdin: chain)
        _ = try await sandbox.run(onNode: node, "umask 077 && cat > /usr/local/demisto/cert.key && chown demisto:demisto /usr/local/demisto/cert.key", stdin: key)
        if let otc {
            _ = try await sandbox.run(onNode: node, "umask 077 && cat > /var/lib/demisto/otc.conf.json && chown demisto:demisto /var/lib/demisto/otc.conf.json", stdin: otc)
        }
        return try await sandbox.run(onNode: node, "service demisto start")
    }
}
