public import CertrollCore
public import Foundation
public import Logging

/// The rollout engine: preflight, per-cluster state machines, journal, fleet
/// scheduling, resume and rollback. It never prints: progress goes to the
/// event sink, the outcome to the returned `RunReport` (whose `exitCode` the
/// CLI exits with).
public struct RolloutEngine: Sendable {
    public var connector: any HostConnector
    public var probe: any TLSProbe
    public var keyInspector: any KeyInspector
    public var certificateDates: (any CertificateDates)?
    public var hook: (any AfterSuccessHook)?
    public var store: RunStore
    public var logger: Logger
    public var controller: ControllerIdentity
    public var now: @Sendable () -> Date
    /// Deadlines and polling while nodes stop and start.
    public var clock: any RolloutClock
    /// Wraps the run's journal writer (fault injection in tests).
    public var journalDecorator: (@Sendable (any JournalWriter) -> any JournalWriter)?

    public init(connector: any HostConnector, probe: any TLSProbe, keyInspector: any KeyInspector,
                certificateDates: (any CertificateDates)? = nil, hook: (any AfterSuccessHook)? = nil,
                store: RunStore, logger: Logger, controller: ControllerIdentity = .current,
                now: @escaping @Sendable () -> Date = { Date() }, clock: any RolloutClock = ContinuousRolloutClock(),
                journalDecorator: (@Sendable (any JournalWriter) -> any JournalWriter)? = nil) {
        self.connector = connector
        self.probe = probe
        self.keyInspector = keyInspector
        self.certificateDates = certificateDates
        self.hook = hook
        self.store = store
        self.logger = logger
        self.controller = controller
        self.now = now
        self.clock = clock
        self.journalDecorator = journalDecorator
    }

    // MARK: apply

    /// `apply` with `--cert/--key`: every cluster gets `certificate`.
    public func apply(clusters: [Cluster], certificate: CertificateToInstall, options: RolloutOptions = .init(),
                      secrets: RolloutSecrets = .init(), events: any RolloutEventSink = DiscardingEventSink(),
                      cancellation: RolloutCancellation = .init()) async throws -> RunReport {
        try await apply(targets: ClusterTarget.same(certificate, for: clusters), options: options, secrets: secrets,
                        events: events, cancellation: cancellation)
    }

    /// `apply` and `renew`: preflight every node of every cluster, skip the
    /// clusters already on their own certificate, then roll the others out
    /// (parallel, canary, max-failures, Ctrl-C). `finisher` completes a cluster's
    /// certificate only once it must change (so a skipped one needs no secret).
    /// Throws only when the state directory cannot be used (nothing touched: exit 2).
    public func apply(targets: [ClusterTarget], command: String = "apply", options: RolloutOptions = .init(),
                      secrets: RolloutSecrets = .init(), events: any RolloutEventSink = DiscardingEventSink(),
                      cancellation: RolloutCancellation = .init(), finisher: TargetFinisher? = nil) async throws -> RunReport {
        let clusters = targets.map(\.cluster)
        let started = now()
        let runID = RunStore.newRunID(now: started)
        try store.create(runID)
        let journal = try openJournal(runID)
        var header = JournalEntry(kind: .run, message: "\(command) of \(clusters.count) cluster(s) by \(controller.user)@\(controller.host)")
        header.header = RunHeader(runID: runID, command: command, controller: controller.host, user: controller.user, clusters: clusters,
                                  certificates: targets.compactMap { t in t.certificate.map { CertificateRecord(cluster: t.cluster.name, certificate: $0) } })
        try journal.append(header)
        events.receive(RolloutEvent(kind: .runStarted, runID: runID, message: "run \(runID): \(command) to \(clusters.map(\.name).joined(separator: ", ")).", time: now()))
        store.log(runID, "run \(runID) started: \(command) \(clusters.map(\.name).joined(separator: ", "))")

        var outcomes: [String: ClusterOutcome] = [:]
        var checkable: [(Cluster, CertificateToInstall)] = []
        for target in targets {
            switch target.source {
            case .certificate(let certificate):
                checkable.append((target.cluster, certificate))
            case .unusable(let outcome):
                outcomes[target.cluster.name] = outcome
                try? record(outcome, cluster: target.cluster.name, journal: journal, runID: runID, events: events)
            }
        }
        let checked = await preflightAll(checkable, options: options, secrets: secrets, runID: runID, journal: journal, events: events)
        var toRoll: [(Cluster, [(any RemoteHost)?], [NodeFacts?], CertificateToInstall)] = []
        for ((cluster, certificate), result) in zip(checkable, checked) {
            var outcome = verdict(cluster, certificate, result, options)
            if outcome == nil, let finisher {
                switch await finisher(cluster, certificate) {
                case .rollOut(let complete): toRoll.append((cluster, result.hosts, result.facts, complete))
                case .refuse(let refusal): outcome = refusal
                }
            } else if outcome == nil {
                toRoll.append((cluster, result.hosts, result.facts, certificate))
            }
            guard let outcome else { continue }
            outcomes[cluster.name] = outcome
            try? record(outcome, cluster: cluster.name, journal: journal, runID: runID, events: events)
        }

        let rolled = await schedule(toRoll.map { item in
            let (cluster, hosts, facts, certificate) = item
            return (cluster.name, { () async -> ClusterOutcome in
                let ctx = self.context(runID: runID, cluster: cluster, hosts: hosts, facts: facts, certificate: certificate,
                                       chainFingerprints: certificate.chainFingerprints, secrets: secrets, options: options,
                                       journal: journal, events: events, cancellation: cancellation)
                return await ClusterDriver(context: ctx).run(mode: .apply)
            })
        }, options: options, cancellation: cancellation, journal: journal, runID: runID, events: events)
        outcomes.merge(rolled) { $1 }
        for result in checked { for h in result.hosts { await h?.close() } }
        return try finish(runID: runID, command: command, started: started, order: clusters.map(\.name), outcomes: outcomes,
                          targets: { name in targets.first { $0.cluster.name == name }?.certificate?.leafFingerprint },
                          cancelled: cancellation.stopsScheduling, events: events)
    }

