public import CertrollCore
public import Foundation

/// A node kept in memory: files with owners and modes, users and groups, an
/// XSOAR service that loads its certificate and key on start like the real
/// one (an encrypted key needs an OTC with the right passphrase, which it then
/// deletes), and a record of every operation. It understands exactly the
/// command values `NodeCommands` builds for its settings.
///
/// Subclasses named for their fault (`HostThatFailsStart`, …) script failures
/// through `fault(_:)`.
open class InMemoryHost: RemoteHost, @unchecked Sendable {
    /// A file or folder.
    public struct Entry: Sendable, Equatable {
        public var data: Data
        public var mode: UInt32
        public var owner: String
        public var group: String
        public var isDirectory: Bool

        public init(data: Data, mode: UInt32, owner: String, group: String, isDirectory: Bool = false) {
            self.data = data
            self.mode = mode
            self.owner = owner
            self.group = group
            self.isDirectory = isDirectory
        }
    }

    /// One thing the engine did to this host.
    public enum Operation: Sendable, Equatable {
        case run(String)
        case write(String)
        case read(String)
        case stat(String)
        case rename(String, String)
        case remove(String)
        case makeDirectory(String)
        case close
    }

    /// The host is down (sshd and the service gone).
    public struct Unreachable: Error, CustomStringConvertible {
        public var host: String
        public var description: String { "\(host) is unreachable (connection refused)" }
    }

    public let name: String
    public let settings: XSOARSettings
    private let lock = NSRecursiveLock()
    private var _files: [String: Entry] = [:]
    private var _operations: [Operation] = []
    private var _stdinSeen: [Data] = []
    public var users: Set<String> = ["root", "demisto"]
    public var groups: Set<String> = ["root", "demisto"]
    public var serviceInstalled = true
    /// What `id -u` prints; nil makes it fail as a denied sudo would.
    public var effectiveUID: String? = "0"
    public var freeKilobytes: UInt64 = 10_000_000
    /// Free space of a path that is its own filesystem (a mount point), overriding `freeKilobytes`.
    public var freeKilobytesAt: [String: UInt64] = [:]
    /// Seconds the node's clock is ahead of the controller's.
    public var clockOffset: Int = 0
    public var reachable = true
    /// Paths whose rename fails with EBUSY (a mount point).
    public var busyPaths: Set<String> = []
    private var _running = false
    private var _served: [Data]?
    /// How many times `start` ran.
    public private(set) var starts = 0
    public private(set) var stops = 0

    public required init(name: String, settings: XSOARSettings = .defaults) {
        self.name = name
        self.settings = settings
        for dir in ["/", "/etc", "/var", "/var/lib", "/usr", "/usr/local"] { _files[dir] = Self.dir() }
    }

    /// A standard XSOAR node of this class: default folders, a conf, the given
    /// cert and key, service running and serving them.
    public class func xsoarNode(name: String, settings: XSOARSettings = .defaults, chainPEM: Data, keyPEM: Data,
                                conf: String = #"{"Server":{"HttpsPort":"443"}}"#) -> Self {
        let h = Self(name: name, settings: settings)
        h.install(chainPEM: chainPEM, keyPEM: keyPEM, conf: conf)
        return h
    }

    /// Lays out folders and files, then starts the service (with an OTC holding
    /// `keyPassphrase` when the key is encrypted).
    public func install(chainPEM: Data, keyPEM: Data, conf: String = #"{"Server":{"HttpsPort":"443"}}"#, keyPassphrase: String? = nil) {
        locked {
            for p in [settings.certPath, settings.keyPath, settings.otcPath, settings.confPath] { mkdirs(parent(p)) }
            _files[settings.certPath] = Entry(data: chainPEM, mode: 0o644, owner: settings.owner, group: settings.group, isDirectory: false)
            _files[settings.keyPath] = Entry(data: keyPEM, mode: 0o600, owner: settings.owner, group: settings.group, isDirectory: false)
            _files[settings.confPath] = Entry(data: Data(conf.utf8), mode: 0o644, owner: "root", group: "root", isDirectory: false)
            if let keyPassphrase {
                _files[settings.otcPath] = Entry(data: Data(OTCFile.content(keyPassphrase: Secret(keyPassphrase)).bytes),
                                                 mode: 0o600, owner: settings.owner, group: settings.group)
            }
            _running = false
            _ = startService()
        }
    }

