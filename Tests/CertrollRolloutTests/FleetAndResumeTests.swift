import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// Presses Ctrl-C (twice by default: "stop at once") once a given step has ended on a node.
final class SinkThatInterruptsAfter: RolloutEventSink, @unchecked Sendable {
    let step: Step
    let cancellation: RolloutCancellation
    let presses: Int
    /// Fires when `step` has ended this many times (on this many nodes).
    let endings: Int
    private let lock = NSLock()
    private var seen = 0
    init(_ step: Step, _ cancellation: RolloutCancellation, presses: Int = 2, endings: Int = 1) {
        self.step = step
        self.cancellation = cancellation
        self.presses = presses
        self.endings = endings
    }
    func receive(_ event: RolloutEvent) {
        guard event.kind == .stepEnded, event.step == step else { return }
        let first = lock.withLock { () -> Bool in
            seen += 1
            return seen == endings
        }
        if first {
            for _ in 0..<presses { cancellation.interrupt() }
        }
    }
}

@Suite struct FleetTests {
    let new = FakePKI.toInstall("new")

    @Test func twentyPairsTenAtOnce() async throws {
        var lab = Lab()
        for i in 0..<20 { lab.pair("c\(i)") }
        let sink = RecordingSink()
        var options = fastOptions
        options.parallel = 10
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: options, events: sink)
        #expect(report.exitCode == 0)
        #expect(report.clusters.allSatisfy { $0.outcome.kind == .done })
        #expect(lab.clusters.flatMap(\.nodes).allSatisfy { lab.host($0.host).servedLeaf == new.leafFingerprint })
        var running = 0, peak = 0
        for e in sink.events {
            if e.kind == .stepBegan, e.step == .lock, e.node?.hasSuffix("-a") == true { running += 1 }
            if e.kind == .clusterFinished { running -= 1 }
            peak = max(peak, running)
        }
        #expect(peak <= 10)
        #expect(peak > 1, "clusters ran in parallel")
    }

    @Test func maxFailuresStopsSchedulingAfterTwoBrokenClusters() async throws {
        var lab = Lab()
        lab.pair("broken0", backup: HostThatFailsStart.self)
        lab.pair("broken1", backup: HostThatFailsStart.self)
        for i in 2..<6 { lab.pair("fine\(i)") }
        var options = fastOptions
        options.parallel = 2
        options.maxFailures = 1
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: options)
        #expect(report.exitCode == 1)
        #expect(report.clusters.map(\.outcome.kind) == [.rolledBack, .rolledBack, .notStarted, .notStarted, .notStarted, .notStarted])
        #expect(report.clusters[2].outcome.reason?.contains("--max-failures 1") == true)
        #expect(lab.host("fine2-a").stops == 0)
    }

    @Test func canaryFailureStopsTheRest() async throws {
        var lab = Lab()
        lab.pair("canary", backup: HostThatFailsStart.self)
        lab.pair("rest")
        var options = fastOptions
        options.canary = true
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: options)
        #expect(report.clusters.map(\.outcome.kind) == [.rolledBack, .notStarted])
        #expect(report.exitCode == 1)
    }

    @Test func worstOutcomeWins() {
        #expect(ExitStatus.worst([0, 3, 1]) == 1)
        #expect(ExitStatus.worst([3, 0]) == 3)
        #expect(ExitStatus.worst([1, 4, 3]) == 4)
        #expect(ExitStatus.worst([1, 130]) == 130)
        #expect(ExitStatus.worst([]) == 0)
        // Bad input (a renewal's bad source) ranks between a rollback and a refusal.
        #expect(ExitStatus.worst([3, 2, 0]) == 2)
        #expect(ExitStatus.worst([2, 1]) == 1)
        #expect(ExitStatus.fromBestToWorst.map(\.rawValue) == [0, 3, 2, 1, 130, 4])
        #expect(Set(ExitStatus.fromBestToWorst) == Set(ExitStatus.allCases))
    }

    @Test func firstCtrlCSchedulesNothingNew() async throws {
        var lab = Lab()
        lab.pair("x")
        let cancel = RolloutCancellation()
        cancel.interrupt()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions, cancellation: cancel)
        #expect(report.exitCode == 130)
        #expect(report.clusters[0].outcome.kind == .notStarted)
        #expect(lab.host("x-a").stops == 0)
    }

    @Test func oneCtrlCLetsTheClusterInFlightFinishAndIsNotAnInterruption() async throws {
        var lab = Lab()
        lab.pair("x")
        let cancel = RolloutCancellation()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions,
                                                  events: SinkThatInterruptsAfter(.swap, cancel, presses: 1), cancellation: cancel)
        #expect(report.clusters.map(\.outcome.kind) == [.done])
        #expect(report.exitCode == 0, "nothing was left undone")
    }

    @Test func oneCtrlCKeepsTheNextClusterFromStartingAndThatIsAnInterruption() async throws {
        var lab = Lab()
        lab.pair("first")
        lab.pair("second")
        var options = fastOptions
        options.parallel = 1
        let cancel = RolloutCancellation()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: options,
                                                  events: SinkThatInterruptsAfter(.swap, cancel, presses: 1), cancellation: cancel)
        #expect(report.clusters.map(\.outcome.kind) == [.done, .notStarted])
        #expect(report.exitCode == 130)
        #expect(lab.host("second-a").stops == 0)
    }

    @Test func secondCtrlCStopsAtOnceAndResumeFinishes() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("x")
        let cancel = RolloutCancellation()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions,
                                                  events: SinkThatInterruptsAfter(.stop, cancel), cancellation: cancel)
        #expect(report.exitCode == 130)
        #expect(report.clusters[0].outcome.kind == .interrupted)
        #expect(!a.isRunning && !b.isRunning, "a pair's nodes stop at once")
        #expect(a.file(NodeCommands.staged(a.settings.certPath)) != nil, "interrupted before the swap")
        let resumed = try await lab.engine().resume(runID: report.runID, options: fastOptions)
        #expect(resumed.exitCode == 1, "stopped but not swapped: roll back")
        #expect(a.servedLeaf == FakePKI.leafFingerprint("old") && b.servedLeaf == FakePKI.leafFingerprint("old"))
    }

    /// Stopped after every node was swapped, before the first start: the start that
    /// never ran is not a failure, so resume finishes instead of rolling back.
    @Test func secondCtrlCAfterEverySwapAndResumeFinishesOnTheNewCertificate() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("x")
        let cancel = RolloutCancellation()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions,
                                                  events: SinkThatInterruptsAfter(.swap, cancel, endings: 2), cancellation: cancel)
        #expect(report.exitCode == 130)
        #expect(report.clusters[0].outcome.kind == .interrupted)
        let resumed = try await lab.engine().resume(runID: report.runID, options: fastOptions)
        #expect(resumed.exitCode == 0, "every node was swapped and nothing failed: finish")
        #expect(a.servedLeaf == FakePKI.leafFingerprint("new") && b.servedLeaf == FakePKI.leafFingerprint("new"))
    }
}

