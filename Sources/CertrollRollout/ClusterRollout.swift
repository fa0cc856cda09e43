/// The rollout of one cluster, as a pure state machine.
///
/// Nodes are numbered in cluster order: 0 is the primary, then the backups.
/// The driver asks for the first action with `begin()`, performs it, journals
/// it, and reports what happened through the event named for it; each event
/// returns the next action. Nothing here touches a node or the clock.
public struct ClusterRollout: Sendable {
    /// What the rollout sets out to do.
    public enum Mode: Sendable, Equatable {
        /// Lock, stage, back up, stop, swap, start, verify (rollout steps 2–7).
        case apply
        /// `resume` of a run whose every node was swapped: start, verify, finish.
        case finish
        /// Restore the backups on every node; `servingOld` nodes are already back.
        /// `reason` says why (the report's wording): asked for, or what resume found.
        case rollback(servingOld: Set<Int>, reason: String)
        /// `resume` of a run that stopped no node: remove staged files, release locks.
        case abandon
    }

    /// What the driver should do next.
    public enum Action: Sendable, Equatable {
        /// A remote step on one node.
        case node(Step, Int)
        /// A step of the whole cluster (`endpoints`, `afterSuccess`).
        case cluster(Step)
        /// Nothing more to do.
        case finish(Ending)
    }

    /// A step that did not succeed.
    public struct Failure: Sendable, Equatable {
        public var step: Step
        public var node: Int?
        /// A sentence naming the node and what went wrong.
        public var reason: String
        public init(step: Step, node: Int?, reason: String) {
            self.step = step
            self.node = node
            self.reason = reason
        }
    }

    /// How the cluster ended.
    public enum Ending: Sendable, Equatable {
        /// Every node serves the new certificate, verified; locks released.
        case done
        /// A lock could not be taken; no file was changed.
        case refused(Failure)
        /// Failed before any node was stopped; staged files removed, locks released.
        case abandoned(Failure)
        /// Every node is back on its old files and serving; locks released.
        case rolledBack(Failure)
        /// Some nodes could not be rolled back: node → steps left, in order. Locks are kept.
        case needsPerson(Failure, stranded: [Int: [Step]])
        /// Stopped on request between two steps; `resume` continues.
        case interrupted
    }

    /// The rollback's remaining work and who needs a person.
    struct Rollback: Sendable, Equatable {
        /// One step on one node.
        struct Item: Sendable, Equatable {
            var step: Step
            var node: Int
        }
        var queue: [Item]
        var stranded: [Int: [Step]]
        var cause: Failure
    }

    private enum State: Sendable, Equatable {
        /// Created; nothing done yet.
        case idle(Mode)
        /// Taking this run's lock on `pending` in order; earlier nodes hold it.
        case locking(pending: [Int], locked: [Int], then: Mode)
        /// Every node locked; new files uploaded beside the live ones on all but `pending`. Service running.
        case staging(pending: [Int])
        /// Everything staged; current files saved under backups/RUN_ID on all but `pending`.
        case backingUp(pending: [Int])
        /// Backups done; the service is confirmed stopped on all but `pending`.
        case stopping(pending: [Int])
        /// Every node stopped; new files in place on all but `pending`.
        case swapping(pending: [Int])
        /// New files on every node; all but `pending` started and serving the new certificate.
        case starting(pending: [Int])
        /// Every node serving; all but `pending` verified (leaf, chain, OTC consumed, active).
        case verifying(pending: [Int])
        /// Every node verified; the cluster's endpoints are being checked.
        case checkingEndpoints
        /// Endpoints checked; `after_success` is running.
        case runningHook
        /// Before any stop: removing staged files from `pending`, then releasing every lock.
        case discarding(pending: [Int], ending: Ending)
        /// The work is over (`ending`); releasing the locks still held on `pending`.
        case unlocking(pending: [Int], ending: Ending)
        /// Putting every node back on its old files.
        case rollingBack(Rollback)
        /// Nothing more will happen.
        case finished(Ending)
    }

    private var state: State
    private let nodes: [Int]

    public init(nodeCount: Int, mode: Mode) {
        precondition(nodeCount > 0, "a cluster has at least its primary")
        nodes = Array(0..<nodeCount)
        state = .idle(mode)
    }

    /// True once `finish` has been returned.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// The nodes that may run the action in flight at the same time as it
    /// (itself included, in node order): the pending nodes of a phase whose
    /// step on one node does not depend on another's — stage, backup, stop,
    /// swap, verify and the final unlock. Locks are taken in node order, so two
    /// controllers racing for a cluster cannot each win a node of it; starts
    /// and the rollback stay one node at a time (primary first).
    public var concurrentNodes: [Int] { concurrentPhase?.pending ?? [] }