    // MARK: inspection for tests

    public var files: [String: Entry] { locked { _files } }
    public var operations: [Operation] { locked { _operations } }
    public var isRunning: Bool { locked { _running } }
    /// Every stdin handed to `run`, to prove no secret went over argv.
    public var stdinSeen: [Data] { locked { _stdinSeen } }
    /// DER of the chain the service serves now; nil when stopped or failed to load.
    public var served: [Data]? { locked { reachable ? _served : nil } }
    public func file(_ path: String) -> Entry? { locked { _files[path] } }
    public func setFile(_ path: String, _ entry: Entry?) { locked { _files[path] = entry } }
    public var commandsRun: [String] {
        operations.compactMap { if case .run(let c) = $0 { c } else { nil } }
    }

    // MARK: fault scripting

    /// Called before every operation; throw or return a result to script a fault.
    /// Return nil to carry on normally.
    open func fault(_ op: Operation) throws -> CommandResult? { nil }

    // MARK: RemoteHost

    public func run(_ command: RemoteCommand, stdin: Secret?, timeout: Duration) async throws -> CommandResult {
        try locked {
            let op = Operation.run(command.shell)
            try record(op)
            if let stdin { _stdinSeen.append(Data(stdin.bytes)) }
            if let scripted = try fault(op) { return scripted }
            return interpret(command.shell)
        }
    }

    public func writeFile(_ path: String, contents: Data, mode: UInt32, owner: String, group: String) async throws {
        try locked {
            try record(.write(path))
            _ = try fault(.write(path))
            guard _files[parent(path)]?.isDirectory == true else { throw posix("no such directory: \(parent(path))") }
            guard users.contains(owner), groups.contains(group) else { throw posix("chown \(owner):\(group): invalid user") }
            _files[path] = Entry(data: contents, mode: mode, owner: owner, group: group, isDirectory: false)
        }
    }

    public func readFile(_ path: String) async throws -> Data {
        try locked {
            try record(.read(path))
            _ = try fault(.read(path))
            guard let e = _files[path], !e.isDirectory else { throw posix("\(path): no such file") }
            return e.data
        }
    }

    public func stat(_ path: String) async throws -> RemoteFileStat? {
        try locked {
            try record(.stat(path))
            _ = try fault(.stat(path))
            return _files[path].map {
                RemoteFileStat(size: UInt64($0.data.count), mode: $0.mode, owner: $0.owner, group: $0.group, isDirectory: $0.isDirectory)
            }
        }
    }

    public func rename(_ from: String, to: String) async throws {
        try locked {
            try record(.rename(from, to))
            _ = try fault(.rename(from, to))
            guard let e = _files[from] else { throw posix("\(from): no such file") }
            if busyPaths.contains(to) { throw posix("rename \(from) → \(to): Device or resource busy (EBUSY)") }
            _files[to] = e
            _files[from] = nil
        }
    }

    public func remove(_ path: String) async throws {
        try locked {
            try record(.remove(path))
            _ = try fault(.remove(path))
            _files[path] = nil
        }
    }

    public func makeDirectory(_ path: String, mode: UInt32) async throws {
        try locked {
            try record(.makeDirectory(path))
            _ = try fault(.makeDirectory(path))
            mkdirs(path, mode: mode)
        }
    }

    public func close() async {
        locked { _operations.append(.close) }
    }

    // MARK: the shell this host understands

