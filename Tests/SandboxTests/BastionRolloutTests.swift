import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// The built binary against nodes the host cannot route to, behind two
/// chained bastions (`scripts/sandbox up 2 --bastion 2`): rollout, status,
/// ProxyCommand, refusals at preflight, and a bastion that dies mid-run.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "sandbox integration tests need root (network and mount namespaces); run them as root, e.g. in make test under CI"),
       .sandbox(nodes: 2, name: "crbr", bastions: 2))
struct BastionRolloutTests {
    let pki = LivePKI.shared

    /// Files of one test: its state dir, the certificate to roll out, inventories.
    struct Files {
        let dir: URL
        let state: String
        let cert: String
        let key: String

        init(_ pki: TestPKI) throws {
            dir = try TestPKI.temporaryDirectory()
            state = dir.appendingPathComponent("state").path
            cert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "cert.pem", mode: 0o644)
            key = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "leaf.key")
        }

        /// The sandbox's inventory with `change` applied to its text.
        func inventory(_ sandbox: Sandbox, _ name: String, _ change: (String) -> String) throws -> String {
            let text = try String(contentsOfFile: sandbox.inventoryFile, encoding: .utf8)
            let changed = change(text)
            #expect(changed != text, "the change to \(name) applied")
            return try TestPKI.write(changed, to: dir, name, mode: 0o644)
        }
    }

    func certroll(_ arguments: [String], environment: [String: String] = [:]) async throws -> Certroll.Result {
        try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(arguments, environment: environment) }
    }

    /// The leaf each node serves, seen from the last bastion (the host has no route).
    func served(_ sandbox: Sandbox) async throws -> [String] {
        var result: [String] = []
        for node in sandbox.nodes {
            let r = try await sandbox.run(onBastion: sandbox.bastions.count, """
                openssl s_client -connect \(node.address):\(node.httpsPort) </dev/null 2>/dev/null | openssl x509 -outform DER | sha256sum | cut -d' ' -f1
                """)
            result.append(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result
    }

    /// An inventory of one cluster whose hosts are ssh_config aliases, with the sandbox's key and known_hosts.
    func aliasInventory(_ sandbox: Sandbox, _ f: Files, cluster: String, primary: String, backup: String? = nil) throws -> String {
        let backupLine = backup.map { "\n      - { host: \($0), role: backup }" } ?? ""
        return try TestPKI.write("""
            defaults:
              ssh:
                identity: \(sandbox.identityFile)
                known_hosts: \(sandbox.knownHostsFile)
            clusters:
              - name: \(cluster)
                nodes:
                  - { host: \(primary), role: primary }\(backupLine)

            """, to: f.dir, "\(cluster).yaml", mode: 0o644)
    }

    func logins(_ sandbox: Sandbox) throws -> [Int] {
        try sandbox.bastions.map { try sandbox.acceptedLogins(onBastion: $0.index) }
    }

    func pids(_ sandbox: Sandbox) async throws -> [Int?] {
        [try await sandbox.serverPID(onNode: 1), try await sandbox.serverPID(onNode: 2)]
    }

    @Test func aDirectConnectionFailsAndAPairRolloutThroughBothBastionsLogsInOncePerHop() async throws {
        let sandbox = try SandboxScope.sandbox()
        let f = try Files(pki)
        let jumpLine = "    proxy_jump: \(try #require(sandbox.proxyJump))\n"
        let direct = try f.inventory(sandbox, "direct.yaml") { $0.replacingOccurrences(of: jumpLine, with: "") }
        let refused = try await certroll(["plan", "-i", direct, "--cert", f.cert, "--key", f.key, "--state-dir", f.state])
        #expect(refused.status == 3, "\(refused.stdout)\n\(refused.stderr)")

        let before = try logins(sandbox)
        let applied = try await certroll(["apply", "--yes", "-i", sandbox.inventoryFile, "--cert", f.cert, "--key", f.key,
                                          "--state-dir", f.state])
        #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")
        #expect(try await served(sandbox) == [pki.leaf.fingerprintSHA256, pki.leaf.fingerprintSHA256])
        let after = try logins(sandbox)
        #expect(zip(before, after).map { $1 - $0 } == [1, 1], "one login per bastion for the whole run: \(before) → \(after)")
    }

    @Test func statusThroughProxyJumpInAnIncludedSSHConfigWithHostNameAliases() async throws {
        let sandbox = try SandboxScope.sandbox()
        let f = try Files(pki)
        let home = f.dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".ssh/conf.d"), withIntermediateDirectories: true)
        try "Include conf.d/*.conf\n".write(to: home.appendingPathComponent(".ssh/config"), atomically: true, encoding: .utf8)
        let (b1, b2) = (sandbox.bastions[0].address, sandbox.bastions[1].address)
        let hops = """
            Host hop1
              HostName \(b1)
              User root
              IdentityFile \(sandbox.identityFile)
            Host hop2
              HostName \(b2)
              User root
              IdentityFile \(sandbox.identityFile)
            Host xsoar-one
              HostName \(sandbox.nodes[0].address)
              ProxyJump hop1,hop2
            Host xsoar-two
              HostName \(sandbox.nodes[1].address)
              ProxyJump hop1,hop2

            """
        try hops.write(to: home.appendingPathComponent(".ssh/conf.d/hops.conf"), atomically: true, encoding: .utf8)
        let inventory = try aliasInventory(sandbox, f, cluster: "crbr-alias", primary: "xsoar-one", backup: "xsoar-two")
        let status = try await certroll(["status", "-i", inventory, "--json"], environment: ["HOME": home.path])
        #expect([0, 1].contains(status.status), "\(status.stdout)\n\(status.stderr)")
        for leaf in try await served(sandbox) {
            #expect(status.stdout.lowercased().replacingOccurrences(of: ":", with: "").contains(leaf), "status shows \(leaf):\n\(status.stdout)")
        }
        #expect(!status.stdout.contains("no TLS handshake"), "\(status.stdout)")
    }

    @Test func proxyCommandReachesANode() async throws {
        let sandbox = try SandboxScope.sandbox()
        let f = try Files(pki)
        let home = f.dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".ssh"), withIntermediateDirectories: true)
        // Plain `ssh -W` through the last bastion, whose alias in the sandbox's ssh_config hops over the first.
        let last = "crbr-bastion\(sandbox.bastions.count)"
        try """
            Host xsoar-pc
              HostName \(sandbox.nodes[0].address)
              ProxyCommand ssh -F \(sandbox.sshConfigFile) -W %h:%p \(last)

            """.write(to: home.appendingPathComponent(".ssh/config"), atomically: true, encoding: .utf8)
        let inventory = try aliasInventory(sandbox, f, cluster: "crbr-pc", primary: "xsoar-pc")
        let before = try logins(sandbox)
        let plan = try await certroll(["plan", "-i", inventory, "--cert", f.cert, "--key", f.key, "--state-dir", f.state],
                                      environment: ["HOME": home.path])
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(!(plan.stdout + plan.stderr).contains("nothing answered TLS"), "the TLS check went through it too:\n\(plan.stdout)")
        #expect(try logins(sandbox)[sandbox.bastions.count - 1] > before[sandbox.bastions.count - 1], "the session went through the bastion")
        let status = try await certroll(["status", "-i", inventory, "--json"], environment: ["HOME": home.path])
        #expect([0, 1].contains(status.status), "\(status.stdout)\n\(status.stderr)")
        let leaf = try await served(sandbox)[0]
        #expect(status.stdout.lowercased().replacingOccurrences(of: ":", with: "").contains(leaf), "status shows \(leaf):\n\(status.stdout)")
    }

    @Test func aChangedBastionHostKeyIsRefusedAtPreflightNamingIt() async throws {
        let sandbox = try SandboxScope.sandbox()
        let f = try Files(pki)
        let first = sandbox.bastions[0].address
        let other = try TestPKI.temporaryDirectory().appendingPathComponent("other").path
        _ = try await SandboxProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
        let otherKey = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let known = try String(contentsOfFile: sandbox.knownHostsFile, encoding: .utf8).split(separator: "\n").map { line in
            line.hasPrefix(first + " ") ? "\(first) \(otherKey)" : String(line)
        }.joined(separator: "\n") + "\n"
        let knownFile = try TestPKI.write(known, to: f.dir, "known_hosts", mode: 0o644)
        let inventory = try f.inventory(sandbox, "rekeyed.yaml") { $0.replacingOccurrences(of: sandbox.knownHostsFile, with: knownFile) }
        let pidsBefore = try await pids(sandbox)
        let r = try await certroll(["apply", "--yes", "-i", inventory, "--cert", f.cert, "--key", f.key, "--state-dir", f.state])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect((r.stdout + r.stderr).contains("bastion root@\(first): the host key of \(first) has CHANGED"), "\(r.stdout)\n\(r.stderr)")
        #expect(try await pids(sandbox) == pidsBefore, "nothing was stopped")
    }

    @Test func anUnreachableBastionIsRefusedAtPreflightNamingIt() async throws {
        let sandbox = try SandboxScope.sandbox()
        let f = try Files(pki)
        let first = sandbox.bastions[0].address
        let pidsBefore = try await pids(sandbox)
        try await sandbox.stopSSHD(onBastion: 1)
        let r = try await certroll(["apply", "--yes", "-i", sandbox.inventoryFile, "--cert", f.cert, "--key", f.key, "--state-dir", f.state])
        try await sandbox.startSSHD(onBastion: 1)
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect((r.stdout + r.stderr).contains("bastion root@\(first): cannot connect"), "\(r.stdout)\n\(r.stderr)")
        #expect(try await pids(sandbox) == pidsBefore, "nothing was stopped")
    }

    @Test func aBastionThatDiesAfterTheStopLeavesStepsAndResumeFinishesOnceItIsBack() async throws {
        let sandbox = try SandboxScope.sandbox()
        let f = try Files(pki)
        // The nodes share the host's PID namespace: node 1's stop kills every process
        // of bastion 1's network namespace, once (the switch file is removed first).
        let netns = try await SandboxProcess.run("/usr/bin/stat", ["-L", "-c", "%i", sandbox.bastions[0].netnsPath])
        let inode = netns.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!inode.isEmpty)
        let stop = "service demisto stop; if [ -e /var/lib/demisto/sim/bastion-dies ]; then rm -f /var/lib/demisto/sim/bastion-dies; "
            + "for d in /proc/[0-9]*; do [ \"$(stat -L -c %i $d/ns/net 2>/dev/null)\" = \(inode) ] && kill -KILL ${d#/proc/}; done; fi"
        let inventory = try f.inventory(sandbox, "dies.yaml") {
            $0.replacingOccurrences(of: "  xsoar:\n", with: "  xsoar:\n    stop_command: '\(stop)'\n")
        }
        #expect(try await sandbox.run(onNode: 1, "touch /var/lib/demisto/sim/bastion-dies").succeeded)
        let original = try await served(sandbox)
        let r = try await certroll(["apply", "--yes", "--force", "--json", "-i", inventory, "--cert", f.cert, "--key", f.key,
                                    "--state-dir", f.state])
        #expect(r.status == 4, "\(r.stdout)\n\(r.stderr)")
        let runID = try #require(r.stdoutLines.last.flatMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["runID"] as? String
        })
        let report = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(f.state)/runs/\(runID)/report.json"))) as? [String: Any])
        let outcome = try #require((report["clusters"] as? [[String: Any]])?.first?["outcome"] as? [String: Any])
        #expect(outcome["kind"] as? String == "needs-person", "\(outcome)")
        let steps = try #require(outcome["manualSteps"] as? [String: [String]])
        #expect(!steps.isEmpty && steps.values.allSatisfy { !$0.isEmpty }, "\(steps)")
        for step in steps.values.flatMap({ $0 }) { #expect(r.stderr.contains(step), "stderr lists \(step)") }
        #expect(r.stderr.contains("bastion root@\(sandbox.bastions[0].address)"), "the report says the bastion was lost: \(r.stderr)")

        try await sandbox.startSSHD(onBastion: 1)
        let resumed = try await certroll(["resume", runID, "--yes", "--state-dir", f.state])
        #expect([0, 1].contains(resumed.status), "\(resumed.stdout)\n\(resumed.stderr)")
        let now = try await served(sandbox)
        let new = [pki.leaf.fingerprintSHA256, pki.leaf.fingerprintSHA256]
        #expect(now == (resumed.status == 0 ? new : original), "finished on the new certificate (0) or both back on their own (1): \(now)")
        #expect(try await pids(sandbox).allSatisfy { $0 != nil }, "both nodes run again")
    }
}
