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
    var now: @Sendable () -> Date
}

/// A step failed for a reason worth a sentence.
struct StepError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The journal could not be written: the run stops at once (resumable).
struct JournalUnavailable: Error {}

/// Performs a `ClusterRollout`'s actions against the nodes, journaling before
/// and after each remote step and emitting events.
struct ClusterDriver: Sendable {
    var context: DriverContext

    static let stagedSuffix = ".certroll-new"
    static let restoreSuffix = ".certroll-restore"

    /// Runs the machine to its end.
    func run(mode: ClusterRollout.Mode) async -> ClusterOutcome {
        var state = MutableState(backups: context.backups, otcWritten: context.otcWritten, confStaged: context.confStaged)
        var machine = ClusterRollout(nodeCount: context.cluster.nodes.count, mode: mode)
        var action = machine.begin()
        while true {
            let step: Step
            let index: Int?
            switch action {
            case .finish(let ending):
                return outcome(ending, state: state)
            case .node(let s, let i):
                (step, index) = (s, i)
            case .cluster(let s):
                (step, index) = (s, nil)
            }
            if context.cancellation.aborts {
                try? journal(step, index, .notRun, message: "stopped on request before \(step.rawValue); `certroll resume \(context.runID)` continues")
                action = machine.interrupted()
                continue
            }
            do {
                try journal(step, index, .begin)
                var entry = try await perform(step, index, &state)
                entry.message = entry.message ?? "\(subject(index)): \(step.rawValue) done."
                try journal(step, index, .end, entry: entry)
                action = event(&machine, step, index)
            } catch is JournalUnavailable {
                action = machine.interrupted()
            } catch {
                let reason = "\(error)"
                if [.endpoints, .afterSuccess, .discard, .unlock].contains(step) { state.warnings.append(reason) }
                do {
                    try journal(step, index, .failed, message: reason)
                } catch {
                    action = machine.interrupted()
                    continue
                }
                action = machine.failed(.init(step: step, node: index, reason: reason))
            }
        }
    }

    /// Driver-side memory of what happened, beyond the machine's state.
    struct MutableState {
        var backups: [Int: [BackupFile]]
        var otcWritten: [Int: Bool]
        var confStaged: [Int: Bool]
        var warnings: [String] = []
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

    // MARK: steps

    private func perform(_ step: Step, _ i: Int?, _ state: inout MutableState) async throws -> JournalEntry {
        var entry = JournalEntry(kind: .step)
        guard let i else {
            switch step {
            case .endpoints: entry.message = try await checkEndpoints(&state)
            case .afterSuccess: entry.message = try await runHook()
            default: preconditionFailure("\(step) is a node step")
            }
            return entry
        }
        let node = context.cluster.nodes[i]
        guard let host = context.hosts[i] else {
            throw StepError("node \(node.host): unreachable, so \(step.rawValue) could not run.")
        }
        let x = node.xsoar
        switch step {
        case .lock:
            entry.message = try await takeLock(host, node)
        case .stage:
            let staged = try await stage(host, node)
            state.confStaged[i] = staged.conf
            state.otcWritten[i] = staged.otc
            entry.confStaged = staged.conf
            entry.otcWritten = staged.otc
        case .backup:
            let files = try await backUp(host, node)
            state.backups[i] = files
            entry.backups = files
        case .stop, .rollbackStop:
            try await stop(host, node)
        case .swap:
            try await host.rename(x.certPath + Self.stagedSuffix, to: x.certPath)
            try await host.rename(x.keyPath + Self.stagedSuffix, to: x.keyPath)
            if state.confStaged[i] == true { try await replaceConf(host, x) }
            if state.otcWritten[i] == true { try await host.rename(x.otcPath + Self.stagedSuffix, to: x.otcPath) }
            entry.otcWritten = state.otcWritten[i] ?? false
        case .start:
            try await startAndWait(host, node, serving: context.chainFingerprints.first)
        case .verify:
            try await verify(host, node, otc: state.otcWritten[i] == true)
        case .unlock:
            try await releaseLock(host, node, &state)
        case .discard:
            for p in [x.certPath, x.keyPath, x.confPath, x.otcPath] {
                try await host.remove(p + Self.stagedSuffix)
                try await host.remove(p + Self.restoreSuffix)
            }
        case .restore:
            entry.otcWritten = try await restore(host, node, index: i, state: state)
        case .rollbackStart:
            let facts = context.facts[i]
            try await startAndWait(host, node, serving: facts?.diskFingerprint ?? facts?.servedFingerprint)
        case .endpoints, .afterSuccess, .preflight:
            preconditionFailure("\(step) is not a node step")
        }
        return entry
    }

