import CertrollCore
import Foundation

/// One preflight check's verdict on a node (STYLE #10).
public struct PreflightFinding: Sendable, Codable, Equatable {
    public var check: String
    public var verdict: RolloutEvent.Verdict
    /// A sentence naming the node and, for a failure, the fix.
    public var message: String
}

/// Everything preflight found on one node.
public struct NodePreflight: Sendable, Equatable {
    public var node: String
    public var findings: [PreflightFinding]
    /// nil when the node could not be examined at all.
    public var facts: NodeFacts?

    public var passed: Bool { facts != nil && !findings.contains { $0.verdict == .fail } }
    public var failures: [PreflightFinding] { findings.filter { $0.verdict == .fail } }
}

/// SPEC rollout step 1 for one node: read-only checks before anything stops.
struct Preflight {
    var node: ClusterNode
    var host: any RemoteHost
    var certificate: CertificateToInstall
    var options: RolloutOptions
    var secrets: RolloutSecrets
    var keyInspector: any KeyInspector
    var certificateDates: (any CertificateDates)?
    var probe: any TLSProbe
    /// The run doing the check: its own lock is not "held by another run".
    var runID: String?
    var now: @Sendable () -> Date

    private var commands: NodeCommands { NodeCommands(node.xsoar) }
    private var x: XSOARSettings { node.xsoar }

    func run() async -> NodePreflight {
        var findings: [PreflightFinding] = []
        func pass(_ check: String, _ message: String) { findings.append(.init(check: check, verdict: .pass, message: message)) }
        func warn(_ check: String, _ message: String) { findings.append(.init(check: check, verdict: .warn, message: message)) }
        func fail(_ check: String, _ message: String) { findings.append(.init(check: check, verdict: .fail, message: message)) }
        let name = "node \(node.host)"

        // Privilege first: without it nothing else can be read.
        do {
            let r = try await host.run(NodeCommands.effectiveUser, stdin: nil, timeout: options.commandTimeout)
            guard r.succeeded, r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0" else {
                let how = node.ssh.become == .sudo ? "sudo was denied (\(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)))"
                                                   : "user \(node.ssh.user) is not root"
                fail("privilege", "\(name): \(how); log in as root or set 'become: sudo' with a working sudo rule.")
                return NodePreflight(node: node.host, findings: findings, facts: nil)
            }
            pass("privilege", "\(name): commands run as root.")
        } catch {
            fail("connect", sentence(error, name, fix: "check the host, credentials and host key."))
            return NodePreflight(node: node.host, findings: findings, facts: nil)
        }

