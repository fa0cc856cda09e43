import CertrollCore
import Foundation
import Logging

/// What a cluster's driver needs that does not change while it runs.
struct DriverContext: Sendable {
    var runID: String
    var cluster: Cluster
    /// Index-aligned with `cluster.nodes`; nil where the node could not be reached.
    var hosts: [(any RemoteHost)?]
    /// Preflight facts (journaled), index-aligned.
    var facts: [NodeFacts?]
    /// Backups recorded in the journal (resume/rollback), by node index.
    var backups: [Int: [BackupFile]]
    /// Whether swap put an OTC in place, by node index (from the journal on resume).
    var otcWritten: [Int: Bool]
    var confStaged: [Int: Bool]
    /// The new certificate's bytes: present for `apply` only.
    var certificate: CertificateToInstall?
    var chainFingerprints: [String]
    var secrets: RolloutSecrets
    var options: RolloutOptions
    var controller: ControllerIdentity
    var probe: any TLSProbe
    var hook: (any AfterSuccessHook)?
    var journal: any JournalWriter
    var events: any RolloutEventSink
    var cancellation: RolloutCancellation
    var logger: Logger
    /// Wall time, for the journal, events and lock records.
    var now: @Sendable () -> Date
    /// Deadlines and polling (stop and start timeouts).
    var clock: any RolloutClock
}

/// Performs a `ClusterRollout`'s actions against the nodes, journaling before
/// and after each remote step and emitting events. This file holds the step
/// loop and the journal; the steps are in `DriverSteps.swift`, the endings and
/// manual steps in `DriverOutcome.swift`.
struct ClusterDriver: Sendable {
    var context: DriverContext

    /// Runs the machine to its end.
    func run(mode: ClusterRollout.Mode) async -> ClusterOutcome {
        var state = MutableState(backups: context.backups, otcWritten: context.otcWritten, confStaged: context.confStaged)
        var machine = ClusterRollout(nodeCount: context.cluster.nodes.count, mode: mode)
        var action = machine.begin()
        while true {
            switch action {
            case .finish(let ending):
                return outcome(ending, state: state)
            case .node(let step, let i):
                // The phase's other pending nodes too, where the machine lets them run at once.
                let nodes = machine.concurrentNodes.contains(i) ? machine.concurrentNodes : [i]
                action = await perform(step, on: nodes, &machine, &state)
            case .cluster(let step):
                action = await perform(step, on: [nil], &machine, &state)
            }
        }
    }

    /// One step on one node, on the cluster (`nil`), or on several nodes at once.
    /// Every begin line is journaled (one fsync) before the step runs anywhere,
    /// and each end or failure line once all have returned, in node order, so
    /// the journal reads the same whichever node finishes first. The machine
    /// hears of the successes first, then of the first failure (and of each
    /// further one it still waits for: the clean-up steps that only warn).
    private func perform(_ step: Step, on nodes: [Int?], _ machine: inout ClusterRollout,
                         _ state: inout MutableState) async -> ClusterRollout.Action {
        if context.cancellation.aborts {
            try? journal(step, nodes[0], .notRun, message: "stopped on request before \(step.rawValue); `certroll resume \(context.runID)` continues")
            return machine.interrupted()
        }
        do {
            try journal(nodes.map { line(step, $0, .begin) })
        } catch {
            return machine.interrupted()
        }
        let snapshot = state
        let results = await inOrder(nodes) { i in
            var local = snapshot
            do {
                let entry = try await perform(step, i, &local)
                return StepResult(node: i, outcome: .success(entry), state: local)
            } catch {
                return StepResult(node: i, outcome: .failure(error), state: local)
            }
        }
        var failures: [ClusterRollout.Failure] = []
        var lines: [JournalEntry] = []
        for result in results {
            let i = result.node
            switch result.outcome {
            case .success(let done):
                var entry = done
                state.take(node: i, from: result.state, warningsAfter: snapshot.warnings.count)
                entry.message = entry.message ?? "\(subject(i)): \(step.rawValue) done."
                lines.append(line(step, i, .end, entry: entry))
            case .failure(let error):
                let reason = "\(error)"
                if [.endpoints, .afterSuccess, .discard, .unlock].contains(step) { state.warnings.append(reason) }
                lines.append(line(step, i, .failed, message: reason))
                failures.append(.init(step: step, node: i, reason: reason))
            }
        }
        do {
            try journal(lines)
        } catch {
            return machine.interrupted()
        }
        var action: ClusterRollout.Action?
        for i in nodes where !failures.contains(where: { $0.node == i }) {
            action = event(&machine, step, i)
        }
        for (n, failure) in failures.enumerated() where n == 0 || machine.isPending(step, node: failure.node ?? -1) {
            action = machine.failed(failure)
        }
        guard let action else { preconditionFailure("a step on \(nodes.count) node(s) reported nothing to the machine") }
        return action
    }