    private func interpret(_ shell: String) -> CommandResult {
        let commands = NodeCommands(settings)
        switch shell {
        case NodeCommands.effectiveUser.shell:
            guard let uid = effectiveUID else { return fail(1, "sudo: a password is required") }
            return ok(uid + "\n")
        case NodeCommands.clock.shell:
            return ok("\(Int(Date().timeIntervalSince1970) + clockOffset)\n")
        case commands.serviceExists.shell:
            return serviceInstalled ? ok("") : fail(1, "")
        case commands.status.shell:
            return _running ? ok("\(settings.service) is running\n") : fail(3, "\(settings.service) is stopped")
        case commands.stop.shell:
            _running = false
            _served = nil
            stops += 1
            return ok("")
        case commands.stopThenStatus.shell:
            _running = false
            _served = nil
            stops += 1
            return ok("\ncertroll-status=3\n")
        case commands.otcThenStatus.shell:
            return ok((_files[settings.otcPath] != nil ? "otc=present\n" : "") + "\ncertroll-status=\(_running ? 0 : 3)\n")
        case commands.start.shell:
            return startService()
        case NodeCommands.certificateLikeFiles(in: settings.certDirectory).shell:
            return ok(certificateLikeFiles().map { $0 + "\n" }.joined())
        case commands.preflightFacts.shell:
            guard let uid = effectiveUID else { return fail(1, "sudo: a password is required") }
            return ok("uid=\(uid)\n" + preflightFacts(commands))
        default:
            break
        }
        if let match = commandsWithArguments(commands).first(where: { $0.command.shell == shell }) { return match.result() }
        if let lock = takeLock(shell, commands) { return lock }
        return fail(127, "sh: not a command NodeCommands builds for \(name): \(shell)")
    }

    /// The commands with arguments NodeCommands builds for the paths, users and
    /// groups this node knows (its files, the staged, restore and backup copies
    /// a run makes), each with what running it does here.
    private func commandsWithArguments(_ commands: NodeCommands) -> [(command: RemoteCommand, result: () -> CommandResult)] {
        var out: [(command: RemoteCommand, result: () -> CommandResult)] = []
        let paths = Set(_files.keys).union(commands.swappedFiles).union(commands.leftoverFiles).sorted()
        for path in paths {
            out.append((NodeCommands.sha256(path), { self.sha256([path]) }))
            out.append((NodeCommands.freeSpace(path), { self.freeSpace(path) }))
        }
        for user in users.union([settings.owner]) {
            out.append((NodeCommands.userExists(user), { self.users.contains(user) ? self.ok("\(user):x:1000:\n") : self.fail(2, "") }))
        }
        for group in groups.union([settings.group]) {
            out.append((NodeCommands.groupExists(group), { self.groups.contains(group) ? self.ok("\(group):x:1000:\n") : self.fail(2, "") }))
        }
        let backupsRoot = parent(commands.backupDirectory(runID: "RUN_ID"))
        let runIDs = _files.keys.filter { parent($0) == backupsRoot && _files[$0]?.isDirectory == true }.map { ($0 as NSString).lastPathComponent }
        for runID in runIDs {
            for (role, path) in commands.backedUpFiles {
                let backup = commands.backupPath(role: role, of: path, runID: runID)
                out.append((NodeCommands.copyPreserving(path, to: backup), { self.copy(path, to: backup) }))
                out.append((NodeCommands.sha256([path, backup]), { self.sha256([path, backup]) }))
                out.append((NodeCommands.copyPreserving(backup, to: NodeCommands.restoring(path)), { self.copy(backup, to: NodeCommands.restoring(path)) }))
            }
            // The whole backup in one command, for whichever of cert, key and conf exist.
            let copies = commands.backedUpFiles.map { (from: $0.path, to: commands.backupPath(role: $0.role, of: $0.path, runID: runID)) }
            for chosen in Self.orderedSubsets(copies) {
                out.append((NodeCommands.backUp(chosen), { self.backUp(chosen) }))
            }
        }
        // The staged files checked together, in the order stage writes them.
        for chosen in Self.orderedSubsets(commands.stagedFiles) where chosen.count > 1 {
            out.append((NodeCommands.sha256(chosen), { self.sha256(chosen) }))
        }
        // The swap: cert and key, with or without the OTC, in that order.
        let swapped = [settings.certPath, settings.keyPath, settings.otcPath].map { (from: NodeCommands.staged($0), to: $0) }
        for moves in [Array(swapped.prefix(2)), swapped] {
            out.append((NodeCommands.moveIntoPlace(moves), { self.moveIntoPlace(moves) }))
        }
        for from in [NodeCommands.staged(settings.confPath), NodeCommands.restoring(settings.confPath)] {
            out.append((NodeCommands.rewriteInPlace(from, to: settings.confPath), { self.rewrite(from, to: self.settings.confPath) }))
        }
        return out
    }