    /// Whether `step` on `node` is still to be reported in the phase in flight.
    public func isPending(_ step: Step, node: Int) -> Bool {
        concurrentPhase.map { $0.step == step && $0.pending.contains(node) } ?? false
    }

    /// The phase in flight when its nodes may run it at once, and who is left.
    private var concurrentPhase: (step: Step, pending: [Int])? {
        switch state {
        case .staging(let p): (.stage, p)
        case .backingUp(let p): (.backup, p)
        case .stopping(let p): (.stop, p)
        case .swapping(let p): (.swap, p)
        case .verifying(let p): (.verify, p)
        case .unlocking(let p, _): (.unlock, p)
        default: nil
        }
    }

    /// The first action.
    public mutating func begin() -> Action {
        guard case .idle(let mode) = state else { preconditionFailure("begin() called twice") }
        state = .locking(pending: nodes, locked: [], then: mode)
        return .node(.lock, 0)
    }

    // MARK: events named for what happened

    public mutating func lockTaken(node: Int) -> Action { advance(.lock, node) }
    public mutating func staged(node: Int) -> Action { advance(.stage, node) }
    public mutating func backedUp(node: Int) -> Action { advance(.backup, node) }
    public mutating func stopConfirmed(node: Int) -> Action { advance(.stop, node) }
    public mutating func swapped(node: Int) -> Action { advance(.swap, node) }
    public mutating func servingNew(node: Int) -> Action { advance(.start, node) }
    public mutating func verified(node: Int) -> Action { advance(.verify, node) }
    public mutating func endpointsChecked() -> Action { advance(.endpoints, nil) }
    public mutating func afterSuccessFinished() -> Action { advance(.afterSuccess, nil) }
    public mutating func stagedFilesRemoved(node: Int) -> Action { advance(.discard, node) }
    public mutating func lockReleased(node: Int) -> Action { advance(.unlock, node) }
    public mutating func rollbackStopConfirmed(node: Int) -> Action { advance(.rollbackStop, node) }
    public mutating func restored(node: Int) -> Action { advance(.restore, node) }
    public mutating func servingOld(node: Int) -> Action { advance(.rollbackStart, node) }

    /// The controller was told to stop at once (second Ctrl-C).
    public mutating func interrupted() -> Action {
        state = .finished(.interrupted)
        return .finish(.interrupted)
    }

    /// A step failed. From the first stop on, this rolls the whole cluster back;
    /// before it, staged files are removed; clean-up failures only warn.
    public mutating func failed(_ failure: Failure) -> Action {
        switch state {
        case .idle, .finished:
            preconditionFailure("failure reported with no step in flight")
        case .locking(_, let locked, _):
            return unlock(locked, ending: .refused(failure))
        case .staging, .backingUp:
            // Every node: the others of the phase may have been staged at the same time.
            return discard(nodes, ending: .abandoned(failure))
        case .stopping, .swapping, .starting, .verifying:
            return beginRollback(cause: failure, servingOld: [])
        case .checkingEndpoints:
            return endpointsChecked()
        case .runningHook:
            return afterSuccessFinished()
        case .discarding(let pending, _):
            return advance(.discard, pending.first)
        case .unlocking(let pending, _):
            return advance(.unlock, failure.node ?? pending.first)
        case .rollingBack(var rb):
            let item = rb.queue.removeFirst()
            var left = [item.step] + rb.queue.filter { $0.node == item.node }.map(\.step)
            if !left.contains(.unlock) { left.append(.unlock) }
            rb.stranded[item.node, default: []] += left
            rb.queue.removeAll { $0.node == item.node }
            if item.node == 0 {
                // Never start a standby before the active node serves again.
                for backup in rb.queue.filter({ $0.step == .rollbackStart }).map(\.node) {
                    rb.stranded[backup, default: []] += [.rollbackStart, .unlock]
                }
                rb.queue.removeAll { $0.step == .rollbackStart }
            }
            rb.queue.removeAll { $0.step == .unlock }
            return nextRollback(rb)
        }
    }

    // MARK: transitions