    // MARK: plan

    /// `plan` with `--cert/--key`: every cluster gets `certificate`.
    public func plan(clusters: [Cluster], certificate: CertificateToInstall, options: RolloutOptions = .init(),
                     secrets: RolloutSecrets = .init(), events: any RolloutEventSink = DiscardingEventSink()) async -> FleetPlan {
        await plan(targets: ClusterTarget.same(certificate, for: clusters), options: options, secrets: secrets, events: events)
    }

    /// `plan`: preflight everywhere and describe what `apply` would do, by
    /// the same rules. Changes nothing on the nodes and writes nothing under `runs/`.
    public func plan(targets: [ClusterTarget], options: RolloutOptions = .init(),
                     secrets: RolloutSecrets = .init(), events: any RolloutEventSink = DiscardingEventSink()) async -> FleetPlan {
        let checkable = targets.compactMap { t in t.certificate.map { (t.cluster, $0) } }
        let checked = await preflightAll(checkable, options: options, secrets: secrets, runID: nil, journal: nil, events: events)
        for result in checked { for h in result.hosts { await h?.close() } }
        var results = zip(checkable, checked).makeIterator()
        return FleetPlan(clusters: targets.map { target in
            guard case .certificate = target.source, let ((cluster, certificate), result) = results.next() else {
                if case .unusable(let outcome) = target.source { return ClusterPlan(cluster: target.cluster, unusable: outcome) }
                preconditionFailure("every target with a certificate was checked")
            }
            return ClusterPlan(cluster: cluster, preflight: result.preflight, verdict: verdict(cluster, certificate, result, options),
                               certificate: certificate)
        })
    }

    // MARK: resume and rollback

    /// `resume RUN_ID`: per cluster, finish when every node was swapped and
    /// no rollback had begun; otherwise roll back (or, when nothing was stopped,
    /// remove staged files). See docs/rollout.md.
    public func resume(runID: String, options: RolloutOptions = .init(), secrets: RolloutSecrets = .init(),
                       events: any RolloutEventSink = DiscardingEventSink(),
                       cancellation: RolloutCancellation = .init()) async throws -> RunReport {
        try await reopen(runID: runID, command: "resume", options: options, secrets: secrets, events: events, cancellation: cancellation)
    }

    /// `rollback RUN_ID`: restore what the run replaced on every node it
    /// touched, also after it succeeded.
    public func rollback(runID: String, options: RolloutOptions = .init(), secrets: RolloutSecrets = .init(),
                         events: any RolloutEventSink = DiscardingEventSink(),
                         cancellation: RolloutCancellation = .init()) async throws -> RunReport {
        try await reopen(runID: runID, command: "rollback", options: options, secrets: secrets, events: events, cancellation: cancellation)
    }