    /// `takeLock` for the record it carries: the command must be exactly the
    /// one NodeCommands builds for that record.
    private func takeLock(_ shell: String, _ commands: NodeCommands) -> CommandResult? {
        guard let open = shell.firstIndex(of: "{"), let close = shell.lastIndex(of: "}"), open < close,
              let record = LockRecord(lockFile: Data(shell[open...close].utf8)), commands.takeLock(record).shell == shell else { return nil }
        mkdirs(settings.workDir, mode: 0o700)
        if _files[commands.lockPath] != nil { return fail(1, "sh: cannot create \(commands.lockPath): File exists") }
        _files[commands.lockPath] = Entry(data: Data((record.json + "\n").utf8), mode: 0o644, owner: "root", group: "root", isDirectory: false)
        return ok("")
    }

    private func sha256(_ paths: [String]) -> CommandResult {
        let sums = paths.compactMap { p in _files[p].flatMap { $0.isDirectory ? nil : "\(SHA256.hex($0.data))  \(p)\n" } }
        guard sums.count == paths.count else { return CommandResult(exitStatus: 1, stdout: Data(sums.joined().utf8), stderr: Data("sha256sum: no such file".utf8)) }
        return ok(sums.joined())
    }

    private func freeSpace(_ path: String) -> CommandResult {
        guard _files[path] != nil else { return fail(1, "df: no such file or directory") }
        return ok("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100000000 1 \(freeKilobytesAt[path] ?? freeKilobytes) 1% /\n")
    }

    /// Every non-empty selection of `items`, each in the order given.
    private static func orderedSubsets<T>(_ items: [T]) -> [[T]] {
        (1..<(1 << items.count)).map { mask in items.indices.filter { mask & (1 << $0) != 0 }.map { items[$0] } }
    }

    /// `cp -p` each pair, stopping at the first failure, then `sha256sum` of all.
    private func backUp(_ copies: [(from: String, to: String)]) -> CommandResult {
        for c in copies {
            let r = copy(c.from, to: c.to)
            guard r.succeeded else { return r }
        }
        return sha256(copies.flatMap { [$0.from, $0.to] })
    }

    /// `mv -f -T` each pair in order, stopping at the first that fails.
    private func moveIntoPlace(_ moves: [(from: String, to: String)]) -> CommandResult {
        for m in moves {
            guard let e = _files[m.from] else { return fail(1, "mv: cannot stat '\(m.from)': No such file or directory") }
            _files[m.to] = e
            _files[m.from] = nil
        }
        return ok("")
    }

    private func copy(_ from: String, to: String) -> CommandResult {
        guard let e = _files[from] else { return fail(1, "cp: cannot stat") }
        guard _files[parent(to)]?.isDirectory == true else { return fail(1, "cp: no such directory") }
        _files[to] = e
        return ok("")
    }

    /// `test -r FROM && cat -- FROM > TO && rm -f -- FROM`
    private func rewrite(_ from: String, to: String) -> CommandResult {
        guard let e = _files[from] else { return fail(1, "") }
        guard var target = _files[to] else { return fail(1, "sh: cannot create \(to)") }
        target.data = e.data
        _files[to] = target
        _files[from] = nil
        return ok("")
    }

    private func certificateLikeFiles() -> [String] {
        let dir = settings.certDirectory
        return _files.keys.filter { p in
            parent(p) == dir && _files[p]?.isDirectory == false && [".pem", ".key", ".crt"].contains { p.hasSuffix($0) }
        }.sorted()
    }

