import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// `up` and `down` themselves: two sandboxes coexist, and `down` leaves no
/// namespace, link, mount or process behind, even when run twice.
// The sandbox makes network and mount namespaces, which needs root; CI runs as root.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "sandbox integration tests need root (network and mount namespaces); run them as root, e.g. in make test under CI"))
struct SandboxLifecycleTests {
    @Test func twoSandboxesCoexistAndDownLeavesNothingBehind() async throws {
        let first = try await Sandbox.up(nodes: 1, name: "crsu")
        let second = try await Sandbox.up(nodes: 1, name: "crsv")
        do {
        #expect(first.subnet != second.subnet)
        for sandbox in [first, second] {
            let result = try await sandbox.ssh(toNode: 1, "service demisto status")
            #expect(result.succeeded, "\(sandbox.prefix): \(result.stdoutText) \(result.stderrText)")
        }

        try await first.down()
        try await first.down()  // safe twice
        #expect(try await leftovers(of: "crsu") == [])
        #expect(try await second.ssh(toNode: 1, "service demisto status").succeeded, "the other sandbox is untouched")

            try await second.down()
            #expect(try await leftovers(of: "crsv") == [])
        } catch {
            try? await first.down()
            try? await second.down()
            throw error
        }
    }

    @Test func inventoryNamesEveryNodeWithTheFirstAsPrimary() async throws {
        let sandbox = try await Sandbox.up(nodes: 3, name: "crsw")
        do {
        let inventory = try String(contentsOfFile: sandbox.inventoryFile, encoding: .utf8)
        #expect(inventory.contains("identity: \(sandbox.identityFile)"))
        #expect(inventory.contains("known_hosts: \(sandbox.knownHostsFile)"))
        #expect(inventory.contains("{ host: \(sandbox.nodes[0].address), role: primary }"))
        #expect(inventory.contains("{ host: \(sandbox.nodes[2].address), role: backup }"))
        let knownHosts = try String(contentsOfFile: sandbox.knownHostsFile, encoding: .utf8)
        #expect(knownHosts.split(separator: "\n").count == 6, "an ed25519 and an ecdsa key per node")
        let viaConfig = try await SandboxProcess.run("/usr/bin/ssh", ["-F", sandbox.sshConfigFile, "crsw-node3", "true"])
        #expect(viaConfig.succeeded, "ssh -F ssh_config: \(viaConfig.stderrText)")
        } catch {
            try? await sandbox.down()
            throw error
        }
        try await sandbox.down()
    }

    @Test func aSandboxBehindABastionGoesDownCompletely() async throws {
        let sandbox = try await Sandbox.up(nodes: 1, name: "crbt", bastions: 1)
        let subnets = [sandbox.subnet] + (sandbox.transitSubnet.map { [$0] } ?? [])
        do {
            #expect(subnets.count == 2)
            let through = try await sandbox.sshThroughBastions(toNode: 1, "service demisto status")
            #expect(through.succeeded, "\(through.stderrText)")
            #expect(try await leftovers(of: "crbt", subnets: subnets).contains { $0.hasPrefix("netns crbt-b1") },
                    "the check sees the bastion while it is up")
        } catch {
            try? await sandbox.down()
            throw error
        }
        try await sandbox.down()
        #expect(try await leftovers(of: "crbt", subnets: subnets) == [])
    }

    /// What of sandbox `prefix` is still on the host: namespaces, links, routes to
    /// `subnets` (A.B.C.0/24), mounts, live processes.
    private func leftovers(of prefix: String, subnets: [String] = []) async throws -> [String] {
        var found: [String] = []
        let routes = try await SandboxProcess.run("/usr/sbin/ip", ["-4", "route", "show"]).stdoutText
        found += routes.split(separator: "\n").filter { route in
            subnets.contains { route.contains(String($0.dropLast("0/24".count))) }
        }.map { "route \($0)" }
        let netns = try await SandboxProcess.run("/usr/sbin/ip", ["netns", "list"]).stdoutText
        found += netns.split(separator: "\n").filter { $0.hasPrefix("\(prefix)-") }.map { "netns \($0)" }
        let links = try await SandboxProcess.run("/usr/sbin/ip", ["-o", "link", "show"]).stdoutText
        found += links.split(separator: "\n").compactMap { line -> String? in
            let name = line.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return name.hasPrefix(prefix) ? "link \(name)" : nil
        }
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        found += mounts.split(separator: "\n").filter { $0.contains("/certroll-sandbox/\(prefix)") }.map { "mount \($0)" }
        // Zombies count as gone: PID 1 here reaps orphans late.
        let processes = try await SandboxProcess.run("/bin/ps", ["-eo", "stat=,args="]).stdoutText
        found += processes.split(separator: "\n").filter {
            !$0.hasPrefix("Z") && $0.contains("/certroll-sandbox/\(prefix)/")
        }.map { "process \($0)" }
        return found
    }
}
