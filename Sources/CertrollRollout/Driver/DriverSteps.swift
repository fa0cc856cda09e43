import CertrollCore
import Foundation

/// The steps: each does one thing on one node (or the cluster) and throws a
/// `StepError` naming the node and the next action.
extension ClusterDriver {
    func perform(_ step: Step, _ i: Int?, _ state: inout MutableState) async throws -> JournalEntry {
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
            throw StepError(.unreachable, "node \(node.host): unreachable, so \(step.rawValue) could not run.")
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
            try await swap(host, node, otc: state.otcWritten[i] == true, conf: state.confStaged[i] == true)
            entry.otcWritten = state.otcWritten[i] ?? false
        case .start:
            try await startAndWait(host, node, serving: context.chainFingerprints.first)
        case .verify:
            try await verify(host, node, otc: state.otcWritten[i] == true)
        case .unlock:
            try await releaseLock(host, node, &state)
        case .discard:
            for p in NodeCommands(x).leftoverFiles { try await host.remove(p) }
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
            throw StepError(.locked, "node \(node.host): locked by \(who); wait for it, `certroll resume \(holder?.runID ?? "RUN_ID")` it, or if that controller died use --break-lock \(holder?.runID ?? "RUN_ID").")
        }
        throw StepError(.locked, "node \(node.host): the lock could not be taken after breaking the old one; try again.")
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
        var sent: [(path: String, sha256: String)] = []
        func put(_ path: String, _ data: Data, mode: UInt32, owner: String, group: String) async throws {
            let tmp = NodeCommands.staged(path)
            try await host.writeFile(tmp, contents: data, mode: mode, owner: owner, group: group)
            sent.append((tmp, SHA256.hex(data)))
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
                throw StepError(.confUnusable, "node \(node.host): \(x.confPath) \(error.reason); fix it and run again.")
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
        // Every staged file checked in one `sha256sum`, not one command per file.
        let remote = CommandOutput.sha256s(try await run(host, NodeCommands.sha256(sent.map(\.path))), count: sent.count)
        let differing = zip(sent, remote).filter { $0.0.sha256 != $0.1 }.map(\.0.path)
        guard differing.isEmpty else {
            throw StepError(.stagedMismatch, "node \(node.host): \(differing.joined(separator: ", ")) \(differing.count == 1 ? "does" : "do") not match what was sent (SHA-256 differs or unreadable); check the disk and try again.")
        }
        return (conf, otc)
    }