    /// What `NodeCommands.preflightFacts` prints on a node in this state.
    private func preflightFacts(_ commands: NodeCommands) -> String {
        func yesNo(_ tag: String, _ yes: Bool) -> String { "\(tag)=\(yes ? "yes" : "no")\n" }
        var out = yesNo("service", serviceInstalled) + yesNo("owner", users.contains(settings.owner))
            + yesNo("group", groups.contains(settings.group))
        for dir in commands.preflightFolders where _files[dir]?.isDirectory == true { out += "dir=\(dir)\n" }
        for file in commands.preflightFiles where _files[file] != nil { out += "file=\(file)\n" }
        let workDirExists = _files[settings.workDir]?.isDirectory == true
        out += yesNo("workdir", workDirExists)
        for path in [settings.certDirectory, workDirExists ? settings.workDir : parent(settings.workDir)] where _files[path] != nil {
            out += "free=\((freeKilobytesAt[path] ?? freeKilobytes)) \(path)\n"
        }
        out += "clock=\(Int(Date().timeIntervalSince1970) + clockOffset)\n"
        out += certificateLikeFiles().map { "stray=\($0)\n" }.joined()
        return out + "end\n"
    }

    /// XSOAR's start: read the conf for the paths, load cert and key (an
    /// encrypted key needs the OTC's passphrase), delete the OTC, serve.
    private func startService() -> CommandResult {
        starts += 1
        if _running { return ok("") }
        _running = true
        _served = nil
        var certPath = XSOARSettings.defaultCertPath, keyPath = XSOARSettings.defaultKeyPath
        if let conf = _files[settings.confPath], let obj = try? DemistoConf.parse(conf.data) {
            (certPath, keyPath) = DemistoConf.configuredPaths(obj)
        }
        var passphrase: String?
        if let otc = _files[settings.otcPath] {
            passphrase = (try? JSONSerialization.jsonObject(with: otc.data) as? [String: String])?["keypass"]
            _files[settings.otcPath] = nil
        }
        guard let cert = _files[certPath], let key = _files[keyPath],
              let fake = FakeKey(pem: key.data) else { return ok("") }
        let chain = PEM.certificateDERs(in: cert.data)
        guard let leaf = chain.first, fake.leafFingerprint == SHA256.hex(leaf) else { return ok("") }
        if let hash = fake.passphraseSHA256, SHA256.hex(Data((passphrase ?? "").utf8)) != hash || passphrase == nil { return ok("") }
        _served = chain
        return ok("")
    }

    // MARK: helpers

    private func record(_ op: Operation) throws {
        _operations.append(op)
        guard reachable else { throw Unreachable(host: name) }
    }

    /// Marks the host down from now on.
    public func goDown() { locked { reachable = false } }

    private func mkdirs(_ path: String, mode: UInt32 = 0o755) {
        var p = ""
        for part in path.split(separator: "/") {
            p += "/" + part
            if _files[p] == nil { _files[p] = Entry(data: Data(), mode: mode, owner: "root", group: "root", isDirectory: true) }
        }
    }

    private static func dir() -> Entry { Entry(data: Data(), mode: 0o755, owner: "root", group: "root", isDirectory: true) }
    private func parent(_ p: String) -> String { (p as NSString).deletingLastPathComponent }
    private func ok(_ out: String) -> CommandResult { CommandResult(exitStatus: 0, stdout: Data(out.utf8)) }
    private func fail(_ code: Int32, _ err: String) -> CommandResult { CommandResult(exitStatus: code, stderr: Data(err.utf8)) }
    private func posix(_ message: String) -> any Error { InMemoryError(description: "\(name): \(message)") }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The TLS view of this host, for `InMemoryNetwork`.
    func serve() throws -> [Data] {
        try locked {
            guard reachable else { throw Unreachable(host: name) }
            guard let served = _served else { throw InMemoryError(description: "\(name): connection refused on port \(settings.httpsPort)") }
            return served
        }
    }
}

/// An error an in-memory host raises (a failed file operation).
public struct InMemoryError: Error, CustomStringConvertible {
    public var description: String
}