    private func reopen(runID: String, command: String, options: RolloutOptions, secrets: RolloutSecrets,
                        events: any RolloutEventSink, cancellation: RolloutCancellation) async throws -> RunReport {
        let started = now()
        let history = try RunHistory(entries: store.readJournal(runID), runID: runID)
        let journal = try openJournal(runID)
        try journal.append(JournalEntry(kind: .reopened, message: "\(command) by \(controller.user)@\(controller.host)", time: now()))
        events.receive(RolloutEvent(kind: .runStarted, runID: runID, message: "run \(runID): \(command).", time: now()))
        store.log(runID, "\(command) of run \(runID)")

        var outcomes: [String: ClusterOutcome] = [:]
        var jobs: [(String, @Sendable () async -> ClusterOutcome)] = []
        for cluster in history.header.clusters {
            let decision = history.decide(cluster, rollback: command == "rollback")
            guard let mode = decision.mode else {
                outcomes[cluster.name] = decision.keep
                events.receive(RolloutEvent(kind: .clusterFinished, runID: runID, cluster: cluster.name,
                                            message: "cluster \(cluster.name): nothing to \(command) (\(decision.keep.kind.rawValue)).",
                                            outcome: decision.keep, time: now()))
                continue
            }
            let facts = cluster.nodes.map { history.facts[cluster.name]?[$0.host] }
            let progress = history.progress(cluster)
            jobs.append((cluster.name, { () async -> ClusterOutcome in
                var hosts: [(any RemoteHost)?] = []
                for node in cluster.nodes { hosts.append(try? await self.connector.connect(to: node)) }
                let ctx = DriverContext(
                    runID: runID, cluster: cluster, hosts: hosts, facts: facts, backups: progress.backups,
                    otcWritten: progress.otcWritten, confStaged: progress.confStaged, certificate: nil,
                    chainFingerprints: history.header.chainFingerprints(of: cluster.name), secrets: secrets, options: options,
                    controller: self.controller, probe: self.probe, hook: self.hook, journal: journal, events: events,
                    cancellation: cancellation, logger: self.logger, now: self.now, clock: self.clock)
                let outcome = await ClusterDriver(context: ctx).run(mode: mode)
                for h in hosts { await h?.close() }
                return outcome
            }))
        }
        let done = await schedule(jobs, options: options, cancellation: cancellation, journal: journal, runID: runID, events: events)
        outcomes.merge(done) { $1 }
        return try finish(runID: runID, command: command, started: started, order: history.header.clusters.map(\.name),
                          outcomes: outcomes, targets: { history.header.chainFingerprints(of: $0).first },
                          cancelled: cancellation.stopsScheduling, events: events)
    }

    // MARK: shared machinery

    /// One cluster's preflight: reachable hosts, facts, and the refusal if any.
    struct ClusterCheck: Sendable {
        var hosts: [(any RemoteHost)?]
        var preflight: [NodePreflight]
        var facts: [NodeFacts?]
        var failure: ClusterOutcome?
    }

    private func preflightAll(_ clusters: [(Cluster, CertificateToInstall)], options: RolloutOptions,
                              secrets: RolloutSecrets, runID: String?, journal: (any JournalWriter)?,
                              events: any RolloutEventSink) async -> [ClusterCheck] {
        await withTaskGroup(of: (Int, ClusterCheck).self) { group in
            var next = 0
            var results = [ClusterCheck?](repeating: nil, count: clusters.count)
            func add(_ i: Int) {
                group.addTask { (i, await self.preflight(clusters[i].0, certificate: clusters[i].1, options: options, secrets: secrets,
                                                         runID: runID, journal: journal, events: events)) }
            }
            while next < min(clusters.count, options.parallel) { add(next); next += 1 }
            while let (i, r) = await group.next() {
                results[i] = r
                if next < clusters.count { add(next); next += 1 }
            }
            return results.map { $0! }
        }
    }

