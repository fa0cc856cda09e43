import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// End to end with real ACME parts: pebble issues, certbot keeps two
/// lineages (one per cluster FQDN) in `live/`, the inventory points each
/// cluster at `live/{fqdn}/`, and certbot's deploy hook runs `certroll renew`.
/// A forced renewal of one lineage rolls over that cluster only. Needs root.
@Suite(.serialized,
       .enabled(if: Sandbox.isRoot, "sandbox integration tests need root (network and mount namespaces); run them as root"))
struct AcmeRenewalTests {
    static let sandboxName = "cracme"

    @Test func certbotDeployHookRollsOverOnlyTheRenewedLineagesCluster() async throws {
        try await Sandbox.with(nodes: 4, name: Self.sandboxName, clusterSize: 2) { sandbox in
            let pebble = try await Pebble.start()
            defer { pebble.stop() }
            try await scenario(sandbox, pebble)
        }
    }

    func scenario(_ sandbox: Sandbox, _ pebble: Pebble) async throws {
        let dir = try TestPKI.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let fqdns = ["soc-one.example.test", "soc-two.example.test"]
        let clusters = ["\(Self.sandboxName)-c1", "\(Self.sandboxName)-c2"]
        // Issued after the sandbox came up, so no source is older than what the nodes serve.
        let certbot = try Certbot(pebble: pebble)
        for fqdn in fqdns { try await certbot.obtain([fqdn]) }
        let inventory = try writeInventory(sandbox, clusters: clusters, fqdns: fqdns, certbot: certbot, to: dir)

        // First deploy: both clusters from their own lineage, no hook.
        let first = try await certroll(["renew", "-i", inventory, "--state-dir", state])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let leaves = try fqdns.map { try leafFingerprint(certbot.live($0).cert) }
        #expect(await sandbox.servedLeaves() == [leaves[0], leaves[0], leaves[1], leaves[1]], "each pair serves its own leaf")
        let pidsBefore = try await pids(sandbox)
        #expect(!pidsBefore.contains(nil), "every server runs: \(pidsBefore)")

        // The second lineage is renewed without a hook, so its cluster is due
        // too: only the hook's filter can keep the next run off it.
        try await certbot.renew(fqdns[1])
        let pending = try leafFingerprint(certbot.live(fqdns[1]).cert)
        #expect(pending != leaves[1], "certbot made a new second leaf")

        // certbot renews the first lineage and runs certroll as its deploy hook.
        let hookOut = dir.appendingPathComponent("hook.json").path
        let hookStatus = dir.appendingPathComponent("hook.status").path
        let hook = [Certroll.executable.path, "renew", "-i", inventory, "--state-dir", state, "--json"]
            .map(ShellQuote.quote).joined(separator: " ")
            + " > \(ShellQuote.quote(hookOut)) 2>&1; echo $? > \(ShellQuote.quote(hookStatus))"
        try await certbot.renew(fqdns[0], deployHook: hook)
        let status = try String(contentsOfFile: hookStatus, encoding: .utf8)
        let output = (try? String(contentsOfFile: hookOut, encoding: .utf8)) ?? ""
        #expect(status == "0\n", "the hook's certroll renew exited \(status): \(output)")

        let renewed = try leafFingerprint(certbot.live(fqdns[0]).cert)
        #expect(renewed != leaves[0], "certbot made a new first leaf")
        #expect(await sandbox.servedLeaves() == [renewed, renewed, leaves[1], leaves[1]],
                "the renewed lineage's cluster serves its new leaf; the other still its old one, though its source changed")
        let pidsAfterHook = try await pids(sandbox)
        #expect(Array(pidsAfterHook[2...3]) == Array(pidsBefore[2...3]), "the other cluster's servers were not restarted")
        #expect(pidsAfterHook[0] != pidsBefore[0] && pidsAfterHook[1] != pidsBefore[1] && !pidsAfterHook.contains(nil),
                "the renewed cluster's servers were restarted: \(pidsBefore) → \(pidsAfterHook)")
        let hookReport = try lastReport(state)
        let outcomes = clusterOutcomes(hookReport)
        #expect(outcomes[clusters[0]] == "done", "the hook's run rolled out the renewed cluster: \(hookReport)")
        #expect(outcomes[clusters[1]] == nil || outcomes[clusters[1]] == "skipped",
                "the hook's run leaves the other cluster alone: \(hookReport)")

        // A run outside any hook (a timer's) picks up the second cluster and
        // leaves the first, already current, alone.
        let metrics = dir.appendingPathComponent("certroll.prom").path
        let timer = try await certroll(["renew", "-i", inventory, "--state-dir", state, "--prometheus", metrics])
        #expect(timer.status == 0, "\(timer.stdout)\(timer.stderr)")
        // certbot's chain without its root counts as complete for alerting too.
        let chainValid = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("certroll_chain_valid{") }
        #expect(chainValid.count == 4 && chainValid.allSatisfy { $0.hasSuffix(" 1") }, "\(chainValid)")
        #expect(await sandbox.servedLeaves() == [renewed, renewed, pending, pending])
        let pidsAfterTimer = try await pids(sandbox)
        #expect(Array(pidsAfterTimer[0...1]) == Array(pidsAfterHook[0...1]), "the current cluster was not restarted")
        #expect(clusterOutcomes(try lastReport(state)) == [clusters[0]: "skipped", clusters[1]: "done"])
    }

    /// Cluster name → outcome kind in a `report.json`.
    func clusterOutcomes(_ report: [String: Any]) -> [String: String] {
        var result: [String: String] = [:]
        for cluster in report["clusters"] as? [[String: Any]] ?? [] {
            if let name = cluster["name"] as? String {
                result[name] = (cluster["outcome"] as? [String: Any])?["kind"] as? String ?? "?"
            }
        }
        return result
    }

    /// Two clusters of two nodes each, whose `certificate:` is certbot's `live/{fqdn}/`.
    func writeInventory(_ sandbox: Sandbox, clusters: [String], fqdns: [String], certbot: Certbot, to dir: URL) throws -> String {
        let live = certbot.configDir.appendingPathComponent("live").path
        var lines = [
            "defaults:", "  ssh:", "    user: root", "    identity: \(sandbox.identityFile)",
            "    known_hosts: \(sandbox.knownHostsFile)", "    host_key_policy: strict", "    connect_timeout: 5s",
            "  xsoar:", "    start_timeout: 30s",
            "  certificate:", "    cert: \(live)/{fqdn}/fullchain.pem", "    key: \(live)/{fqdn}/privkey.pem",
            "clusters:",
        ]
        for (index, name) in clusters.enumerated() {
            lines += ["  - name: \(name)", "    fqdn: [\(fqdns[index])]", "    nodes:"]
            for node in sandbox.nodes[(2 * index)..<(2 * index + 2)] {
                lines.append("      - { host: \(node.address), role: \(node.role) }")
            }
        }
        return try TestPKI.write(lines.joined(separator: "\n") + "\n", to: dir, "fleet.yaml", mode: 0o644)
    }

    /// The built binary, off the cooperative pool.
    func certroll(_ arguments: [String]) async throws -> Certroll.Result {
        try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(arguments) }
    }

    func pids(_ sandbox: Sandbox) async throws -> [Int?] {
        var result: [Int?] = []
        for node in sandbox.nodes { result.append(try await sandbox.serverPID(onNode: node.index)) }
        return result
    }

    func leafFingerprint(_ path: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try Certificate.bundle(from: data, file: path).certificates.first).fingerprintSHA256
    }

    /// `report.json` of the newest run in `state` (run ids sort by time).
    func lastReport(_ state: String) throws -> [String: Any] {
        let id = try #require(try FileManager.default.contentsOfDirectory(atPath: state + "/runs").sorted().last)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(state)/runs/\(id)/report.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