    private func takeLock(_ host: any RemoteHost, _ node: ClusterNode) async throws -> String {
        let commands = NodeCommands(node.xsoar)
        let record = LockRecord(runID: context.runID, controller: context.controller.host, user: context.controller.user,
                                started: ISO8601DateFormatter().string(from: context.now()))
        for attempt in 0..<2 {
            if try await run(host, commands.takeLock(record)).succeeded {
                return "node \(node.host): lock taken for run \(context.runID)."
            }
            let holder = try await host.stat(commands.lockPath) == nil ? nil : LockRecord(lockFile: try await host.readFile(commands.lockPath))
            if holder?.runID == context.runID {
                return "node \(node.host): this run already holds the lock."
            }
            if attempt == 0, let holder, holder.runID == context.options.breakLock {
                try await host.remove(commands.lockPath)
                emit(.warning, node: node.host, step: .lock, "node \(node.host): lock of \(holder.holderDescription) broken (--break-lock).")
                continue
            }
            let who = holder?.holderDescription ?? "a lock file certroll cannot read"
            throw StepError("node \(node.host): locked by \(who); wait for it, `certroll resume \(holder?.runID ?? "RUN_ID")` it, or if that controller died use --break-lock \(holder?.runID ?? "RUN_ID").")
        }
        throw StepError("node \(node.host): the lock could not be taken after breaking the old one; try again.")
    }

    private func releaseLock(_ host: any RemoteHost, _ node: ClusterNode, _ state: inout MutableState) async throws {
        let path = NodeCommands(node.xsoar).lockPath
        guard try await host.stat(path) != nil else { return }
        let holder = LockRecord(lockFile: try await host.readFile(path))
        guard holder?.runID == context.runID else {
            state.warnings.append("node \(node.host): the lock is now held by \(holder?.holderDescription ?? "an unreadable lock"); left in place.")
            return
        }
        try await host.remove(path)
    }

    private func stage(_ host: any RemoteHost, _ node: ClusterNode) async throws -> (conf: Bool, otc: Bool) {
        guard let cert = context.certificate else { preconditionFailure("staging needs the certificate") }
        let x = node.xsoar
        func put(_ path: String, _ data: Data, mode: UInt32, owner: String, group: String) async throws {
            let tmp = path + Self.stagedSuffix
            try await host.writeFile(tmp, contents: data, mode: mode, owner: owner, group: group)
            let remote = CommandOutput.sha256(try await run(host, NodeCommands.sha256(tmp)))
            guard remote == SHA256.hex(data) else {
                throw StepError("node \(node.host): \(tmp) does not match what was sent (SHA-256 differs); check the disk and try again.")
            }
        }
        try await put(x.certPath, cert.chainPEM, mode: 0o644, owner: x.owner, group: x.group)
        try await put(x.keyPath, cert.keyPEM, mode: 0o600, owner: x.owner, group: x.group)
        var conf = false
        if let st = try await host.stat(x.confPath) {
            let current = try await host.readFile(x.confPath)
            let edited: Data?
            do {
                edited = try DemistoConf.pointing(current, certPath: x.certPath, keyPath: x.keyPath)
            } catch {
                throw StepError("node \(node.host): \(x.confPath) \(error.reason); fix it and run again.")
            }
            if let edited {
                try await put(x.confPath, edited, mode: st.mode, owner: st.owner, group: st.group)
                conf = true
            }
        }
        var otc = false
        if let pass = cert.keyPassphrase {
            try await put(x.otcPath, Data(OTCFile.content(keyPassphrase: pass).bytes), mode: 0o600,
                          owner: x.owner, group: x.group)
            otc = true
        }
        return (conf, otc)
    }