    /// What a step on one node (or the cluster) returned, with what it learned.
    private struct StepResult: Sendable {
        var node: Int?
        var outcome: Result<JournalEntry, any Error>
        var state: MutableState
    }

    /// Driver-side memory of what happened, beyond the machine's state.
    struct MutableState: Sendable {
        var backups: [Int: [BackupFile]]
        var otcWritten: [Int: Bool]
        var confStaged: [Int: Bool]
        var warnings: [String] = []

        /// What a step on node `i` (or the cluster) learned in its own copy of the state.
        mutating func take(node i: Int?, from local: MutableState, warningsAfter count: Int) {
            if let i {
                backups[i] = local.backups[i]
                otcWritten[i] = local.otcWritten[i]
                confStaged[i] = local.confStaged[i]
            }
            warnings += local.warnings.dropFirst(count)
        }
    }

    private func event(_ m: inout ClusterRollout, _ step: Step, _ i: Int?) -> ClusterRollout.Action {
        let n = i ?? 0
        switch step {
        case .lock: return m.lockTaken(node: n)
        case .stage: return m.staged(node: n)
        case .backup: return m.backedUp(node: n)
        case .stop: return m.stopConfirmed(node: n)
        case .swap: return m.swapped(node: n)
        case .start: return m.servingNew(node: n)
        case .verify: return m.verified(node: n)
        case .endpoints: return m.endpointsChecked()
        case .afterSuccess: return m.afterSuccessFinished()
        case .unlock: return m.lockReleased(node: n)
        case .discard: return m.stagedFilesRemoved(node: n)
        case .rollbackStop: return m.rollbackStopConfirmed(node: n)
        case .restore: return m.restored(node: n)
        case .rollbackStart: return m.servingOld(node: n)
        case .preflight: preconditionFailure("preflight is not a machine step")
        }
    }

    // MARK: journal and events

    func subject(_ i: Int?) -> String {
        i.map { "node \(context.cluster.nodes[$0].host)" } ?? "cluster \(context.cluster.name)"
    }

    func journal(_ step: Step, _ i: Int?, _ phase: JournalEntry.Phase, message: String? = nil, entry: JournalEntry? = nil) throws {
        try journal([line(step, i, phase, message: message, entry: entry)])
    }

    /// A step's journal line, stamped now.
    func line(_ step: Step, _ i: Int?, _ phase: JournalEntry.Phase, message: String? = nil, entry: JournalEntry? = nil) -> JournalEntry {
        var e = entry ?? JournalEntry(kind: .step)
        e.time = context.now()
        e.cluster = context.cluster.name
        e.node = i.map { context.cluster.nodes[$0].host }
        e.step = step
        e.phase = phase
        if let message { e.message = message }
        if phase == .begin, e.message == nil { e.message = "\(subject(i)): \(step.rawValue)…" }
        return e
    }

    /// Appends the lines durably (one fsync for all), then logs and emits each.
    func journal(_ lines: [JournalEntry]) throws {
        do {
            try context.journal.append(contentsOf: lines)
        } catch {
            context.logger.error("journal write failed; stopping", metadata: [LogKey.runID: "\(context.runID)"])
            throw JournalUnavailable()
        }
        for e in lines {
            guard let step = e.step, let phase = e.phase else { continue }
            let kind: RolloutEvent.Kind = switch phase {
            case .begin: .stepBegan
            case .end: .stepEnded
            case .failed: .stepFailed
            case .notRun: .warning
            }
            context.logger.debug("\(e.message ?? "")", metadata: [
                LogKey.runID: "\(context.runID)", LogKey.cluster: "\(context.cluster.name)",
                LogKey.node: "\(e.node ?? "-")", LogKey.step: "\(step.rawValue)",
            ])
            emit(kind, node: e.node, step: step, e.message ?? "")
        }
    }

    func emit(_ kind: RolloutEvent.Kind, node: String?, step: Step?, _ message: String) {
        context.events.receive(RolloutEvent(kind: kind, runID: context.runID, cluster: context.cluster.name, node: node,
                                            step: step, message: message, time: context.now()))
    }

    func run(_ host: any RemoteHost, _ command: RemoteCommand) async throws -> CommandResult {
        try await host.run(command, stdin: nil, timeout: context.options.commandTimeout)
    }
}
