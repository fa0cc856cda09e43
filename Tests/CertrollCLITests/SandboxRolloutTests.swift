import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// The built binary against a real two-node sandbox (sshd + xsoar-sim in
/// namespaces): apply with an unencrypted and then a legacy-encrypted key,
/// runs, rollback; the key passphrase appears nowhere. Needs root.
@Suite(.serialized) struct SandboxRolloutTests {
    static let sandboxName = "crcli"
    let pki = LivePKI.shared

    /// The leaf each node serves now (SHA-256 of its DER).
    func served(_ sandbox: Sandbox) async throws -> [String] {
        var result: [String] = []
        for node in sandbox.nodes {
            result.append(try await OpenSSLTLSProbe().probe(host: node.address, port: node.httpsPort, serverName: nil, timeout: .seconds(5)).leafFingerprint)
        }
        return result
    }

    /// The built binary, off the cooperative pool.
    func certroll(_ arguments: [String], environment: [String: String] = [:]) async throws -> Certroll.Result {
        try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(arguments, environment: environment) }
    }

    func exists(_ sandbox: Sandbox, node: Int, _ path: String) async throws -> Bool {
        try await sandbox.run(onNode: node, "test -e \(path)").exitStatus == 0
    }

    @Test(.enabled(if: Sandbox.isRoot, "the sandbox needs root (network and mount namespaces); run swift test as root"))
    func applyTwiceThenRollBackTheFirstRun() async throws {
        try await Sandbox.with(nodes: 2, name: Self.sandboxName) { try await scenario($0) }
    }

    func scenario(_ sandbox: Sandbox) async throws {
        let dir = try TestPKI.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let cert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "cert.pem", mode: 0o644)
        let plainKey = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "plain.key")
        let passphrase = "pass-\(UUID().uuidString)"
        let lockedKey = try TestPKI.write(try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret(passphrase))), to: dir, "locked.key")
        let common = ["-i", sandbox.inventoryFile, "--cert", cert, "--state-dir", state]
        let original = try await served(sandbox)
        #expect(Set(original).count == 2, "each sandbox node starts on its own self-signed certificate")

        // 1. Unencrypted key.
        let first = try await certroll(["apply", "--yes"] + common + ["--key", plainKey])
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(try await served(sandbox) == [pki.leaf.fingerprintSHA256, pki.leaf.fingerprintSHA256])

        // 2. Legacy-encrypted key: an OTC is written, consumed by the server, gone.
        let second = try await certroll(["apply", "--yes", "--json"] + common + ["--key", lockedKey],
                                      environment: ["CERTROLL_KEY_PASSPHRASE": passphrase])
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        #expect(try await served(sandbox) == [pki.leaf.fingerprintSHA256, pki.leaf.fingerprintSHA256])
        for node in [1, 2] {
            #expect(try await !exists(sandbox, node: node, "/var/lib/demisto/otc.conf.json"), "the server consumed the OTC")
            let key = try await sandbox.run(onNode: node, "grep -c 'Proc-Type: 4,ENCRYPTED' /usr/local/demisto/cert.key")
            #expect(key.stdoutText == "1\n", "node \(node) runs on the encrypted key")
        }
        let secondID = try #require(second.stdoutLines.last.flatMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["runID"] as? String
        })
        let journal = try String(contentsOfFile: "\(state)/runs/\(secondID)/journal.jsonl", encoding: .utf8)
        let otcNodes = Set(journal.split(separator: "\n").compactMap { line -> String? in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  entry["otcWritten"] as? Bool == true else { return nil }
            return entry["node"] as? String
        })
        #expect(otcNodes == Set(sandbox.nodes.map(\.address)), "both nodes got an OTC")

        // 3. runs lists both.
        let runs = try await certroll(["runs", "--state-dir", state])
        #expect(runs.status == 0)
        let rows = runs.stdoutLines.dropFirst()
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0.contains(" apply ") && $0.contains(" done ") })
        let firstID = try #require(rows.first?.split(separator: " ").first.map(String.init))

        // 4. Roll the first run back: each node serves its original certificate again.
        let rollback = try await certroll(["rollback", firstID, "--yes", "--state-dir", state])
        #expect(rollback.status == 0, "\(rollback.stdout)\n\(rollback.stderr)")
        #expect(try await served(sandbox) == original)

        // The passphrase is nowhere: output, journal, report, log.
        var texts = [first, second, runs, rollback].flatMap { [$0.stdout, $0.stderr] }
        for id in [firstID, secondID] {
            for file in ["journal.jsonl", "report.json", "log"] {
                texts.append(try String(contentsOfFile: "\(state)/runs/\(id)/\(file)", encoding: .utf8))
            }
        }
        #expect(!texts.contains { $0.contains(passphrase) })
    }
}