    private func backUp(_ host: any RemoteHost, _ node: ClusterNode) async throws -> [BackupFile] {
        let x = node.xsoar
        let dir = NodeCommands(x).backupDirectory(runID: context.runID)
        try await host.makeDirectory(dir, mode: 0o700)
        var files: [BackupFile] = []
        for (role, path) in [("cert", x.certPath), ("key", x.keyPath), ("conf", x.confPath)] {
            guard let st = try await host.stat(path) else {
                files.append(BackupFile(role: role, path: path))
                continue
            }
            let target = dir + "/" + role + "-" + (path as NSString).lastPathComponent
            let copied = try await run(host, NodeCommands.copyPreserving(path, to: target))
            guard copied.succeeded else {
                throw StepError("node \(node.host): could not copy \(path) to \(target) (\(copied.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
            }
            let sums = CommandOutput.sha256s(try await run(host, NodeCommands.sha256([path, target])), count: 2)
            let (original, saved) = (sums[0], sums[1])
            guard let original, original == saved else {
                throw StepError("node \(node.host): the backup \(target) differs from \(path); check the disk under \(x.workDir).")
            }
            files.append(BackupFile(role: role, path: path, backupPath: target, sha256: original,
                                    mode: st.mode, owner: st.owner, group: st.group))
        }
        return files
    }

    private func stop(_ host: any RemoteHost, _ node: ClusterNode) async throws {
        let commands = NodeCommands(node.xsoar)
        let r = try await host.run(commands.stop, stdin: nil, timeout: node.xsoar.startTimeout)
        guard r.succeeded else {
            throw StepError("node \(node.host): `\(commands.stop)` failed (exit \(r.exitStatus)): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)).")
        }
        let deadline = ContinuousClock.now + node.xsoar.startTimeout
        while try await run(host, commands.status).succeeded {
            guard ContinuousClock.now < deadline else {
                throw StepError("node \(node.host): still running \(DurationText.format(node.xsoar.startTimeout)) after `\(commands.stop)`.")
            }
            try await Task.sleep(for: context.options.pollInterval)
        }
    }

    private func startAndWait(_ host: any RemoteHost, _ node: ClusterNode, serving fingerprint: String?) async throws {
        let x = node.xsoar
        let commands = NodeCommands(x)
        let r = try await host.run(commands.start, stdin: nil, timeout: x.startTimeout)
        guard r.succeeded else {
            throw StepError("node \(node.host): `\(commands.start)` failed (exit \(r.exitStatus)): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)).")
        }
        let deadline = ContinuousClock.now + x.startTimeout
        var last = "nothing answered"
        while true {
            if let fingerprint {
                do {
                    let served = try await context.probe.probe(host: node.ssh.hostName, port: x.httpsPort, serverName: node.host,
                                                               timeout: context.options.probeTimeout)
                    if served.leafFingerprint == fingerprint { return }
                    last = "it serves \(served.leafFingerprint.prefix(16))…"
                } catch {
                    last = "\(error)"
                }
            } else if try await run(host, commands.status).succeeded {
                return
            }
            guard ContinuousClock.now < deadline else {
                throw StepError("node \(node.host): not serving \(fingerprint.map { "certificate \($0.prefix(16))…" } ?? "") on port \(x.httpsPort) \(DurationText.format(x.startTimeout)) after start (\(last)).")
            }
            try await Task.sleep(for: context.options.pollInterval)
        }
    }

    private func verify(_ host: any RemoteHost, _ node: ClusterNode, otc: Bool) async throws {
        let x = node.xsoar
        let served = try await context.probe.probe(host: node.ssh.hostName, port: x.httpsPort, serverName: node.host,
                                                   timeout: context.options.probeTimeout)
        guard served.leafFingerprint == context.chainFingerprints.first else {
            throw StepError("node \(node.host): serves \(served.leafFingerprint), not the new certificate.")
        }
        let chain = served.certificatesDER.map { SHA256.hex($0) }
        guard chain == context.chainFingerprints else {
            throw StepError("node \(node.host): serves \(chain.count) certificate(s), not the full chain of \(context.chainFingerprints.count) in cert.pem.")
        }
        if otc, try await host.stat(x.otcPath) != nil {
            throw StepError("node \(node.host): \(x.otcPath) is still there, so XSOAR did not read the key passphrase from it.")
        }
        guard try await run(host, NodeCommands(x).status).succeeded else {
            throw StepError("node \(node.host): `\(x.statusCommand)` says the service is not active.")
        }
    }

    private func restore(_ host: any RemoteHost, _ node: ClusterNode, index: Int, state: MutableState) async throws -> Bool {
        let x = node.xsoar
        guard let files = state.backups[index] else {
            throw StepError("node \(node.host): no backup of run \(context.runID) is recorded, so there is nothing to restore.")
        }
        for f in files {
            guard let backup = f.backupPath else {
                try await host.remove(f.path)
                continue
            }
            // Still (or again) the backed-up file: nothing to restore. Rewriting an
            // unchanged conf on a mount point would be a non-atomic in-place write.
            if try await matchesBackup(host, f) { continue }
            let tmp = f.path + Self.restoreSuffix
            let copied = try await run(host, NodeCommands.copyPreserving(backup, to: tmp))
            guard copied.succeeded else {
                throw StepError("node \(node.host): could not copy \(backup) back (\(copied.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
            }
            if f.role == "conf" {
                try await replaceConf(host, x, from: tmp)
            } else {
                try await host.rename(tmp, to: f.path)
            }
            let now = CommandOutput.sha256(try await run(host, NodeCommands.sha256(f.path)))
            guard now == f.sha256 else {
                throw StepError("node \(node.host): \(f.path) does not match its backup after the restore; copy \(backup) by hand.")
            }
        }
        for p in [x.certPath, x.keyPath, x.confPath, x.otcPath] { try await host.remove(p + Self.stagedSuffix) }
        try await host.remove(x.otcPath)
        guard context.facts[index]?.currentKeyEncrypted == true else { return false }
        guard let pass = context.secrets.currentKeyPassphrase else {
            throw StepError("node \(node.host): its old key is encrypted and no current key passphrase was given, so it cannot start on its own.")
        }
        let tmp = x.otcPath + Self.stagedSuffix
        try await host.writeFile(tmp, contents: Data(OTCFile.content(keyPassphrase: pass).bytes), mode: 0o600, owner: x.owner, group: x.group)
        try await host.rename(tmp, to: x.otcPath)
        return true
    }

    /// The live file has the backed-up bytes, mode, owner and group.
    private func matchesBackup(_ host: any RemoteHost, _ f: BackupFile) async throws -> Bool {
        guard let sha = f.sha256, let info = try await host.stat(f.path),
              f.mode.map({ $0 == info.mode }) ?? true, f.owner.map({ $0 == info.owner }) ?? true,
              f.group.map({ $0 == info.group }) ?? true else { return false }
        return CommandOutput.sha256(try await run(host, NodeCommands.sha256(f.path))) == sha
    }

    /// Atomic rename; where the conf is a mount point (EBUSY) rewrite it in place.
    private func replaceConf(_ host: any RemoteHost, _ x: XSOARSettings, from: String? = nil) async throws {
        let tmp = from ?? x.confPath + Self.stagedSuffix
        do {
            try await host.rename(tmp, to: x.confPath)
        } catch {
            let r = try await run(host, NodeCommands.rewriteInPlace(tmp, to: x.confPath))
            guard r.succeeded else {
                throw StepError("\(x.confPath) could not be replaced (\(error); in place: \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
            }
        }
    }

    private func checkEndpoints(_ state: inout MutableState) async throws -> String {
        var notes: [String] = []
        for ep in context.cluster.endpoints {
            do {
                let served = try await context.probe.probe(host: ep.host, port: ep.port, serverName: ep.host, timeout: context.options.probeTimeout)
                if served.leafFingerprint == context.chainFingerprints.first {
                    notes.append("endpoint \(ep) serves the new certificate.")
                } else {
                    let w = "endpoint \(ep) still serves another certificate (\(served.leafFingerprint.prefix(16))…); a load balancer there needs the new one re-imported."
                    state.warnings.append(w)
                    emit(.warning, node: nil, step: .endpoints, w)
                    notes.append(w)
                }
            } catch {
                let w = "endpoint \(ep) could not be checked (\(error))."
                state.warnings.append(w)
                emit(.warning, node: nil, step: .endpoints, w)
                notes.append(w)
            }
        }
        return notes.isEmpty ? "cluster \(context.cluster.name): no endpoints to check." : notes.joined(separator: " ")
    }

    private func runHook() async throws -> String {
        guard let command = context.cluster.afterSuccess else { return "cluster \(context.cluster.name): no after_success command." }
        guard let hook = context.hook else {
            throw StepError("cluster \(context.cluster.name): after_success is set but no runner was supplied; run `\(command)` by hand.")
        }
        do {
            try await hook.run(command: command, cluster: context.cluster)
        } catch {
            throw StepError("cluster \(context.cluster.name): after_success `\(command)` failed (\(error)); the nodes are fine, run it again by hand.")
        }
        return "cluster \(context.cluster.name): after_success ran."
    }

    // MARK: outcome, journal, events

    private func outcome(_ ending: ClusterRollout.Ending, state: MutableState) -> ClusterOutcome {
        let name = "cluster \(context.cluster.name)"
        switch ending {
        case .done:
            return ClusterOutcome(.done, warnings: state.warnings)
        case .refused(let f):
            return ClusterOutcome(.preflightFailed, reason: f.reason, warnings: state.warnings)
        case .abandoned(let f):
            return ClusterOutcome(.rolledBack, reason: "\(f.reason) No node was stopped; staged files were removed.", warnings: state.warnings)
        case .rolledBack(let f):
            return ClusterOutcome(.rolledBack, reason: "\(f.reason) \(name) was rolled back: every node serves its old certificate again.",
                                  warnings: state.warnings)
        case .needsPerson(let f, let stranded):
            var steps: [String: [String]] = [:]
            for (i, left) in stranded {
                steps[context.cluster.nodes[i].host] = manualSteps(i, left, state: state)
            }
            let who = stranded.keys.sorted().map { context.cluster.nodes[$0].host }.joined(separator: ", ")
            return ClusterOutcome(.needsPerson,
                                  reason: "\(f.reason) The rollback of \(name) did not complete on \(who): the report lists the steps left; `certroll resume \(context.runID)` retries once the node is reachable.",
                                  manualSteps: steps, warnings: state.warnings)
        case .interrupted:
            return ClusterOutcome(.interrupted, reason: "\(name) was interrupted; `certroll resume \(context.runID)` finishes or rolls it back.",
                                  warnings: state.warnings)
        }
    }

    /// The exact commands a person runs on node `i` for the steps left.
    func manualSteps(_ i: Int, _ left: [Step], state: MutableState) -> [String] {
        let node = context.cluster.nodes[i]
        let x = node.xsoar
        let q = ShellQuote.quote
        var out: [String] = []
        for step in left {
            switch step {
            case .rollbackStop:
                out.append("stop the service: \(x.stopCommand)")
            case .restore:
                for f in state.backups[i] ?? [] {
                    if let b = f.backupPath {
                        out.append("restore \(f.path): cp -p \(q(b)) \(q(f.path))")
                    } else {
                        out.append("remove \(f.path), which did not exist before: rm -f \(q(f.path))")
                    }
                }
                if state.backups[i] == nil {
                    out.append("restore cert, key and conf from \(NodeCommands(x).backupDirectory(runID: context.runID)) (cp -p)")
                }
                out.append("remove staged files: rm -f \([x.certPath, x.keyPath, x.confPath, x.otcPath].map { q($0 + Self.stagedSuffix) }.joined(separator: " "))")
                out.append("remove the new OTC: rm -f \(q(x.otcPath))")
                if context.facts[i]?.currentKeyEncrypted == true {
                    out.append("the old key is encrypted: write {\"keypass\":\"<current key passphrase>\"} to \(x.otcPath), owner \(x.owner):\(x.group), mode 0600")
                }
            case .rollbackStart:
                out.append((i == 0 ? "start the service: " : "once the primary serves again, start the service: ") + x.startCommand)
                if let fp = context.facts[i]?.diskFingerprint {
                    out.append("check it serves the old certificate (SHA-256 \(fp)) on port \(x.httpsPort)")
                }
            case .unlock:
                out.append("release the lock: rm -f \(q(NodeCommands(x).lockPath)) (or `certroll resume \(context.runID)`)")
            case .preflight, .lock, .stage, .backup, .stop, .swap, .start, .verify, .endpoints, .afterSuccess, .discard:
                out.append("\(step.rawValue) (see docs/rollout.md)")
            }
        }
        return out
    }

    private func subject(_ i: Int?) -> String {
        i.map { "node \(context.cluster.nodes[$0].host)" } ?? "cluster \(context.cluster.name)"
    }

    private func journal(_ step: Step, _ i: Int?, _ phase: JournalEntry.Phase, message: String? = nil, entry: JournalEntry? = nil) throws {
        var e = entry ?? JournalEntry(kind: .step)
        e.time = context.now()
        e.cluster = context.cluster.name
        e.node = i.map { context.cluster.nodes[$0].host }
        e.step = step
        e.phase = phase
        if let message { e.message = message }
        if phase == .begin, e.message == nil { e.message = "\(subject(i)): \(step.rawValue)…" }
        do {
            try context.journal.append(e)
        } catch {
            context.logger.error("journal write failed; stopping", metadata: [LogKey.runID: "\(context.runID)"])
            throw JournalUnavailable()
        }
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

    private func emit(_ kind: RolloutEvent.Kind, node: String?, step: Step?, _ message: String) {
        context.events.receive(RolloutEvent(kind: kind, runID: context.runID, cluster: context.cluster.name, node: node,
                                            step: step, message: message, time: context.now()))
    }

    private func run(_ host: any RemoteHost, _ command: RemoteCommand) async throws -> CommandResult {
        try await host.run(command, stdin: nil, timeout: context.options.commandTimeout)
    }
}

/// Metadata keys for swift-log; values never hold a secret.
public enum LogKey {
    public static let runID = "certroll.run"
    public static let cluster = "certroll.cluster"
    public static let node = "certroll.node"
    public static let step = "certroll.step"
}
