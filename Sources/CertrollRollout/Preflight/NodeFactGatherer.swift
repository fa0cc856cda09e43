import CertrollCore
import Foundation

/// Everything preflight learns from one node, read once; the policies only look.
struct GatheredFacts: Sendable {
    var serviceExists: Bool
    var ownerExists: Bool
    var groupExists: Bool
    /// Those of `NodeCommands.preflightFolders` that are not folders, in order.
    var missingFolders: [String]
    /// The current cert, key and conf files; nil when absent.
    var certData: Data?
    var keyData: Data?
    var confData: Data?
    /// What the current key is; nil when there is no key file.
    var key: KeyInspection?
    /// Which passphrase opened the current key, when it is encrypted and one did.
    var keyOpenedWith: KeyPassphraseSource?
    /// Free space of each folder new files and backups land in.
    var freeSpace: [FreeSpace]
    /// Certificate-like files in the cert folder besides cert_path and key_path.
    var strayFiles: [String]
    /// The node's clock and the controller's when it answered; nil when unread.
    var clock: (node: Int, controller: Date)?
    /// The lock file's bytes; nil when the node is not locked.
    var lockData: Data?
    /// The chain served on https_port; nil with the reason when nothing answered.
    var served: ServedChain?
    var servedProblem: String?
    /// `notAfter` of the leaf on disk and of the served leaf, when readable.
    var diskNotAfter: Date?
    var servedNotAfter: Date?
    /// When the served leaf was issued (`renew` never goes back to an older one).
    var servedNotBefore: Date?

    /// One folder's free space; nil bytes with df's complaint when it did not answer.
    struct FreeSpace: Sendable {
        var folder: String
        var bytes: UInt64?
        var complaint: String
    }

    /// DER of each certificate in cert_path, leaf first.
    var diskChain: [Data] { certData.map { PEM.certificateDERs(in: $0) } ?? [] }
    var diskFingerprint: String? { diskChain.first.map { SHA256.hex($0) } }
}

/// Why preflight could not examine a node at all (connect or privilege).
struct NodeUnusable: Error {
    var check: PreflightCheck
    var message: String
}

/// Reads a node's facts: one combined command where the node's shell answers
/// it fully, else one command or SFTP call per fact. The policies never know
/// which way was taken.
struct NodeFactGatherer {
    var node: ClusterNode
    var host: any RemoteHost
    var certificate: CertificateToInstall
    var options: RolloutOptions
    var secrets: RolloutSecrets
    var keyInspector: any KeyInspector
    var certificateDates: (any CertificateDates)?
    var probe: any TLSProbe
    var now: @Sendable () -> Date

    private var commands: NodeCommands { NodeCommands(node.xsoar) }
    private var x: XSOARSettings { node.xsoar }
    private var name: String { "node \(node.host)" }

    /// Throws `NodeUnusable` when the node cannot be examined.
    func gather() async throws(NodeUnusable) -> GatheredFacts {
        // One round trip for privilege and every other fact (nil when the node's
        // shell did not answer it fully: then each is asked on its own).
        var known: PreflightFacts?
        do {
            if commands.preflightFactsFitInLines {
                known = CommandOutput.preflightFacts(try await run(commands.preflightFacts))
            }
        } catch {
            throw NodeUnusable(check: .connect, message: sentence(error, fix: "check the host, credentials and host key."))
        }
        if let uid = known?.effectiveUID {
            guard uid == "0" else {
                throw NodeUnusable(check: .privilege, message: "\(name): user \(node.ssh.user) is not root; log in as root or set 'become: sudo' with a working sudo rule.")
            }
        } else {
            known = nil
            try await checkPrivilege()
        }
        do {
            return try await facts(known)
        } catch {
            throw NodeUnusable(check: .connect, message: sentence(error, fix: "check that the node is reachable."))
        }
    }

