public import CertrollCore
public import Foundation
public import Logging

/// A node reached over SSH (libssh2): the `RemoteHost` the rollout engine uses.
/// Directly, through jump hosts (`settings.proxyJump`, sharing one session per
/// jump host with the other nodes behind it) or through `settings.proxyCommand`.
///
/// One connection per node for the whole run; every call on it runs on the
/// node's own thread (this actor's executor), never on Swift's cooperative
/// pool, so a fleet of slow nodes proceeds in parallel. Calls on one host are
/// serialised, each on its own channel. A call whose connection was lost (or
/// timed out) fails; the next call reconnects.
///
/// With `become: sudo` and a non-root user, commands run under
/// `sudo -- sh -c …` (the password, when needed, only on stdin), files are
/// uploaded to a private temp folder and moved with `sudo install`, and the
/// other file operations are sudo'd commands.
public actor SSHHost: RemoteHost {
    /// The node's name as written in the inventory.
    public nonisolated let name: String
    /// Host name or address dialled (and looked up in known_hosts).
    public nonisolated let address: String
    public nonisolated let settings: SSHSettings
    private let secrets: SSHSecrets
    private let timeouts: SSHTimeouts
    private let jumps: JumpHosts
    private let executor: ThreadExecutor
    private let logger: Logger
    private var connection: Connection?
    private var sudo: SudoMode?
    private var uidByName: [String: UInt32] = [:]
    private var gidByName: [String: UInt32] = [:]
    private var userByID: [UInt32: String] = [:]
    private var groupByID: [UInt32: String] = [:]
    private var stagingDirectory: String?
    private var uploads = 0

    private enum SudoMode {
        case noPassword
        case password(Secret)
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Does not connect yet; see `connect()`.
    /// - Parameters:
    ///   - name: the node as named in the inventory (used in every message).
    ///   - settings: how to reach it; `settings.hostName` is dialled.
    ///   - jumps: the jump host sessions shared with the other nodes behind the same hops.
    public init(name: String, settings: SSHSettings, secrets: SSHSecrets = SSHSecrets(), timeouts: SSHTimeouts = SSHTimeouts(),
                jumps: JumpHosts = .shared, logger: Logger = Logger(label: "certroll.ssh")) {
        _ = LibSSH2.initialized
        self.name = name
        self.address = settings.hostName
        self.settings = settings
        self.secrets = secrets
        self.timeouts = timeouts
        self.jumps = jumps
        self.logger = logger
        self.executor = ThreadExecutor(name: "certroll.ssh.\(name)")
    }

    /// A connected host: TCP, handshake, host key check, authentication.
    public static func connect(
        name: String, settings: SSHSettings, secrets: SSHSecrets = SSHSecrets(), timeouts: SSHTimeouts = SSHTimeouts(),
        jumps: JumpHosts = .shared, logger: Logger = Logger(label: "certroll.ssh")
    ) async throws -> SSHHost {
        let host = SSHHost(name: name, settings: settings, secrets: secrets, timeouts: timeouts, jumps: jumps, logger: logger)
        try await host.connect()
        return host
    }

    deinit { executor.shutdown() }

    /// Connects now unless connected (reconnects after a lost connection).
    public func connect() throws {
        _ = try connected()
    }

    private func connected() throws -> Connection {
        if let connection, !connection.isBroken { return connection }
        connection?.close()
        connection = nil
        sudo = nil
        stagingDirectory = nil
        let link = try SSHRoute.link(node: name, settings: settings, secrets: secrets, timeouts: timeouts, jumps: jumps, logger: logger)
        let fresh = try Connection.open(node: name, settings: settings, secrets: secrets, timeouts: timeouts, link: link, logger: logger)
        connection = fresh
        return fresh
    }

    private var viaSudo: Bool { settings.become == .sudo && settings.user != "root" }

    // MARK: - Commands

    public func run(_ command: RemoteCommand, stdin: Secret?, timeout: Duration) throws -> CommandResult {
        let connection = try connected()
        let started = ContinuousClock.now
        let result: CommandResult
        if viaSudo {
            let (line, prefix) = try sudoLine(for: command.shell, connection)
            result = try connection.exec(line, stdin: prefix + (stdin?.bytes ?? []), timeout: timeout, display: command.shell)
        } else {
            result = try connection.exec(command.shell, stdin: stdin?.bytes ?? [], timeout: timeout, display: command.shell)
        }
        logger.debug("ran", metadata: [
            SSHLog.node: "\(name)", SSHLog.command: "\(command.shell)", SSHLog.exitStatus: "\(result.exitStatus)",
            SSHLog.milliseconds: "\(Int((ContinuousClock.now - started).seconds * 1000))",
        ])
        return result
    }

    /// The sudo'd command line and the stdin bytes that must precede the caller's (the password line).
    private func sudoLine(for shell: String, _ connection: Connection) throws -> (String, [UInt8]) {
        switch try sudoMode(connection) {
        case .noPassword:
            return ("sudo -n -- sh -c " + ShellQuote.quote(shell), [])
        case .password(let secret):
            // -k: always ask, so the password line is always consumed by sudo, never by the command.
            return ("sudo -k -S -p '' -- sh -c " + ShellQuote.quote(shell), secret.bytes + [0x0A])
        }
    }

    private func sudoMode(_ connection: Connection) throws -> SudoMode {
        if let sudo { return sudo }
        let user = settings.user
        let probe = try connection.exec("sudo -n true", stdin: [], timeout: settings.connectTimeout, display: "sudo -n true")
        if probe.succeeded {
            sudo = .noPassword
            return .noPassword
        }
        if probe.exitStatus == 127 {
            throw SSHError.become(node: name, reason: "sudo is not installed", fix: "install sudo on the node or log in as root")
        }
        guard let password = secrets.becomePassword else {
            throw SSHError.become(
                node: name, reason: "sudo asks \(user) for a password and none was given",
                fix: "give it with --become-password-file or CERTROLL_BECOME_PASSWORD, or allow \(user) NOPASSWD in sudoers")
        }
        let check = try connection.exec("sudo -k -S -p '' true", stdin: password.bytes + [0x0A],
                                        timeout: settings.connectTimeout, display: "sudo -k -S -p '' true")
        guard check.succeeded else {
            throw SSHError.become(
                node: name, reason: "sudo refused the password of \(user)",
                fix: "check the become password, and that \(user) may run commands as root in sudoers on the node")
        }
        sudo = .password(password)
        return .password(password)
    }

    /// Runs a helper command with privilege; non-zero exit is an error.
    @discardableResult
    private func privileged(_ words: String) throws -> CommandResult {
        let command = RemoteCommand(words)
        let result = try run(command, stdin: nil, timeout: timeouts.io)
        guard result.succeeded else { throw SSHError.remoteCommandFailed(node: name, command: command, result: result) }
        return result
    }

    /// Runs a helper command as the login user (no sudo).
    private func unprivileged(_ words: String) throws -> CommandResult {
        let result = try connected().exec(words, stdin: [], timeout: timeouts.io, display: words)
        guard result.succeeded else {
            throw SSHError.remoteCommandFailed(node: name, command: RemoteCommand(words), result: result)
        }
        return result
    }

    // MARK: - Files

    public func writeFile(_ path: String, contents: Data, mode: UInt32, owner: String, group: String) throws {
        let connection = try connected()
        if viaSudo {
            // SFTP can chown only as root: stage in a private 0700 folder, then sudo install
            // (which creates the target 0600, sets owner, then mode).
            let staged = try stagingFolder() + "/upload-\(uploads)"
            uploads += 1
            try connection.writeFile(staged, contents: contents, mode: 0o600, uid: nil, gid: nil)
            try privileged(ShellQuote.join(["install", "-o", owner, "-g", group, "-m", Self.octal(mode), "--", staged, path])
                + " && rm -f -- " + ShellQuote.quote(staged))
        } else {
            let (uid, gid) = try ids(owner: owner, group: group)
            try connection.writeFile(path, contents: contents, mode: mode, uid: uid, gid: gid)
        }
    }

    public func readFile(_ path: String) throws -> Data {
        if viaSudo { return try privileged("cat -- " + ShellQuote.quote(path)).stdout }
        return try connected().readFile(path)
    }

    public func stat(_ path: String) throws -> RemoteFileStat? {
        if viaSudo {
            let p = ShellQuote.quote(path)
            let out = try privileged("if [ -e \(p) ]; then stat -L -c '%s %a %U %G %F' -- \(p); else echo missing; fi").stdoutText
            let fields = out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 4).map(String.init)
            if fields == ["missing"] { return nil }
            guard fields.count == 5, let size = UInt64(fields[0]), let mode = UInt32(fields[1], radix: 8) else {
                throw SSHError.sftp(node: name, reason: "cannot read the attributes of \(path) (stat printed \(out))")
            }
            return RemoteFileStat(size: size, mode: mode & 0o7777, owner: fields[2], group: fields[3], isDirectory: fields[4] == "directory")
        }
        guard let attrs = try connected().stat(path) else { return nil }
        let (owner, group) = try names(uid: attrs.uid, gid: attrs.gid)
        return RemoteFileStat(size: attrs.size, mode: attrs.permissions, owner: owner, group: group, isDirectory: attrs.isDirectory)
    }

    /// `rename(2)` through `mv -f -T`: libssh2 1.10 cannot send OpenSSH's
    /// posix-rename extension, and plain SFTP rename refuses to replace a file.
    public func rename(_ from: String, to: String) throws {
        try privileged(ShellQuote.join(["mv", "-f", "-T", "--", from, to]))
    }

    public func remove(_ path: String) throws {
        if viaSudo {
            try privileged("rm -f -- " + ShellQuote.quote(path))
        } else {
            try connected().remove(path)
        }
    }

    public func makeDirectory(_ path: String, mode: UInt32) throws {
        if viaSudo {
            let p = ShellQuote.quote(path)
            try privileged("mkdir -p -- \(p) && chmod \(Self.octal(mode)) -- \(p)")
        } else {
            try connected().makeDirectory(path, mode: mode)
        }
    }

    public func close() {
        if let dir = stagingDirectory, let connection, !connection.isBroken {
            _ = try? connection.exec("rm -rf -- " + ShellQuote.quote(dir), stdin: [], timeout: .seconds(5), display: "rm -rf staging")
        }
        stagingDirectory = nil
        connection?.close()
        connection = nil
        sudo = nil
    }

    // MARK: - Helpers

    private func stagingFolder() throws -> String {
        if let stagingDirectory { return stagingDirectory }
        let dir = try unprivileged("umask 077 && mktemp -d \"${TMPDIR:-/tmp}/certroll.XXXXXXXX\"").stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard dir.hasPrefix("/") else {
            throw SSHError.sftp(node: name, reason: "mktemp printed no folder", fix: "check /tmp on the node")
        }
        stagingDirectory = dir
        return dir
    }

    private func ids(owner: String, group: String) throws -> (UInt32, UInt32) {
        if uidByName[owner] == nil || gidByName[group] == nil {
            // Root too: the files a run reads back are the owner's (cert, key) or root's (conf, backups).
            try lookUp(users: [owner, "0"], groups: [group, "0"])
        }
        guard let uid = uidByName[owner] else {
            throw SSHError.sftp(node: name, reason: "user \(owner) does not exist", fix: "create it on the node or fix `owner:` in the inventory")
        }
        guard let gid = gidByName[group] else {
            throw SSHError.sftp(node: name, reason: "group \(group) does not exist", fix: "create it on the node or fix `group:` in the inventory")
        }
        return (uid, gid)
    }

    private func names(uid: UInt32, gid: UInt32) throws -> (String, String) {
        if userByID[uid] == nil || groupByID[gid] == nil {
            try lookUp(users: [String(uid)], groups: [String(gid)])
            // An id with no name on the node is shown as the number, as `ls -l`
            // does, and remembered so: it is not looked up again.
            userByID[uid] = userByID[uid] ?? String(uid)
            groupByID[gid] = groupByID[gid] ?? String(gid)
        }
        return (userByID[uid]!, groupByID[gid]!)
    }

    /// One `getent` of each database for every key (a name or a number), each
    /// entry remembered both ways. A key with no entry prints nothing.
    private func lookUp(users: [String], groups: [String]) throws {
        let out = try privileged("getent passwd -- \(ShellQuote.join(users)); getent group -- \(ShellQuote.join(groups)); true").stdoutText
        for line in out.split(separator: "\n") {
            // passwd: name:x:uid:gid:gecos:home:shell; group: name:x:gid:members.
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 7 || fields.count == 4, let id = UInt32(fields[2]) else { continue }
            let entry = String(fields[0])
            if fields.count == 7 {
                uidByName[entry] = id
                userByID[id] = entry
            } else {
                gidByName[entry] = id
                groupByID[id] = entry
            }
        }
    }

    private static func octal(_ mode: UInt32) -> String { "0" + String(mode, radix: 8) }
}

/// Fan-out over nodes with at most `parallel` in flight.
public enum Fleet {
    /// Runs `body` for every node, at most `parallel` at a time; results in input order.
    /// Each node's error is its own: one failure does not stop the others.
    public static func forEachNode<Node: Sendable, Value: Sendable>(
        _ nodes: [Node], parallel: Int, _ body: @escaping @Sendable (Node) async throws -> Value
    ) async -> [Result<Value, any Error>] {
        let window = max(1, parallel)
        return await withTaskGroup(of: (Int, Result<Value, any Error>).self) { group in
            var results = [Result<Value, any Error>?](repeating: nil, count: nodes.count)
            var next = 0
            func launch() {
                let index = next
                let node = nodes[index]
                next += 1
                group.addTask {
                    do { return (index, .success(try await body(node))) } catch { return (index, .failure(error)) }
                }
            }
            while next < min(window, nodes.count) { launch() }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < nodes.count { launch() }
            }
            return results.map { $0! }
        }
    }
}