    private func preflight(_ cluster: Cluster, certificate: CertificateToInstall, options: RolloutOptions, secrets: RolloutSecrets,
                           runID: String?, journal: (any JournalWriter)?, events: any RolloutEventSink) async -> ClusterCheck {
        // Preflight only reads, so a cluster's nodes are asked at once (each on its
        // own connection); findings, events and journal lines still come in node order.
        let checked = await inOrder(cluster.nodes) { node in
            await self.preflight(node, certificate: certificate, options: options, secrets: secrets, runID: runID)
        }
        let hosts = checked.map(\.host)
        let results = checked.map(\.result)
        for r in results {
            for f in r.findings {
                events.receive(RolloutEvent(kind: .check, runID: runID, cluster: cluster.name, node: r.node, step: .preflight,
                                            verdict: f.verdict, message: f.message, time: now()))
            }
            if let facts = r.facts, let journal {
                var e = JournalEntry(kind: .facts, cluster: cluster.name, node: r.node, step: .preflight,
                                     message: r.findings.filter { $0.verdict != .pass }.map(\.message).joined(separator: " "), time: now())
                e.facts = facts
                try? journal.append(e)
            }
        }
        let failures = results.flatMap(\.failures)
        let warnings = results.flatMap { $0.findings.filter { $0.verdict == .warn }.map(\.message) }
        let failure = failures.isEmpty ? nil : ClusterOutcome(
            .preflightFailed,
            reason: "cluster \(cluster.name) was not touched: " + failures.map(\.message).joined(separator: " "),
            warnings: warnings)
        return ClusterCheck(hosts: hosts, preflight: results, facts: results.map(\.facts), failure: failure)
    }

    /// One node's preflight: its host when it could be reached, and the findings.
    private func preflight(_ node: ClusterNode, certificate: CertificateToInstall, options: RolloutOptions, secrets: RolloutSecrets,
                           runID: String?) async -> (host: (any RemoteHost)?, result: NodePreflight) {
        do {
            let host = try await connector.connect(to: node)
            let gatherer = NodeFactGatherer(node: node, host: host, certificate: certificate, options: options, secrets: secrets,
                                            keyInspector: keyInspector, certificateDates: certificateDates, probe: probe, now: now)
            return (host, await Preflight(gatherer: gatherer, runID: runID).run())
        } catch {
            return (nil, NodePreflight(node: node.host, findings: [PreflightFinding(
                check: .connect, verdict: .fail, message: "node \(node.host): \(error); check the host, credentials and host key.")], facts: nil))
        }
    }

    /// What preflight decides for a cluster: skipped (already current), refused,
    /// or nil to roll it out. A current cluster is skipped even when the only
    /// failures concern the current key's passphrase: nothing will change, so
    /// no rollback can need it.
    private func verdict(_ cluster: Cluster, _ certificate: CertificateToInstall, _ check: ClusterCheck,
                         _ options: RolloutOptions) -> ClusterOutcome? {
        let failures = check.preflight.flatMap(\.failures)
        if !options.force, CurrentRule.clusterIsCurrent(check.facts, certificate.identity),
           failures.allSatisfy(\.check.mattersOnlyWhenClusterChanges) {
            return ClusterOutcome(.skipped, reason: "cluster \(cluster.name): every node already serves its certificate (leaf \(certificate.leafFingerprint.prefix(16))…) with identical files; nothing restarted (--force rolls it out anyway).")
        }
        if let failure = check.failure { return failure }
        if options.neverOlder, !options.force, let newer = CurrentRule.servedNewer(check.facts, than: certificate.notBefore) {
            return ClusterOutcome(.preflightFailed, reason: "cluster \(cluster.name) was not touched: its certificate source was issued \(iso(certificate.notBefore)), before the certificate its nodes serve (issued \(iso(newer))); renew never goes back to an older certificate (renew the source, or --force to roll it out anyway).")
        }
        return nil
    }