        do {
            // One round trip for every other fact (nil when the node's shell did not
            // answer it fully: then each is asked on its own, as before).
            var known: PreflightFacts?
            if commands.preflightFactsFitInLines {
                known = CommandOutput.preflightFacts(
                    try await host.run(commands.preflightFacts, stdin: nil, timeout: options.commandTimeout))
            }
            let answeredAt = now()
            if try await succeeds(commands.serviceExists, unless: known?.serviceExists) {
                pass("service", "\(name): service \(x.service) exists.")
            } else {
                fail("service", "\(name): no service named \(x.service); set xsoar.service in the inventory.")
            }
            for (kind, value, cmd, fact) in [("owner", x.owner, NodeCommands.userExists(x.owner), known?.ownerExists),
                                             ("group", x.group, NodeCommands.groupExists(x.group), known?.groupExists)] {
                if try await succeeds(cmd, unless: fact) {
                    pass(kind, "\(name): \(kind) \(value) exists.")
                } else {
                    fail(kind, "\(name): \(kind) \(value) does not exist; create it or set xsoar.\(kind) in the inventory.")
                }
            }
            for dir in commands.preflightFolders {
                if let known {
                    if known.directories.contains(dir) { continue }
                } else if let st = try await host.stat(dir), st.isDirectory {
                    continue
                }
                fail("paths", "\(name): folder \(dir) does not exist; create it or fix the paths in the inventory.")
            }

            // Current files.
            let certData = try await readIfPresent(x.certPath, known)
            let keyData = try await readIfPresent(x.keyPath, known)
            let confData = try await readIfPresent(x.confPath, known)
            var diskFingerprint: String?
            var diskNotAfter: Date?
            if let certData {
                let ders = PEM.certificateDERs(in: certData)
                diskFingerprint = ders.first.map { SHA256.hex($0) }
                diskNotAfter = ders.first.flatMap { certificateDates?.validity(der: $0)?.notAfter }
                if diskFingerprint == nil { warn("files", "\(name): \(x.certPath) holds no certificate.") }
            } else {
                warn("files", "\(name): \(x.certPath) does not exist yet; a rollback will remove the new one.")
            }
            var keyEncrypted = false
            var keyOpens = false
            if let keyData {
                switch keyInspector.inspect(pem: keyData, passphrase: secrets.currentKeyPassphrase) {
                case .unencrypted:
                    pass("current-key", "\(name): the current key is not encrypted; a rollback needs no OTC.")
                case .encryptedOpened:
                    keyEncrypted = true
                    keyOpens = true
                    pass("current-key", "\(name): the current key is encrypted and the current passphrase opens it.")
                case .encryptedLocked:
                    keyEncrypted = true
                    let msg = "\(name): the current key \(x.keyPath) is encrypted and no current passphrase that opens it was given, so a rollback could not start the server on it"
                    if options.acceptManualRollback {
                        warn("current-key", msg + "; --accept-manual-rollback: a rollback will need a person to write its OTC.")
                    } else {
                        fail("current-key", msg + "; give --current-key-passphrase-file, or --accept-manual-rollback.")
                    }
                case .unreadable(let why):
                    warn("current-key", "\(name): the current key \(x.keyPath) could not be read (\(why)).")
                }
            }
            var confNeedsEdit = x.certPath != XSOARSettings.defaultCertPath || x.keyPath != XSOARSettings.defaultKeyPath
            if let confData {
                do {
                    confNeedsEdit = try DemistoConf.pointing(confData, certPath: x.certPath, keyPath: x.keyPath) != nil
                    pass("conf", "\(name): \(x.confPath) parses as JSON.")
                } catch {
                    fail("conf", "\(name): \(x.confPath) cannot be used: \(error.reason); fix the file before the rollout.")
                }
            } else if confNeedsEdit {
                fail("conf", "\(name): \(x.confPath) does not exist, but custom cert/key paths must be written into it; create it or fix xsoar.conf_path.")
            }

            // Free space where new files land and backups go: work_dir itself once
            // it exists (it may be a mount of its own), else the folder it will be made in.
            let need = UInt64(certificate.chainPEM.count + certificate.keyPEM.count + (confData?.count ?? 0)) * 2 + options.freeSpaceMargin
            let workDirExists: Bool
            if let known {
                workDirExists = known.workDirExists
            } else {
                workDirExists = try await host.stat(x.workDir)?.isDirectory == true
            }
            let workDir = workDirExists ? x.workDir : parent(x.workDir)
            for dir in Set([parent(x.certPath), workDir]).sorted() {
                // df's own answer (and its complaint) when the combined one had none.
                var r = CommandResult(exitStatus: 0)
                if known?.freeBytes[dir] == nil {
                    r = try await host.run(NodeCommands.freeSpace(dir), stdin: nil, timeout: options.commandTimeout)
                }
                guard let free = known?.freeBytes[dir] ?? CommandOutput.freeBytes(r) else {
                    fail("free-space", "\(name): could not read free space of \(dir) (df: \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))).")
                    continue
                }
                if free < need {
                    fail("free-space", "\(name): only \(free) bytes free in \(dir), \(need) needed; free some space.")
                }
            }

            // Stray certificate-like files confuse XSOAR (vendor troubleshooting list).
            let listed: [String]
            if let known {
                listed = known.strayFiles
            } else {
                listed = CommandOutput.lines(
                    try await host.run(NodeCommands.certificateLikeFiles(in: parent(x.certPath)), stdin: nil, timeout: options.commandTimeout))
            }
            let stray = listed.filter { $0 != x.certPath && $0 != x.keyPath }
            if !stray.isEmpty {
                warn("stray-files", "\(name): other certificate or key files in \(parent(x.certPath)) may confuse XSOAR: \(stray.joined(separator: ", ")); move them elsewhere.")
            }

            // Clock.
            var skew: Int?
            let clock: (Int, Date)?
            if let known {
                clock = known.clock.map { ($0, answeredAt) }
            } else {
                clock = CommandOutput.integer(try await host.run(NodeCommands.clock, stdin: nil, timeout: options.commandTimeout)).map { ($0, now()) }
            }
            if case let (nodeNow, controllerNow)? = clock {
                let s = nodeNow - Int(controllerNow.timeIntervalSince1970)
                skew = s
                if abs(s) > Int(options.clockSkewWarning.components.seconds) {
                    warn("clock", "\(name): its clock is \(s) s off the controller's; fix NTP on the node.")
                }
                let nodeDate = Date(timeIntervalSince1970: TimeInterval(nodeNow))
                if nodeDate < certificate.notBefore {
                    fail("clock", "\(name): by its clock (\(iso(nodeDate))) the new certificate is not valid until \(iso(certificate.notBefore)); fix the node's clock or wait.")
                }
            } else {
                warn("clock", "\(name): could not read its clock.")
            }

            // Lock.
            if let lockData = try await readIfPresent(commands.lockPath, known) {
                let holder = LockRecord(lockFile: lockData)
                if let holder, holder.runID == runID || holder.runID == options.breakLock {
                    pass("lock", "\(name): lock held by \(holder.holderDescription), which this run may take over.")
                } else {
                    let who = holder?.holderDescription ?? "an unreadable lock file"
                    fail("lock", "\(name): locked by \(who); wait for it, `certroll resume \(holder?.runID ?? "RUN_ID")` it, or if that controller died use --break-lock \(holder?.runID ?? "RUN_ID").")
                }
            } else {
                pass("lock", "\(name): not locked.")
            }

            // What it serves and whether it runs.
            var served: ServedChain?
            do {
                served = try await probe.probe(host: node.ssh.hostName, port: x.httpsPort, serverName: node.host, timeout: options.probeTimeout)
            } catch {
                warn("served", "\(name): nothing answered TLS on port \(x.httpsPort) (\(error)).")
            }
            let running = try await succeeds(commands.status)
            let facts = NodeFacts(
                node: node.host,
                servedFingerprint: served?.leafFingerprint,
                servedNotAfter: served?.certificatesDER.first.flatMap { certificateDates?.validity(der: $0)?.notAfter },
                diskFingerprint: diskFingerprint, diskNotAfter: diskNotAfter,
                certSHA256: certData.map { SHA256.hex($0) }, keySHA256: keyData.map { SHA256.hex($0) },
                currentKeyEncrypted: keyEncrypted, currentKeyOpens: keyOpens, confNeedsEdit: confNeedsEdit,
                strayFiles: stray, clockSkewSeconds: skew, serviceRunning: running,
                servedNotBefore: served?.certificatesDER.first.flatMap { certificateDates?.validity(der: $0)?.notBefore })
            return NodePreflight(node: node.host, findings: findings, facts: facts)
        } catch {
            fail("connect", sentence(error, name, fix: "check that the node is reachable."))
            return NodePreflight(node: node.host, findings: findings, facts: nil)
        }
    }

    /// An error of the node's transport already names the node and its own fix
    /// (`node NAME: reason (fix)`): said once, as it is. Anything else gets both.
    private func sentence(_ error: any Error, _ name: String, fix: String) -> String {
        let text = "\(error)"
        return text.hasPrefix(name + ":") ? text : "\(name): \(text); \(fix)"
    }

    private func succeeds(_ command: RemoteCommand) async throws -> Bool {
        try await host.run(command, stdin: nil, timeout: options.commandTimeout).succeeded
    }

    /// `known` when the combined facts answered it, else whether `command` succeeds.
    private func succeeds(_ command: RemoteCommand, unless known: Bool?) async throws -> Bool {
        if let known { return known }
        return try await succeeds(command)
    }

    /// The file's bytes, nil when it does not exist (as `known` says, or a stat).
    private func readIfPresent(_ path: String, _ known: PreflightFacts?) async throws -> Data? {
        if let known {
            guard known.files.contains(path) else { return nil }
        } else {
            guard try await host.stat(path) != nil else { return nil }
        }
        return try await host.readFile(path)
    }

    private func parent(_ path: String) -> String { (path as NSString).deletingLastPathComponent }
    private func iso(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }
}