@Suite struct CrashResumeTests {
    /// Kills the controller after each journal line in turn, then resumes: every
    /// cluster ends entirely old or entirely new, with no OTC, staged file or lock left.
    @Test func crashAtEveryJournaledStepThenResume() async throws {
        let new = FakePKI.toInstall("new", passphrase: "new-pass")
        let secrets = RolloutSecrets(currentKeyPassphrase: Secret("old-pass"))
        var probe = Lab()
        probe.pair("p", oldPassphrase: "old-pass")
        let counter = Box<CountingJournal>()
        _ = try await probe.engine(decorator: { j in counter.set(CountingJournal(j)) })
            .apply(clusters: probe.clusters, certificate: new, options: fastOptions, secrets: secrets)
        let total = try #require(counter.value?.count)
        #expect(total > 30)

        var outcomes: [ClusterOutcome.Kind: Int] = [:]
        for k in 1..<total {
            var lab = Lab()
            let (a, b) = lab.pair("p", oldPassphrase: "old-pass")
            let crashed = try await lab.engine(decorator: { JournalThatDiesAfter($0, limit: k) })
                .apply(clusters: lab.clusters, certificate: new, options: fastOptions, secrets: secrets)
            let resumed = try await lab.engine().resume(runID: crashed.runID, options: fastOptions, secrets: secrets)
            outcomes[resumed.clusters[0].outcome.kind, default: 0] += 1
            let leaves = [a.servedLeaf, b.servedLeaf]
            #expect(leaves[0] == leaves[1], "k=\(k): the pair is consistent")
            #expect([FakePKI.leafFingerprint("old"), FakePKI.leafFingerprint("new")].contains(leaves[0] ?? ""), "k=\(k): served \(String(describing: leaves[0]))")
            for h in [a, b] {
                #expect(h.file("/var/lib/demisto/otc.conf.json") == nil, "k=\(k): OTC left on \(h.name)")
                #expect(h.stagedLeftovers.isEmpty, "k=\(k): staged files left on \(h.name)")
                #expect(h.file("/var/lib/certroll/lock") == nil, "k=\(k): lock left on \(h.name)")
                let onDisk = PEM.fingerprints(in: h.file("/usr/local/demisto/cert.pem")?.data ?? Data()).first
                #expect(onDisk == h.servedLeaf, "k=\(k): \(h.name) serves what is on disk")
            }
        }
        #expect(outcomes[.done, default: 0] > 0 && outcomes[.rolledBack, default: 0] > 0)
    }
}

