import ArgumentParser
import CertrollCore
import CertrollRollout
import Foundation

/// `certroll plan`: preflight every node and show what apply would do; changes nothing.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would do on every node (changes nothing).",
        discussion: """
            Runs the local checks, connects to every node and runs the preflight, then \
            prints per node the certificate served and on disk (fingerprint, expiry), \
            what would change (files, conf edit, OTC) and whether it restarts. Nothing \
            is changed on the nodes or under the state directory. Without --cert/--key \
            each cluster's certificate: source is planned. Exits 0, 2 when the \
            input is bad or a local check FAILs, 3 when a cluster would be refused.
            """)

    @OptionGroup var input: RolloutInputOptions

    @Option(name: .customLong("cluster"), help: ArgumentHelp("Only this cluster (repeatable; default all).", valueName: "name"))
    var clusterNames: [String] = []

    @OptionGroup var secrets: NodeSecretOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var state: StateDirOptions

    func run() async throws {
        let clusters = try input.clusters(selecting: clusterNames)
        let targets = try await input.targets(for: clusters, command: "plan", json: output.json)
        let engine = RolloutTools(store: state.store, ssh: try secrets.sshSecrets(for: clusters)).engine()
        let plan = await engine.plan(targets: targets,
                                     secrets: RolloutSecrets(currentKeyPassphrase: try secrets.currentKeyPassphrase()))
        if output.json {
            Console.out(EventText.json(PlanJSON(plan)))
        } else {
            PlanText.lines(plan).forEach(Console.out)
        }
        if plan.exitCode != 0 { throw ExitCode(plan.exitCode) }
    }
}

/// A fleet plan as text: per cluster its action, per node what it has and what changes.
enum PlanText {
    static func lines(_ plan: FleetPlan) -> [String] {
        var lines: [String] = []
        for cluster in plan.clusters {
            let action = switch cluster.action {
            case .rollout: "roll out (stop every node, swap, start the primary first, verify)"
            case .skip: "skip"
            case .refuse: "refused, nothing would be touched"
            }
            lines.append("cluster \(cluster.name): \(action)")
            if let reason = cluster.reason { lines.append("  \(reason)") }
            for node in cluster.nodes {
                lines.append("  node \(node.node) (\(node.role.rawValue))")
                lines.append("    serves   \(fingerprint(node.servedFingerprint, node.servedNotAfter))")
                lines.append("    on disk  \(fingerprint(node.diskFingerprint, node.diskNotAfter))")
                for change in node.changes { lines.append("    will \(change)") }
                if node.changes.isEmpty { lines.append("    no change") }
                lines.append("    restart: \(node.restart ? "yes" : "no")")
                for finding in node.findings where finding.verdict != .pass {
                    lines.append("    \(finding.verdict == .fail ? "FAIL" : "warn")  \(finding.message)")
                }
            }
        }
        let counts = Dictionary(grouping: plan.clusters, by: \.action).mapValues(\.count)
        lines.append("plan: \(counts[.rollout] ?? 0) to roll out, \(counts[.skip] ?? 0) to skip, \(counts[.refuse] ?? 0) refused.")
        return lines
    }

    /// `ab12…  expires 2026-03-01`, or `(none)`.
    static func fingerprint(_ value: String?, _ notAfter: Date?) -> String {
        guard let value else { return "(none)" }
        return String(value.prefix(16)) + "…" + (notAfter.map { "  expires \($0.formatted(.iso8601.year().month().day()))" } ?? "")
    }
}

/// `plan --json`: the plan as one object.
struct PlanJSON: Encodable {
    struct Node: Encodable {
        var node: String
        var role: String
        var servedFingerprint: String?
        var servedNotAfter: Date?
        var diskFingerprint: String?
        var diskNotAfter: Date?
        var changes: [String]
        var editsConf: Bool
        var writesOTC: Bool
        var restart: Bool
        var findings: [PreflightFinding]
    }
    struct Cluster: Encodable {
        var name: String
        var action: String
        var reason: String?
        var targetFingerprint: String?
        var nodes: [Node]
    }
    var kind = "plan"
    var clusters: [Cluster]
    var exitCode: Int32

    init(_ plan: FleetPlan) {
        clusters = plan.clusters.map { c in
            Cluster(name: c.name, action: c.action.rawValue, reason: c.reason, targetFingerprint: c.targetFingerprint, nodes: c.nodes.map { n in
                Node(node: n.node, role: n.role.rawValue, servedFingerprint: n.servedFingerprint, servedNotAfter: n.servedNotAfter,
                     diskFingerprint: n.diskFingerprint, diskNotAfter: n.diskNotAfter, changes: n.changes, editsConf: n.editsConf,
                     writesOTC: n.writesOTC, restart: n.restart, findings: n.findings)
            })
        }
        exitCode = plan.exitCode
    }
}