    private func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    /// Runs cluster jobs: `parallel` at once, canary first alone, no new cluster
    /// after `maxFailures` failures or a Ctrl-C.
    private func schedule(_ jobs: [(String, @Sendable () async -> ClusterOutcome)], options: RolloutOptions,
                          cancellation: RolloutCancellation, journal: any JournalWriter, runID: String,
                          events: any RolloutEventSink) async -> [String: ClusterOutcome] {
        await withTaskGroup(of: (String, ClusterOutcome).self) { group in
            var outcomes: [String: ClusterOutcome] = [:]
            var queue = jobs[...]
            var running = 0
            var failures = 0
            var limit = options.canary ? 1 : options.parallel
            var canaryPending = options.canary
            var stopReason: String?
            while true {
                while running < limit, let job = queue.first, stopReason == nil {
                    if cancellation.stopsScheduling {
                        stopReason = "not started: the run was interrupted (Ctrl-C)."
                        break
                    }
                    queue = queue.dropFirst()
                    running += 1
                    group.addTask { (job.0, await job.1()) }
                }
                guard running > 0, let (name, outcome) = await group.next() else { break }
                running -= 1
                outcomes[name] = outcome
                try? record(outcome, cluster: name, journal: journal, runID: runID, events: events)
                if outcome.isFailure { failures += 1 }
                if let max = options.maxFailures, failures >= max, stopReason == nil {
                    stopReason = "not started: \(failures) cluster(s) failed (--max-failures \(max))."
                }
                if canaryPending {
                    canaryPending = false
                    limit = options.parallel
                    if outcome.kind != .done && outcome.kind != .skipped, stopReason == nil {
                        stopReason = "not started: the canary cluster \(name) did not succeed."
                    }
                }
            }
            for (name, _) in queue {
                let o = ClusterOutcome(.notStarted, reason: "cluster \(name): " + (stopReason ?? "not started."))
                outcomes[name] = o
                try? record(o, cluster: name, journal: journal, runID: runID, events: events)
            }
            return outcomes
        }
    }

    private func record(_ outcome: ClusterOutcome, cluster: String, journal: any JournalWriter, runID: String,
                        events: any RolloutEventSink) throws {
        var e = JournalEntry(kind: .outcome, cluster: cluster, message: outcome.reason, time: now())
        e.outcome = outcome
        events.receive(RolloutEvent(kind: .clusterFinished, runID: runID, cluster: cluster,
                                    message: outcome.reason ?? "cluster \(cluster): \(outcome.kind.rawValue).", outcome: outcome, time: now()))
        store.log(runID, "cluster \(cluster): \(outcome.kind.rawValue) \(outcome.reason ?? "")")
        try journal.append(e)
    }

    private func finish(runID: String, command: String, started: Date, order: [String], outcomes: [String: ClusterOutcome],
                        targets: (String) -> String?, cancelled: Bool, events: any RolloutEventSink) throws -> RunReport {
        let clusters = order.map { name in
            let o = outcomes[name] ?? ClusterOutcome(.notStarted)
            // A rollback that was asked for and completed is a success.
            let requested = command == "rollback" && o.kind == .rolledBack
            return RunReport.ClusterReport(name: name, outcome: o, exitCode: requested ? 0 : o.exitCode, targetFingerprint: targets(name))
        }
        // Ctrl-C makes the run "interrupted" (130) only when it left work undone:
        // a cluster it kept from starting, or one stopped mid-way for resume.
        let leftUndone = cancelled && clusters.contains { [.notStarted, .interrupted].contains($0.outcome.kind) }
        let code = ExitStatus.worst(clusters.map(\.exitCode) + (leftUndone ? [ExitStatus.interrupted.rawValue] : []))
        let report = RunReport(runID: runID, command: command, started: started, finished: now(), clusters: clusters, exitCode: code)
        try store.writeReport(report)
        store.log(runID, "run \(runID) finished: exit \(code)")
        events.receive(RolloutEvent(kind: .runFinished, runID: runID, message: "run \(runID) finished with exit code \(code).",
                                    report: report, time: now()))
        return report
    }

    private func openJournal(_ runID: String) throws -> any JournalWriter {
        let file = try FileJournal(path: store.journalPath(runID))
        return journalDecorator?(file) ?? file
    }

    private func context(runID: String, cluster: Cluster, hosts: [(any RemoteHost)?], facts: [NodeFacts?],
                         certificate: CertificateToInstall?, chainFingerprints: [String], secrets: RolloutSecrets,
                         options: RolloutOptions, journal: any JournalWriter, events: any RolloutEventSink,
                         cancellation: RolloutCancellation) -> DriverContext {
        DriverContext(runID: runID, cluster: cluster, hosts: hosts, facts: facts, backups: [:], otcWritten: [:], confStaged: [:],
                      certificate: certificate, chainFingerprints: chainFingerprints, secrets: secrets, options: options,
                      controller: controller, probe: probe, hook: hook, journal: journal, events: events,
                      cancellation: cancellation, logger: logger, now: now, clock: clock)
    }
}