    private mutating func advance(_ step: Step, _ node: Int?) -> Action {
        switch state {
        case .locking(var pending, var locked, let mode):
            expect(step, .lock, node, pending.first)
            locked.append(pending.removeFirst())
            if let next = pending.first {
                state = .locking(pending: pending, locked: locked, then: mode)
                return .node(.lock, next)
            }
            switch mode {
            case .apply:
                state = .staging(pending: nodes)
                return .node(.stage, 0)
            case .finish:
                state = .starting(pending: nodes)
                return .node(.start, 0)
            case .rollback(let servingOld, let reason):
                return beginRollback(cause: Failure(step: .restore, node: nil, reason: reason),
                                     servingOld: servingOld)
            case .abandon:
                return discard(nodes, ending: .abandoned(Failure(
                    step: .discard, node: nil, reason: "the run was interrupted before any node was stopped")))
            }
        case .staging(var pending):
            take(step, .stage, node, from: &pending)
            if let next = pending.first {
                state = .staging(pending: pending)
                return .node(.stage, next)
            }
            state = .backingUp(pending: nodes)
            return .node(.backup, 0)
        case .backingUp(var pending):
            take(step, .backup, node, from: &pending)
            if let next = pending.first {
                state = .backingUp(pending: pending)
                return .node(.backup, next)
            }
            state = .stopping(pending: nodes)
            return .node(.stop, 0)
        case .stopping(var pending):
            take(step, .stop, node, from: &pending)
            if let next = pending.first {
                state = .stopping(pending: pending)
                return .node(.stop, next)
            }
            state = .swapping(pending: nodes)
            return .node(.swap, 0)
        case .swapping(var pending):
            take(step, .swap, node, from: &pending)
            if let next = pending.first {
                state = .swapping(pending: pending)
                return .node(.swap, next)
            }
            state = .starting(pending: nodes)
            return .node(.start, 0)
        case .starting(var pending):
            expect(step, .start, node, pending.first)
            pending.removeFirst()
            if let next = pending.first {
                state = .starting(pending: pending)
                return .node(.start, next)
            }
            state = .verifying(pending: nodes)
            return .node(.verify, 0)
        case .verifying(var pending):
            take(step, .verify, node, from: &pending)
            if let next = pending.first {
                state = .verifying(pending: pending)
                return .node(.verify, next)
            }
            state = .checkingEndpoints
            return .cluster(.endpoints)
        case .checkingEndpoints:
            expect(step, .endpoints, node, nil)
            state = .runningHook
            return .cluster(.afterSuccess)
        case .runningHook:
            expect(step, .afterSuccess, node, nil)
            return unlock(nodes, ending: .done)
        case .discarding(var pending, let ending):
            expect(step, .discard, node, pending.first)
            pending.removeFirst()
            if let next = pending.first {
                state = .discarding(pending: pending, ending: ending)
                return .node(.discard, next)
            }
            return unlock(nodes, ending: ending)
        case .unlocking(var pending, let ending):
            take(step, .unlock, node, from: &pending)
            return unlock(pending, ending: ending)
        case .rollingBack(var rb):
            let item = rb.queue.removeFirst()
            expect(step, item.step, node, item.node)
            return nextRollback(rb)
        case .idle, .finished:
            preconditionFailure("\(step) reported with no step in flight")
        }
    }

    private mutating func discard(_ targets: [Int], ending: Ending) -> Action {
        guard let first = targets.first else { return unlock(nodes, ending: ending) }
        state = .discarding(pending: targets, ending: ending)
        return .node(.discard, first)
    }

    private mutating func unlock(_ targets: [Int], ending: Ending) -> Action {
        guard let first = targets.first else {
            state = .finished(ending)
            return .finish(ending)
        }
        state = .unlocking(pending: targets, ending: ending)
        return .node(.unlock, first)
    }

    private mutating func beginRollback(cause: Failure, servingOld: Set<Int>) -> Action {
        let todo = nodes.filter { !servingOld.contains($0) }
        let queue = todo.map { Rollback.Item(step: .rollbackStop, node: $0) }
            + todo.map { Rollback.Item(step: .restore, node: $0) }
            + todo.map { Rollback.Item(step: .rollbackStart, node: $0) }
            + nodes.map { Rollback.Item(step: .unlock, node: $0) }
        return nextRollback(Rollback(queue: queue, stranded: [:], cause: cause))
    }

    private mutating func nextRollback(_ rb: Rollback) -> Action {
        if let item = rb.queue.first {
            state = .rollingBack(rb)
            return .node(item.step, item.node)
        }
        let ending: Ending = rb.stranded.isEmpty ? .rolledBack(rb.cause) : .needsPerson(rb.cause, stranded: rb.stranded)
        state = .finished(ending)
        return .finish(ending)
    }

    /// Removes `node` from a phase's pending nodes, wherever it is: the nodes of
    /// a phase that may run at once finish in any order.
    private func take(_ got: Step, _ want: Step, _ node: Int?, from pending: inout [Int]) {
        guard got == want, let node, let at = pending.firstIndex(of: node) else {
            preconditionFailure("event \(got) for node \(node.map(String.init) ?? "-") while \(want) on \(pending) was in flight")
        }
        pending.remove(at: at)
    }

    private func expect(_ got: Step, _ want: Step, _ node: Int?, _ wantNode: Int?) {
        precondition(got == want && node == wantNode,
                     "event \(got) for node \(node.map(String.init) ?? "-") while \(want) on \(wantNode.map(String.init) ?? "-") was in flight")
    }
}