    /// Privilege on its own, first: without it nothing else can be read.
    private func checkPrivilege() async throws(NodeUnusable) {
        do {
            let r = try await run(NodeCommands.effectiveUser)
            guard r.succeeded, r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0" else {
                let how = node.ssh.become == .sudo ? "sudo was denied (\(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)))"
                                                   : "user \(node.ssh.user) is not root"
                throw NodeUnusable(check: .privilege, message: "\(name): \(how); log in as root or set 'become: sudo' with a working sudo rule.")
            }
        } catch let error as NodeUnusable {
            throw error
        } catch {
            throw NodeUnusable(check: .connect, message: sentence(error, fix: "check the host, credentials and host key."))
        }
    }

    private func facts(_ known: PreflightFacts?) async throws -> GatheredFacts {
        let answeredAt = now()
        let serviceExists = try await succeeds(commands.serviceExists, unless: known?.serviceExists)
        let ownerExists = try await succeeds(NodeCommands.userExists(x.owner), unless: known?.ownerExists)
        let groupExists = try await succeeds(NodeCommands.groupExists(x.group), unless: known?.groupExists)
        var missing: [String] = []
        for dir in commands.preflightFolders {
            if let known {
                if known.directories.contains(dir) { continue }
            } else if let st = try await host.stat(dir), st.isDirectory {
                continue
            }
            missing.append(dir)
        }

        let certData = try await readIfPresent(x.certPath, known)
        let keyData = try await readIfPresent(x.keyPath, known)
        let confData = try await readIfPresent(x.confPath, known)
        let (key, openedWith) = keyData.map(inspect) ?? (nil, nil)

        // Free space where new files land and backups go: work_dir itself once
        // it exists (it may be a mount of its own), else the folder it will be made in.
        let workDirExists: Bool
        if let known {
            workDirExists = known.workDirExists
        } else {
            workDirExists = try await host.stat(x.workDir)?.isDirectory == true
        }
        let workDir = workDirExists ? x.workDir : (x.workDir as NSString).deletingLastPathComponent
        var freeSpace: [GatheredFacts.FreeSpace] = []
        for dir in Set([x.certDirectory, workDir]).sorted() {
            // df's own answer (and its complaint) when the combined one had none.
            var r = CommandResult(exitStatus: 0)
            if known?.freeBytes[dir] == nil { r = try await run(NodeCommands.freeSpace(dir)) }
            freeSpace.append(.init(folder: dir, bytes: known?.freeBytes[dir] ?? CommandOutput.freeBytes(r),
                                   complaint: r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        let listed = if let known { known.strayFiles } else {
            CommandOutput.lines(try await run(NodeCommands.certificateLikeFiles(in: x.certDirectory)))
        }
        let clock: (Int, Date)? = if let known { known.clock.map { ($0, answeredAt) } } else {
            CommandOutput.integer(try await run(NodeCommands.clock)).map { ($0, now()) }
        }
        let lockData = try await readIfPresent(commands.lockPath, known)

        var served: ServedChain?
        var servedProblem: String?
        do {
            served = try await probe.probe(host: node.ssh.hostName, port: x.httpsPort, serverName: node.host, timeout: options.probeTimeout)
        } catch {
            servedProblem = "\(error)"
        }
        let notAfter = { (der: Data?) in der.flatMap { certificateDates?.validity(der: $0)?.notAfter } }
        let servedLeaf = served?.certificatesDER.first
        return GatheredFacts(
            serviceExists: serviceExists, ownerExists: ownerExists, groupExists: groupExists, missingFolders: missing,
            certData: certData, keyData: keyData, confData: confData, key: key, keyOpenedWith: openedWith,
            freeSpace: freeSpace, strayFiles: listed.filter { $0 != x.certPath && $0 != x.keyPath }, clock: clock,
            lockData: lockData, served: served, servedProblem: servedProblem,
            diskNotAfter: notAfter(certData.flatMap { PEM.certificateDERs(in: $0).first }),
            servedNotAfter: notAfter(servedLeaf),
            servedNotBefore: servedLeaf.flatMap { certificateDates?.validity(der: $0)?.notBefore })
    }

    /// The current key with the current-key passphrase, then with the new key's
    /// (a renewal usually keeps the passphrase): which one opened it, if any.
    private func inspect(_ pem: Data) -> (KeyInspection, KeyPassphraseSource?) {
        let first = keyInspector.inspect(pem: pem, passphrase: secrets.currentKeyPassphrase)
        switch first {
        case .encryptedOpened: return (first, .currentKey)
        case .encryptedLocked:
            if let new = certificate.keyPassphrase, keyInspector.inspect(pem: pem, passphrase: new) == .encryptedOpened {
                return (.encryptedOpened, .newKey)
            }
            return (first, nil)
        case .unencrypted, .unreadable: return (first, nil)
        }
    }

    /// An error of the node's transport already names the node and its own fix
    /// (`node NAME: reason (fix)`): said once, as it is. Anything else gets both.
    private func sentence(_ error: any Error, fix: String) -> String {
        let text = "\(error)"
        return text.hasPrefix(name + ":") ? text : "\(name): \(text); \(fix)"
    }

    private func run(_ command: RemoteCommand) async throws -> CommandResult {
        try await host.run(command, stdin: nil, timeout: options.commandTimeout)
    }

    private func succeeds(_ command: RemoteCommand) async throws -> Bool { try await run(command).succeeded }

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
}
