import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// Runs the built binary for every way plan/apply/rollback/resume/runs refuse
/// before touching a node: exit 2 and one sentence naming the object.
@Suite struct RolloutUsageTests {
    let pki = LivePKI.shared

    struct Lab {
        var dir: URL
        var cert: String
        var key: String
        var inventory: String
        var stateDir: String
    }

    /// A good chain and key, an inventory of one pair in 198.18.0.0/15, an empty state dir.
    func lab(certificates: [Certificate]? = nil, keyPEM: String? = nil, inventory: String? = nil) throws -> Lab {
        let dir = try TestPKI.temporaryDirectory()
        let cert = try TestPKI.write(TestPKI.pem(certificates ?? pki.chain), to: dir, "cert.pem", mode: 0o644)
        let key = try TestPKI.write(try keyPEM ?? pki.leafKey.traditionalPEM(), to: dir, "cert.key")
        let inv = try TestPKI.write(inventory ?? """
            defaults:
              ssh: { known_hosts: /dev/null }
            clusters:
              - name: soc
                fqdn: [xsoar.example.com]
                nodes:
                  - { host: 198.18.250.1, role: primary }
                  - { host: 198.18.250.2, role: backup }
            """, to: dir, "inventory.yaml")
        return Lab(dir: dir, cert: cert, key: key, inventory: inv, stateDir: dir.appendingPathComponent("state").path)
    }

    func files(_ lab: Lab) -> [String] {
        ["-i", lab.inventory, "--cert", lab.cert, "--key", lab.key, "--state-dir", lab.stateDir]
    }

    func runsCreated(_ lab: Lab) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: lab.stateDir + "/runs")) ?? []
    }

    @Test func applyWithoutTerminalOrYesRefuses() throws {
        let lab = try lab()
        let result = try Certroll.run(["apply"] + files(lab))
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: apply changes nodes and asks first, but there is no terminal to ask on; add --yes to go ahead (certroll plan shows what it would do).\n")
        #expect(result.stdout.isEmpty)
        #expect(runsCreated(lab).isEmpty)
    }

    @Test(arguments: ["rollback", "resume"])
    func reopeningWithoutTerminalOrYesRefuses(command: String) throws {
        let result = try Certroll.run([command, "20260115T120000Z-a1b2c3", "--state-dir", "/nonexistent"])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: \(command) changes nodes and asks first, but there is no terminal to ask on; add --yes to go ahead (certroll runs lists the run).\n")
    }

    @Test(arguments: ["rollback", "resume"])
    func unknownRunIsNamed(command: String) throws {
        let lab = try lab()
        let result = try Certroll.run([command, "20260115T120000Z-a1b2c3", "--yes", "--state-dir", lab.stateDir])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: there is no run 20260115T120000Z-a1b2c3 in the state directory; `certroll runs` lists them.\n")
    }

    @Test(arguments: ["plan", "apply"])
    func missingInventoryIsNamed(command: String) throws {
        let lab = try lab()
        let missing = lab.dir.appendingPathComponent("nope.yaml").path
        let result = try Certroll.run([command, "--yes", "-i", missing, "--cert", lab.cert, "--key", lab.key, "--state-dir", lab.stateDir]
            .filter { command == "apply" || $0 != "--yes" })
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: cannot read inventory \(missing); check the path and its permissions.\n")
        #expect(runsCreated(lab).isEmpty)
    }

    @Test(arguments: ["plan", "apply", "check"])
    func badInventoryNamesFileAndLine(command: String) throws {
        let lab = try lab(inventory: """
            clusters:
              - name: soc
                nodes:
                  - { host: a.example.com, role: primary }
                  - { host: b.example.com, role: primary }
            """)
        var arguments = [command, "-i", lab.inventory, "--cert", lab.cert, "--key", lab.key]
        if command == "apply" { arguments.append("--yes") }
        let result = try Certroll.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("certroll: \(lab.inventory):5: cluster 'soc' has a second primary"), "\(result.stderr)")
        #expect(runsCreated(lab).isEmpty)
    }

    @Test func unknownClusterIsNamed() throws {
        let lab = try lab()
        let result = try Certroll.run(["apply", "--yes", "--cluster", "lab"] + files(lab))
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: \(lab.inventory): no cluster is named 'lab'; known clusters: soc.\n")
    }

    @Test(arguments: ["plan", "apply"])
    func failingLocalCheckGatesTheRun(command: String) throws {
        let lab = try lab(certificates: [pki.expiredLeaf, pki.intermediate.certificate, pki.root.certificate])
        let result = try Certroll.run([command] + (command == "apply" ? ["--yes"] : []) + files(lab))
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("FAIL  ") && $0.contains("expired") }, "\(result.stderr)")
        #expect(lines.last == "certroll: 1 local check(s) of \(lab.cert) failed, so \(command) touched no node; fix the FAIL lines above (certroll check shows them again).")
        #expect(result.stdout.isEmpty)
        #expect(runsCreated(lab).isEmpty)
    }

    @Test func failingLocalChecksAreJSONWithJSON() throws {
        let lab = try lab(keyPEM: try pki.wrongKey.traditionalPEM())
        let result = try Certroll.run(["apply", "--yes", "--json"] + files(lab))
        #expect(result.status == 2)
        let objects = try result.stdoutLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.allSatisfy { $0?["kind"] as? String == "local-check" })
        #expect(objects.contains { $0?["verdict"] as? String == "fail" && $0?["check"] as? String == "key-match" }, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("certroll: 1 local check(s) of \(lab.cert) failed"))
    }

    @Test func encryptedKeyWithoutPassphraseAndTerminalIsRefused() throws {
        let lab = try lab(keyPEM: try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret("correct horse"))))
        let result = try Certroll.run(["apply", "--yes"] + files(lab))
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: the passphrase of \(lab.key) is needed and there is no terminal to ask on; give it with --key-passphrase-file FILE or CERTROLL_KEY_PASSPHRASE.\n")
    }

    @Test func parallelMustBePositive() throws {
        let lab = try lab()
        let result = try Certroll.run(["apply", "--yes", "--parallel", "0"] + files(lab))
        #expect(result.status == 2)
        #expect(result.stderr.contains("--parallel must be at least 1."))
    }

    @Test func runsOnAnEmptyStateDirSaysSo() throws {
        let lab = try lab()
        let result = try Certroll.run(["runs", "--state-dir", lab.stateDir])
        #expect(result.status == 0)
        #expect(result.stdout == "no runs in \(lab.stateDir)/runs yet.\n")
    }

    /// As root too: the binary then runs as nobody.
    @Test func demoNeedsRootOrSaysSo() throws {
        let result = try Certroll.runUnprivileged(["demo"])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: certroll demo needs root (it makes network and mount namespaces); run it again with sudo.\n")
    }
}
