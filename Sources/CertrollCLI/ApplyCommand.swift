import ArgumentParser
import CertrollCore
import CertrollRollout
import Foundation

/// `certroll apply`: the rollout.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Install the certificate on every node of the selected clusters, safely.",
        discussion: """
            Local checks, then preflight on every node; per cluster: stage and back up \
            while XSOAR runs, stop every node, swap, start the primary and wait until it \
            serves the new certificate, then the backups, verify each by a TLS handshake. \
            Any failure after the first stop rolls the whole cluster back. Without \
            --cert/--key each cluster gets its own certificate: source from the inventory; \
            a cluster already serving its certificate is skipped. Without --yes \
            it shows the plan and asks. Exit codes: 0 done or nothing to do, 1 a cluster \
            failed and was rolled back, 2 bad input, 3 preflight refused, 4 a rollback \
            needs a person, 130 interrupted (certroll resume RUN_ID finishes).
            """)

    @OptionGroup var input: RolloutInputOptions

    @OptionGroup var fleet: FleetOptions

    @Option(help: ArgumentHelp("Clear a lock left on the nodes by this dead run.", valueName: "run-id"))
    var breakLock: String?

    @Flag(help: "Go on when a node's current key is encrypted and its passphrase is not given (a rollback then needs a person).")
    var acceptManualRollback = false

    @OptionGroup var secrets: NodeSecretOptions
    @OptionGroup var confirm: ConfirmOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var state: StateDirOptions

    func run() async throws {
        try confirm.requireTerminalUnlessYes("apply", then: "certroll plan shows what it would do")
        let clusters = try input.clusters(selecting: fleet.clusterNames)
        let targets = try await input.targets(for: clusters, command: "apply", json: output.json)
        let options = fleet.options(breakLock: breakLock, acceptManualRollback: acceptManualRollback)
        let engine = RolloutTools(store: state.store, ssh: try secrets.sshSecrets(for: clusters)).engine()
        var nodeSecrets = RolloutSecrets(currentKeyPassphrase: try secrets.currentKeyPassphrase())
        if !confirm.yes {
            nodeSecrets = try await preview(engine, targets, options, nodeSecrets)
        }
        let report = try await LiveRun.run(output.renderer()) { [nodeSecrets] sink, cancellation in
            try await engine.apply(targets: targets, options: options, secrets: nodeSecrets, events: sink, cancellation: cancellation)
        }
        try LiveRun.finish(report)
    }

    /// Shows the plan on stderr and asks. When a cluster that would change is
    /// refused only for want of the current key's passphrase, asks for it and plans again.
    private func preview(_ engine: RolloutEngine, _ targets: [ClusterTarget], _ options: RolloutOptions,
                         _ given: RolloutSecrets) async throws -> RolloutSecrets {
        var nodeSecrets = given
        var plan = await engine.plan(targets: targets, options: options, secrets: nodeSecrets)
        let locked = plan.clusters.filter { $0.action == .refuse }.flatMap(\.nodes).flatMap(\.findings)
            .contains { $0.check == .currentKey && $0.verdict == .fail }
        if locked, nodeSecrets.currentKeyPassphrase == nil {
            nodeSecrets.currentKeyPassphrase = try secrets.currentKeySource.read()
            plan = await engine.plan(targets: targets, options: options, secrets: nodeSecrets)
        }
        PlanText.lines(plan).forEach(Console.note)
        let leaves = Set(targets.compactMap { $0.certificate?.leafFingerprint })
        let what = leaves.count == 1 ? "\(leaves.first!.prefix(16))…" : "each cluster's own certificate"
        try confirm.confirm("Apply \(what) to \(targets.count) cluster(s)?", declined: "apply")
        return nodeSecrets
    }
}
