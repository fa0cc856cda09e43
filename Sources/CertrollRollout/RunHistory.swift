import CertrollCore
import Foundation

/// A run's journal read back, and the rule that decides what `resume` and
/// `rollback` do with each cluster (docs/rollout.md, "Resume").
struct RunHistory {
    var header: RunHeader
    var entries: [JournalEntry]
    /// cluster → node → facts (latest).
    var facts: [String: [String: NodeFacts]] = [:]

    init(entries: [JournalEntry], runID: String) throws {
        guard let header = entries.first(where: { $0.kind == .run })?.header else {
            throw RolloutError(code: .unknownRun, reason: "the journal of run \(runID) has no header; it cannot be resumed.", runID: runID)
        }
        self.header = header
        self.entries = entries
        for e in entries where e.kind == .facts {
            if let c = e.cluster, let n = e.node, let f = e.facts { facts[c, default: [:]][n] = f }
        }
    }

    /// What the journal says happened on each node of a cluster.
    struct Progress {
        var backups: [Int: [BackupFile]] = [:]
        var otcWritten: [Int: Bool] = [:]
        var confStaged: [Int: Bool] = [:]
        /// (step, node index) pairs that ended.
        var ended: Set<String> = []
        var begun: Set<Step> = []
        var failedFromStop = false
        func endedOn(_ step: Step, _ i: Int) -> Bool { ended.contains("\(step.rawValue)#\(i)") }
    }

    func progress(_ cluster: Cluster) -> Progress {
        var p = Progress()
        let index = Dictionary(uniqueKeysWithValues: cluster.nodes.enumerated().map { ($1.host, $0) })
        for e in entries where e.kind == .step && e.cluster == cluster.name {
            guard let step = e.step else { continue }
            let i = e.node.flatMap { index[$0] }
            switch e.phase {
            case .begin?:
                p.begun.insert(step)
            case .end?:
                if let i { p.ended.insert("\(step.rawValue)#\(i)") }
                if let i, let b = e.backups { p.backups[i] = b }
                if let i, step == .stage { p.otcWritten[i] = e.otcWritten ?? false; p.confStaged[i] = e.confStaged ?? false }
            case .failed?:
                if [.stop, .swap, .start, .verify].contains(step) { p.failedFromStop = true }
            case .notRun?, nil:
                continue
            }
        }
        return p
    }

    /// What to do with a cluster: a machine mode, or keep the recorded outcome.
    struct Decision {
        var mode: ClusterRollout.Mode?
        var keep: ClusterOutcome
    }

    /// The "whichever is safe" rule:
    /// - a cluster already done, skipped, refused or rolled back is left alone
    ///   (`rollback` does roll back a done one);
    /// - once any rollback step began, or a step from the stop on failed: roll back;
    /// - every node swapped: `resume` finishes (start, verify), `rollback` restores;
    /// - a stop began but not every node swapped: roll back;
    /// - only lock/stage/backup happened: remove staged files, release the locks;
    /// - nothing happened: nothing to do.
    func decide(_ cluster: Cluster, rollback: Bool) -> Decision {
        let last = entries.last { $0.kind == .outcome && $0.cluster == cluster.name }?.outcome
        let p = progress(cluster)
        let servingOld = Set(cluster.nodes.indices.filter { p.endedOn(.rollbackStart, $0) })
        if let last {
            switch last.kind {
            case .done:
                return rollback
                    ? Decision(mode: .rollback(servingOld: [], reason: "certroll rollback was asked for"), keep: last)
                    : Decision(mode: nil, keep: last)
            case .skipped, .notStarted, .preflightFailed, .badSource, .rolledBack:
                return Decision(mode: nil, keep: last)
            case .needsPerson, .interrupted:
                break
            }
        }
        let asked = "certroll rollback was asked for"
        let nothing = ClusterOutcome(.notStarted, reason: "cluster \(cluster.name): the run changed nothing there.")
        let rollbackBegan = p.begun.contains(.rollbackStop) || p.begun.contains(.restore) || p.begun.contains(.rollbackStart)
        if rollbackBegan || p.failedFromStop {
            let why = rollback ? asked : rollbackBegan
                ? "its rollback had begun before the run was interrupted; resume completes it"
                : "a step failed after the first stop; resume rolls the cluster back"
            return Decision(mode: .rollback(servingOld: servingOld, reason: why), keep: nothing)
        }
        if cluster.nodes.indices.allSatisfy({ p.endedOn(.swap, $0) }) {
            return Decision(mode: rollback ? .rollback(servingOld: [], reason: asked) : .finish, keep: nothing)
        }
        if p.begun.contains(.stop) || p.begun.contains(.swap) {
            let why = rollback ? asked : "the run was interrupted before every node was swapped; resume rolls the cluster back"
            return Decision(mode: .rollback(servingOld: [], reason: why), keep: nothing)
        }
        if !p.begun.isDisjoint(with: [.lock, .stage, .backup, .discard, .unlock]) { return Decision(mode: .abandon, keep: nothing) }
        return Decision(mode: nil, keep: nothing)
    }
}
