import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// The built binary logs in with an SSH identity encrypted with a passphrase,
/// with no agent: the passphrase from `--ssh-key-passphrase-file`, then from
/// `CERTROLL_SSH_KEY_PASSPHRASE`; without it, preflight refuses naming the
/// option. The passphrase appears in no argv, output, journal, report or log.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "the sandbox needs root (network and mount namespaces)"))
struct EncryptedIdentitySandboxTests {
    let pki = LivePKI.shared

    func certroll(_ arguments: [String], environment: [String: String]) async throws -> Certroll.Result {
        try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(arguments, environment: environment) }
    }

    @Test func anEncryptedIdentityAuthenticatesAPairRolloutWithoutAnAgent() async throws {
        try await Sandbox.with(nodes: 2, name: "crsshk") { try await scenario($0) }
    }

    func scenario(_ sandbox: Sandbox) async throws {
        let dir = try TestPKI.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let passphrase = "ssh-pass-\(UUID().uuidString)"
        // The sandbox's own key (already authorized on the nodes), re-encrypted.
        let identity = dir.appendingPathComponent("id_ed25519").path
        try FileManager.default.copyItem(atPath: sandbox.identityFile, toPath: identity)
        // (ssh-keygen takes the new passphrase in argv: this happens before the watcher starts.)
        let rekey = try await Blocking.run { () throws -> Int32 in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
            process.arguments = ["-q", "-p", "-P", "", "-N", passphrase, "-f", identity]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        try #require(rekey == 0)
        #expect(try String(contentsOfFile: identity, encoding: .utf8).contains("OPENSSH PRIVATE KEY"))
        let inventoryText = try String(contentsOfFile: sandbox.inventoryFile, encoding: .utf8)
        #expect(inventoryText.contains(sandbox.identityFile))
        let inventory = try TestPKI.write(inventoryText.replacingOccurrences(of: sandbox.identityFile, with: identity),
                                          to: dir, "inventory.yaml", mode: 0o644)
        let passphraseFile = try TestPKI.write(passphrase + "\n", to: dir, "ssh-passphrase")
        let cert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "cert.pem", mode: 0o644)
        let key = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "leaf.key")
        let common = ["apply", "--yes", "-i", inventory, "--cert", cert, "--key", key, "--state-dir", state]
        let noAgent = ["SSH_AUTH_SOCK": ""]
        let watcher = ArgvSampler(secrets: [passphrase])

        // Without the passphrase: refused at preflight, naming the SSH identity's option.
        let refused = try await certroll(common, environment: noAgent)
        #expect(refused.status == 3, "\(refused.stdout)\n\(refused.stderr)")
        #expect((refused.stdout + refused.stderr).contains("--ssh-key-passphrase-file"), "\(refused.stdout)\n\(refused.stderr)")

        // From the file.
        let fromFile = try await certroll(common + ["--ssh-key-passphrase-file", passphraseFile], environment: noAgent)
        #expect(fromFile.status == 0, "\(fromFile.stdout)\n\(fromFile.stderr)")
        #expect(await sandbox.servedLeaves() == [pki.leaf.fingerprintSHA256, pki.leaf.fingerprintSHA256])

        // From the environment (--force: the same certificate again, rolled out anyway).
        var environment = noAgent
        environment["CERTROLL_SSH_KEY_PASSPHRASE"] = passphrase
        let pids = [try await sandbox.serverPID(onNode: 1), try await sandbox.serverPID(onNode: 2)]
        let fromEnvironment = try await certroll(common + ["--force", "--json"], environment: environment)
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stdout)\n\(fromEnvironment.stderr)")
        let restarted = [try await sandbox.serverPID(onNode: 1), try await sandbox.serverPID(onNode: 2)]
        #expect(zip(pids, restarted).allSatisfy { $0 != nil && $1 != nil && $0 != $1 }, "the forced run restarted both nodes")
        #expect(await sandbox.servedLeaves() == [pki.leaf.fingerprintSHA256, pki.leaf.fingerprintSHA256])

        let (hits, samples) = watcher.stop()
        #expect(samples > 5)
        #expect(hits.isEmpty, "passphrase seen in argv: \(hits)")
        var texts = [refused, fromFile, fromEnvironment].flatMap { [$0.stdout, $0.stderr] }
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: "\(state)/runs")) ?? []
        #expect(runs.count == 3)
        for id in runs {
            for file in ["journal.jsonl", "report.json", "log"] {
                if let text = try? String(contentsOfFile: "\(state)/runs/\(id)/\(file)", encoding: .utf8) { texts.append(text) }
            }
        }
        #expect(texts.count > 6)
        #expect(!texts.contains { $0.contains(passphrase) })
    }
}