    private func backUp(_ host: any RemoteHost, _ node: ClusterNode) async throws -> [BackupFile] {
        let x = node.xsoar
        let commands = NodeCommands(x)
        let directory = commands.backupDirectory(runID: context.runID)
        try await host.makeDirectory(directory, mode: 0o700)
        var files: [BackupFile] = []
        for (role, path) in commands.backedUpFiles {
            guard let st = try await host.stat(path) else {
                files.append(BackupFile(role: role, path: path))
                continue
            }
            files.append(BackupFile(role: role, path: path, backupPath: commands.backupPath(role: role, of: path, runID: context.runID),
                                    mode: st.mode, owner: st.owner, group: st.group))
        }
        let copies = files.indices.filter { files[$0].backupPath != nil }
        guard !copies.isEmpty else { return files }
        // Every copy and the checksums of each original and its copy in one command.
        let copied = try await run(host, NodeCommands.backUp(copies.map { (files[$0].path, files[$0].backupPath!) }))
        guard copied.succeeded else {
            throw StepError(.copyFailed, "node \(node.host): could not copy \(copies.map { files[$0].path }.joined(separator: ", ")) to \(directory) (\(copied.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
        }
        let sums = CommandOutput.sha256s(copied, count: 2 * copies.count)
        for (n, i) in copies.enumerated() {
            guard let original = sums[2 * n], original == sums[2 * n + 1] else {
                throw StepError(.backupMismatch, "node \(node.host): the backup \(files[i].backupPath!) differs from \(files[i].path); check the disk under \(x.workDir).")
            }
            files[i].sha256 = original
        }
        return files
    }

    /// The staged cert, key (and OTC) renamed over the live files in one
    /// command; the conf on its own, since a mount point needs rewriting in place.
    private func swap(_ host: any RemoteHost, _ node: ClusterNode, otc: Bool, conf: Bool) async throws {
        let x = node.xsoar
        let moves = [x.certPath, x.keyPath] + (otc ? [x.otcPath] : [])
        let r = try await run(host, NodeCommands.moveIntoPlace(moves.map { (NodeCommands.staged($0), $0) }))
        guard r.succeeded else {
            throw StepError(.commandFailed, "node \(node.host): could not rename the staged files over \(moves.joined(separator: ", ")) (\(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
        }
        if conf { try await replaceConf(host, x) }
    }

    /// Stop, and the first status in the same command; then the status alone
    /// every poll interval until it says stopped (or the stop template's own
    /// `exit` kept the first one from running).
    private func stop(_ host: any RemoteHost, _ node: ClusterNode) async throws {
        let commands = NodeCommands(node.xsoar)
        let r = try await host.run(commands.stopThenStatus, stdin: nil, timeout: node.xsoar.startTimeout)
        guard r.succeeded else {
            throw StepError(.commandFailed, "node \(node.host): `\(commands.stop)` failed (exit \(r.exitStatus)): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)).")
        }
        if let status = CommandOutput.status(r), status != 0 { return }
        let deadline = context.clock.now + node.xsoar.startTimeout
        var delays = PollDelays(upTo: context.options.pollInterval)
        while try await run(host, commands.status).succeeded {
            guard context.clock.now < deadline else {
                throw StepError(.stillRunning, "node \(node.host): still running \(DurationText.format(node.xsoar.startTimeout)) after `\(commands.stop)`.")
            }
            try await context.clock.sleep(for: delays.take())
        }
    }

    private func startAndWait(_ host: any RemoteHost, _ node: ClusterNode, serving fingerprint: String?) async throws {
        let x = node.xsoar
        let commands = NodeCommands(x)
        let r = try await host.run(commands.start, stdin: nil, timeout: x.startTimeout)
        guard r.succeeded else {
            throw StepError(.commandFailed, "node \(node.host): `\(commands.start)` failed (exit \(r.exitStatus)): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)).")
        }
        let deadline = context.clock.now + x.startTimeout
        var delays = PollDelays(upTo: context.options.pollInterval)
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
            guard context.clock.now < deadline else {
                throw StepError(.notServing, "node \(node.host): not serving \(fingerprint.map { "certificate \($0.prefix(16))…" } ?? "") on port \(x.httpsPort) \(DurationText.format(x.startTimeout)) after start (\(last)).")
            }
            try await context.clock.sleep(for: delays.take())
        }
    }

    private func verify(_ host: any RemoteHost, _ node: ClusterNode, otc: Bool) async throws {
        let x = node.xsoar
        let served = try await context.probe.probe(host: node.ssh.hostName, port: x.httpsPort, serverName: node.host,
                                                   timeout: context.options.probeTimeout)
        guard served.leafFingerprint == context.chainFingerprints.first else {
            throw StepError(.verifyFailed, "node \(node.host): serves \(served.leafFingerprint), not the new certificate.")
        }
        let chain = served.certificatesDER.map { SHA256.hex($0) }
        guard chain == context.chainFingerprints else {
            throw StepError(.verifyFailed, "node \(node.host): serves \(chain.count) certificate(s), not the full chain of \(context.chainFingerprints.count) in cert.pem.")
        }
        // The OTC and the status in one round trip.
        let r = try await run(host, NodeCommands(x).otcThenStatus)
        if otc, CommandOutput.lines(r).contains("otc=present") {
            throw StepError(.verifyFailed, "node \(node.host): \(x.otcPath) is still there, so XSOAR did not read the key passphrase from it.")
        }
        guard let status = CommandOutput.status(r) else {
            throw StepError(.verifyFailed, "node \(node.host): could not ask `\(x.statusCommand)` whether the service is active (exit \(r.exitStatus): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
        }
        guard status == 0 else {
            throw StepError(.verifyFailed, "node \(node.host): `\(x.statusCommand)` says the service is not active.")
        }
    }

    private func restore(_ host: any RemoteHost, _ node: ClusterNode, index: Int, state: MutableState) async throws -> Bool {
        let x = node.xsoar
        guard let files = state.backups[index] else {
            throw StepError(.noBackup, "node \(node.host): no backup of run \(context.runID) is recorded, so there is nothing to restore.")
        }
        for f in files {
            guard let backup = f.backupPath else {
                try await host.remove(f.path)
                continue
            }
            // Still (or again) the backed-up file: nothing to restore. Rewriting an
            // unchanged conf on a mount point would be a non-atomic in-place write.
            if try await matchesBackup(host, f) { continue }
            let tmp = NodeCommands.restoring(f.path)
            let copied = try await run(host, NodeCommands.copyPreserving(backup, to: tmp))
            guard copied.succeeded else {
                throw StepError(.copyFailed, "node \(node.host): could not copy \(backup) back (\(copied.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
            }
            if f.role == "conf" {
                try await replaceConf(host, x, from: tmp)
            } else {
                try await host.rename(tmp, to: f.path)
            }
            let now = CommandOutput.sha256(try await run(host, NodeCommands.sha256(f.path)))
            guard now == f.sha256 else {
                throw StepError(.restoreMismatch, "node \(node.host): \(f.path) does not match its backup after the restore; copy \(backup) by hand.")
            }
        }
        for p in NodeCommands(x).stagedFiles { try await host.remove(p) }
        try await host.remove(x.otcPath)
        guard context.facts[index]?.currentKeyEncrypted == true else { return false }
        guard let pass = oldKeyPassphrase(index) else {
            throw StepError(.noPassphrase, "node \(node.host): its old key is encrypted and no current key passphrase was given, so it cannot start on its own.")
        }
        let tmp = NodeCommands.staged(x.otcPath)
        try await host.writeFile(tmp, contents: Data(OTCFile.content(keyPassphrase: pass).bytes), mode: 0o600, owner: x.owner, group: x.group)
        try await host.rename(tmp, to: x.otcPath)
        return true
    }

    /// The passphrase that opened node `i`'s old key at preflight, for the
    /// rollback's OTC. `resume` and `rollback` are not given the new key's
    /// passphrase: there it is the current-key one (a renewal keeps one).
    private func oldKeyPassphrase(_ i: Int) -> Secret? {
        switch context.facts[i]?.currentKeyOpenedWith {
        case .newKey?: context.certificate?.keyPassphrase ?? context.secrets.currentKeyPassphrase
        case .currentKey?, nil: context.secrets.currentKeyPassphrase
        }
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
        let tmp = from ?? NodeCommands.staged(x.confPath)
        do {
            try await host.rename(tmp, to: x.confPath)
        } catch {
            let r = try await run(host, NodeCommands.rewriteInPlace(tmp, to: x.confPath))
            guard r.succeeded else {
                throw StepError(.confUnusable, "\(x.confPath) could not be replaced (\(error); in place: \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
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
            throw StepError(.hookFailed, "cluster \(context.cluster.name): after_success is set but no runner was supplied; run `\(command)` by hand.")
        }
        do {
            try await hook.run(command: command, cluster: context.cluster)
        } catch {
            throw StepError(.hookFailed, "cluster \(context.cluster.name): after_success `\(command)` failed (\(error)); the nodes are fine, run it again by hand.")
        }
        return "cluster \(context.cluster.name): after_success ran."
    }
}

/// The waits between polls for a node to stop or serve: short at first (a
/// service often answers a moment after its command returns), doubling up to
/// the poll interval, so a quick node is not kept down a whole interval and a
/// slow one is not asked more often than the interval.
struct PollDelays {
    static let first = Duration.milliseconds(100)
    private var next: Duration
    private let cap: Duration

    init(upTo cap: Duration) {
        self.cap = cap
        next = min(cap, Self.first)
    }

    mutating func take() -> Duration {
        defer { next = min(cap, next * 2) }
        return next
    }
}