/// A value set once from a @Sendable closure.
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T?
    var value: T? { lock.withLock { _value } }
    func set(_ v: T) -> T {
        lock.withLock { _value = v }
        return v
    }
}

@Suite struct StateMachineTests {
    @Test func applyVisitsEveryStepInOrder() {
        var m = ClusterRollout(nodeCount: 2, mode: .apply)
        var actions = [m.begin()]
        func go(_ a: ClusterRollout.Action) -> ClusterRollout.Action {
            switch a {
            case .node(.lock, let n): m.lockTaken(node: n)
            case .node(.stage, let n): m.staged(node: n)
            case .node(.backup, let n): m.backedUp(node: n)
            case .node(.stop, let n): m.stopConfirmed(node: n)
            case .node(.swap, let n): m.swapped(node: n)
            case .node(.start, let n): m.servingNew(node: n)
            case .node(.verify, let n): m.verified(node: n)
            case .cluster(.endpoints): m.endpointsChecked()
            case .cluster(.afterSuccess): m.afterSuccessFinished()
            case .node(.unlock, let n): m.lockReleased(node: n)
            default: .finish(.interrupted)
            }
        }
        while case let a = actions.last!, a != .finish(.done), actions.count < 40 { actions.append(go(a)) }
        #expect(actions == [
            .node(.lock, 0), .node(.lock, 1), .node(.stage, 0), .node(.stage, 1), .node(.backup, 0), .node(.backup, 1),
            .node(.stop, 0), .node(.stop, 1), .node(.swap, 0), .node(.swap, 1), .node(.start, 0), .node(.start, 1),
            .node(.verify, 0), .node(.verify, 1), .cluster(.endpoints), .cluster(.afterSuccess),
            .node(.unlock, 0), .node(.unlock, 1), .finish(.done),
        ])
        #expect(m.isFinished)
    }

    @Test func lockRefusedReleasesOnlyLocksTaken() {
        var m = ClusterRollout(nodeCount: 2, mode: .apply)
        _ = m.begin()
        _ = m.lockTaken(node: 0)
        let f = ClusterRollout.Failure(step: .lock, node: 1, reason: "held")
        #expect(m.failed(f) == .node(.unlock, 0))
        #expect(m.lockReleased(node: 0) == .finish(.refused(f)))
    }

    /// A cluster's nodes stage at once, so a failure on one leaves staged files
    /// on any of them: every node is cleaned.
    @Test func stagingFailureDiscardsOnEveryNodeThenUnlocks() {
        var m = ClusterRollout(nodeCount: 3, mode: .apply)
        _ = m.begin(); _ = m.lockTaken(node: 0); _ = m.lockTaken(node: 1); _ = m.lockTaken(node: 2)
        #expect(m.concurrentNodes == [0, 1, 2])
        #expect(m.staged(node: 2) == .node(.stage, 0), "nodes of a phase may finish in any order")
        let f = ClusterRollout.Failure(step: .stage, node: 1, reason: "sha")
        #expect(m.isPending(.stage, node: 1) && !m.isPending(.stage, node: 2))
        #expect(m.failed(f) == .node(.discard, 0))
        #expect(m.concurrentNodes.isEmpty, "discard runs node by node")
        #expect(m.stagedFilesRemoved(node: 0) == .node(.discard, 1))
        #expect(m.stagedFilesRemoved(node: 1) == .node(.discard, 2))
        #expect(m.stagedFilesRemoved(node: 2) == .node(.unlock, 0))
    }

    /// Locks are taken one node after the other (two controllers cannot each win
    /// a node), starts primary first; the rest of a phase may run at once.
    @Test func onlyIndependentPhasesRunAtOnce() {
        var m = ClusterRollout(nodeCount: 2, mode: .apply)
        #expect(m.begin() == .node(.lock, 0))
        #expect(m.concurrentNodes.isEmpty)
        _ = m.lockTaken(node: 0)
        #expect(m.lockTaken(node: 1) == .node(.stage, 0))
        for (step, next) in [(Step.stage, Step.backup), (.backup, .stop), (.stop, .swap), (.swap, .start)] {
            #expect(m.concurrentNodes == [0, 1], "\(step)")
            #expect(m.isPending(step, node: 1))
            _ = advance(&m, step, 1)
            #expect(advance(&m, step, 0) == .node(next, 0))
        }
        #expect(m.concurrentNodes.isEmpty, "the primary starts alone")
        _ = m.servingNew(node: 0)
        #expect(m.concurrentNodes.isEmpty, "then each backup")
        #expect(m.servingNew(node: 1) == .node(.verify, 0))
        #expect(m.concurrentNodes == [0, 1])
    }

    private func advance(_ m: inout ClusterRollout, _ step: Step, _ node: Int) -> ClusterRollout.Action {
        switch step {
        case .stage: m.staged(node: node)
        case .backup: m.backedUp(node: node)
        case .stop: m.stopConfirmed(node: node)
        case .swap: m.swapped(node: node)
        default: preconditionFailure("\(step)")
        }
    }

    @Test func primaryStrandedInRollbackKeepsStandbysDown() {
        var m = ClusterRollout(nodeCount: 2, mode: .rollback(servingOld: [], reason: "certroll rollback was asked for"))
        _ = m.begin(); _ = m.lockTaken(node: 0)
        #expect(m.lockTaken(node: 1) == .node(.rollbackStop, 0))
        let f = ClusterRollout.Failure(step: .rollbackStop, node: 0, reason: "unreachable")
        #expect(m.failed(f) == .node(.rollbackStop, 1))
        #expect(m.rollbackStopConfirmed(node: 1) == .node(.restore, 1))
        let end = m.restored(node: 1)
        guard case .finish(.needsPerson(_, let stranded)) = end else {
            Issue.record("expected needsPerson, got \(end)")
            return
        }
        #expect(stranded[0] == [.rollbackStop, .restore, .rollbackStart, .unlock])
        #expect(stranded[1] == [.rollbackStart, .unlock])
    }
}
