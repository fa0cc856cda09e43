public import Foundation

/// Every shell command certroll sends to an XSOAR node, built as values from the
/// node's settings. Paths and names are shell-quoted; no command carries a secret.
/// The `stop`/`start`/`status` templates are the admin's own shell text and are
/// sent as written.
public struct NodeCommands: Sendable, Equatable {
    public var settings: XSOARSettings

    public init(_ settings: XSOARSettings) { self.settings = settings }

    public var stop: RemoteCommand { RemoteCommand(settings.stopCommand) }
    public var start: RemoteCommand { RemoteCommand(settings.startCommand) }
    /// Exit 0 while the service runs (LSB: 3 when stopped).
    public var status: RemoteCommand { RemoteCommand(settings.statusCommand) }

    /// The status template in a subshell (an `exit` in it ends only that), its
    /// output dropped, then its exit status as the last line: `certroll-status=N`.
    private var statusLine: String {
        "(\n\(settings.statusCommand)\n) >/dev/null 2>&1; printf '\\ncertroll-status=%d\\n' \"$?\""
    }

    /// The stop template, then — only when it succeeded — the status, in one
    /// command: stopping and the first look at whether it worked cost one round
    /// trip. Exits with the stop's own status when that failed. Read the status
    /// with `CommandOutput.status`.
    public var stopThenStatus: RemoteCommand {
        RemoteCommand("{\n\(settings.stopCommand)\n}; r=$?; [ \"$r\" -eq 0 ] || exit \"$r\"; " + statusLine)
    }

    /// Whether the OTC file is still there (`otc=present`), then the status, in
    /// one command: what verify asks the node after the handshake.
    public var otcThenStatus: RemoteCommand {
        RemoteCommand("if [ -e \(ShellQuote.quote(settings.otcPath)) ]; then echo otc=present; fi; " + statusLine)
    }

    /// Renames each staged file over its target (`rename(2)` through `mv -f -T`),
    /// in order, stopping at the first that fails: the swap in one command.
    public static func moveIntoPlace(_ moves: [(from: String, to: String)]) -> RemoteCommand {
        RemoteCommand(moves.map { "mv -f -T -- \(ShellQuote.quote($0.from)) \(ShellQuote.quote($0.to))" }.joined(separator: " && "))
    }

    /// Prints the effective uid: `0` proves privilege (root or working sudo).
    public static let effectiveUser = RemoteCommand("id -u")
    /// The node's clock, seconds since the epoch.
    public static let clock = RemoteCommand("date +%s")

    /// Succeeds when a systemd unit or an init script of that name exists.
    public var serviceExists: RemoteCommand {
        let s = ShellQuote.quote(settings.service)
        let initScript = ShellQuote.quote("/etc/init.d/" + settings.service)
        return RemoteCommand("systemctl cat -- \(s) >/dev/null 2>&1 || test -x \(initScript)")
    }

    public static func sha256(_ path: String) -> RemoteCommand {
        RemoteCommand("sha256sum -- \(ShellQuote.quote(path))")
    }

    /// One `sha256sum` for several files: one line each, in order.
    public static func sha256(_ paths: [String]) -> RemoteCommand {
        RemoteCommand("sha256sum -- " + ShellQuote.join(paths))
    }

    /// POSIX `df` in 1024-byte blocks for the filesystem holding `path`.
    public static func freeSpace(_ path: String) -> RemoteCommand {
        RemoteCommand("df -Pk -- \(ShellQuote.quote(path))")
    }

    public static func groupExists(_ group: String) -> RemoteCommand {
        RemoteCommand("getent group \(ShellQuote.quote(group))")
    }

    public static func userExists(_ user: String) -> RemoteCommand {
        RemoteCommand("getent passwd \(ShellQuote.quote(user))")
    }

    /// Lists `*.pem`, `*.key`, `*.crt` files directly in `directory`, one per line.
    public static func certificateLikeFiles(in directory: String) -> RemoteCommand {
        RemoteCommand("find \(ShellQuote.quote(directory)) -maxdepth 1 -type f \\( -name '*.pem' -o -name '*.key' -o -name '*.crt' \\)")
    }

    /// The folders the node's cert, key, OTC and conf files live in, each once, sorted.
    public var preflightFolders: [String] {
        Set([settings.certPath, settings.keyPath, settings.otcPath, settings.confPath].map(Self.parent)).sorted()
    }

    /// The files preflight reads when they exist: cert, key, conf, lock.
    public var preflightFiles: [String] { [settings.certPath, settings.keyPath, settings.confPath, lockPath] }

    /// Every read-only fact preflight needs from a root shell on the node, in one
    /// command instead of one round trip each: the effective uid (`0` proves
    /// privilege); service, owner and group exist;
    /// which folders are folders and which files exist; whether work_dir exists;
    /// free space (`df -Pk`, 4th column) of the cert folder and of work_dir, or
    /// the folder it will be made in; the clock; stray certificate-like files.
    /// Prints tagged lines read by `CommandOutput.preflightFacts`, `end` last.
    /// Never prints a file's content.
    public var preflightFacts: RemoteCommand {
        let q = ShellQuote.quote
        let words = { (paths: [String]) in paths.map(q).joined(separator: " ") }
        let workDir = q(settings.workDir)
        return RemoteCommand([
            "echo uid=$(id -u)",
            "if \(serviceExists.shell); then echo service=yes; else echo service=no; fi",
            "if \(Self.userExists(settings.owner).shell) >/dev/null 2>&1; then echo owner=yes; else echo owner=no; fi",
            "if \(Self.groupExists(settings.group).shell) >/dev/null 2>&1; then echo group=yes; else echo group=no; fi",
            "for p in \(words(preflightFolders)); do if [ -d \"$p\" ]; then printf 'dir=%s\\n' \"$p\"; fi; done",
            "for p in \(words(preflightFiles)); do if [ -e \"$p\" ]; then printf 'file=%s\\n' \"$p\"; fi; done",
            "if [ -d \(workDir) ]; then echo workdir=yes; w=\(workDir); else echo workdir=no; w=\(q(Self.parent(settings.workDir))); fi",
            "for p in \(q(settings.certDirectory)) \"$w\"; do df -Pk -- \"$p\" 2>/dev/null | { read -r _; read -r _ _ _ a _ && printf 'free=%s %s\\n' \"$a\" \"$p\"; }; done",
            "date +clock=%s",
            "\(Self.certificateLikeFiles(in: settings.certDirectory).shell) | sed 's/^/stray=/'",
            "echo end",
        ].joined(separator: "\n"))
    }

    /// Whether `preflightFacts` can name every path it answers about: its
    /// answers are lines, so a path with a line break needs the one-by-one way.
    public var preflightFactsFitInLines: Bool {
        !([settings.workDir, settings.certDirectory] + preflightFolders + preflightFiles).contains { $0.contains("\n") || $0.contains("\r") }
    }

    private static func parent(_ path: String) -> String { (path as NSString).deletingLastPathComponent }

    /// `{work_dir}/lock`
    public var lockPath: String { settings.workDir + "/lock" }

    /// `{work_dir}/backups/RUN_ID`
    public func backupDirectory(runID: String) -> String { settings.workDir + "/backups/" + runID }

    /// The files a rollout replaces, with the role a backup names them by: cert, key, conf.
    public var backedUpFiles: [(role: String, path: String)] {
        [("cert", settings.certPath), ("key", settings.keyPath), ("conf", settings.confPath)]
    }

    /// `{work_dir}/backups/RUN_ID/ROLE-NAME`, e.g. `…/backups/R1/cert-cert.pem`.
    public func backupPath(role: String, of path: String, runID: String) -> String {
        backupDirectory(runID: runID) + "/" + role + "-" + (path as NSString).lastPathComponent
    }

    /// Suffix of a new file written next to the one it replaces, renamed over it at the swap.
    public static let stagedSuffix = ".certroll-new"
    /// Suffix of a backup copied next to the file it restores, renamed over it.
    public static let restoreSuffix = ".certroll-restore"

    public static func staged(_ path: String) -> String { path + stagedSuffix }
    public static func restoring(_ path: String) -> String { path + restoreSuffix }

    /// cert, key, conf and OTC: every file that may have a staged or restore copy.
    public var swappedFiles: [String] { [settings.certPath, settings.keyPath, settings.confPath, settings.otcPath] }

    /// Every staged copy a run may leave, in `swappedFiles` order.
    public var stagedFiles: [String] { swappedFiles.map(Self.staged) }

    /// Every staged and restore copy, each file's pair together: what `discard` removes.
    public var leftoverFiles: [String] { swappedFiles.flatMap { [Self.staged($0), Self.restoring($0)] } }

    /// Creates the lock file only if none exists (noclobber), in one step, so two
    /// controllers cannot both take it. Fails when a lock is already there.
    public func takeLock(_ lock: LockRecord) -> RemoteCommand {
        let dir = ShellQuote.quote(settings.workDir)
        return RemoteCommand(
            "mkdir -p -m 0700 -- \(dir) && (set -C && printf '%s\\n' \(ShellQuote.quote(lock.json)) > \(ShellQuote.quote(lockPath)))")
    }

    /// Copies a file keeping its bytes, owner, group and mode (root on the node).
    public static func copyPreserving(_ from: String, to: String) -> RemoteCommand {
        RemoteCommand("cp -p -- \(ShellQuote.quote(from)) \(ShellQuote.quote(to))")
    }

    /// Copies each file to its backup keeping bytes, owner, group and mode, then
    /// prints the SHA-256 of every original and its copy (original, copy, …): one
    /// command for the whole backup instead of a copy and a checksum per file.
    /// Stops at the first copy that fails.
    public static func backUp(_ copies: [(from: String, to: String)]) -> RemoteCommand {
        let q = ShellQuote.quote
        let cp = copies.map { "cp -p -- \(q($0.from)) \(q($0.to))" }
        return RemoteCommand((cp + [sha256(copies.flatMap { [$0.from, $0.to] }).shell]).joined(separator: " && "))
    }

    /// Rewrites `to` in place with the bytes of `from` (keeping `to`'s inode,
    /// owner and mode), then removes `from`: for a conf file that is a mount
    /// point, where rename fails with EBUSY. `to` is untouched unless `from`
    /// is readable: the redirection alone would empty it before `cat` fails.
    public static func rewriteInPlace(_ from: String, to: String) -> RemoteCommand {
        let f = ShellQuote.quote(from)
        return RemoteCommand("test -r \(f) && cat -- \(f) > \(ShellQuote.quote(to)) && rm -f -- \(f)")
    }
}

/// Reading what those commands print.
public enum CommandOutput {
    /// The digest `sha256sum` printed, lowercase.
    public static func sha256(_ result: CommandResult) -> String? {
        guard result.succeeded, let word = result.stdoutText.split(whereSeparator: \.isWhitespace).first,
              word.count == 64, word.allSatisfy(\.isHexDigit) else { return nil }
        return word.lowercased()
    }

    /// The digests `sha256sum` printed for `count` files, in order; all nil
    /// unless it read every one of them.
    public static func sha256s(_ result: CommandResult, count: Int) -> [String?] {
        let lines = lines(result)
        guard result.succeeded, lines.count == count else { return Array(repeating: nil, count: count) }
        return lines.map { sha256(CommandResult(exitStatus: 0, stdout: Data($0.utf8))) }
    }

    /// Available bytes from `df -Pk` (second line, fourth column).
    public static func freeBytes(_ result: CommandResult) -> UInt64? {
        let lines = result.stdoutText.split(separator: "\n")
        guard result.succeeded, lines.count >= 2 else { return nil }
        let columns = lines[1].split(whereSeparator: \.isWhitespace)
        guard columns.count >= 4, let kb = UInt64(columns[3]) else { return nil }
        return kb * 1024
    }

    public static func integer(_ result: CommandResult) -> Int? {
        result.succeeded ? Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    /// The status template's exit status that `stopThenStatus` or
    /// `otcThenStatus` printed last; nil when the command did not get that far.
    public static func status(_ result: CommandResult) -> Int32? {
        guard let last = lines(result).last, last.hasPrefix("certroll-status=") else { return nil }
        return Int32(last.dropFirst("certroll-status=".count))
    }

    public static func lines(_ result: CommandResult) -> [String] {
        result.stdoutText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// What `NodeCommands.preflightFacts` printed; nil unless it ran to its
    /// `end` and said whether service, owner, group and work_dir exist.
    public static func preflightFacts(_ result: CommandResult) -> PreflightFacts? {
        guard result.succeeded else { return nil }
        var yesNo: [String: Bool] = [:]
        var facts = PreflightFacts()
        var ended = false
        for line in lines(result) {
            guard let eq = line.firstIndex(of: "=") else {
                if line == "end" { ended = true }
                continue
            }
            let tag = line[..<eq], value = String(line[line.index(after: eq)...])
            switch tag {
            case "service", "owner", "group", "workdir":
                if value == "yes" || value == "no" { yesNo[String(tag)] = value == "yes" }
            case "dir": facts.directories.insert(value)
            case "file": facts.files.insert(value)
            case "free":
                guard let space = value.firstIndex(of: " "), let kb = UInt64(value[..<space]) else { continue }
                facts.freeBytes[String(value[value.index(after: space)...])] = kb * 1024
            case "clock": facts.clock = Int(value)
            case "uid": facts.effectiveUID = value
            case "stray": facts.strayFiles.append(value)
            default: continue
            }
        }
        guard ended, let service = yesNo["service"], let owner = yesNo["owner"], let group = yesNo["group"],
              let workDir = yesNo["workdir"] else { return nil }
        facts.serviceExists = service
        facts.ownerExists = owner
        facts.groupExists = group
        facts.workDirExists = workDir
        return facts
    }
}

/// A node's answers to `NodeCommands.preflightFacts`.
public struct PreflightFacts: Sendable, Equatable {
    public var serviceExists = false
    public var ownerExists = false
    public var groupExists = false
    /// Those of `preflightFolders` that are folders.
    public var directories: Set<String> = []
    /// Those of `preflightFiles` that exist.
    public var files: Set<String> = []
    public var workDirExists = false
    /// Available bytes by path, where `df` answered.
    public var freeBytes: [String: UInt64] = [:]
    /// The node's clock, seconds since the epoch.
    public var clock: Int?
    /// Certificate-like files in the cert folder, as `find` listed them.
    public var strayFiles: [String] = []
    /// `id -u` as printed; `0` is root.
    public var effectiveUID: String?

    public init(serviceExists: Bool = false, ownerExists: Bool = false, groupExists: Bool = false,
                directories: Set<String> = [], files: Set<String> = [], workDirExists: Bool = false,
                freeBytes: [String: UInt64] = [:], clock: Int? = nil, strayFiles: [String] = [],
                effectiveUID: String? = nil) {
        self.serviceExists = serviceExists
        self.ownerExists = ownerExists
        self.groupExists = groupExists
        self.directories = directories
        self.files = files
        self.workDirExists = workDirExists
        self.freeBytes = freeBytes
        self.clock = clock
        self.strayFiles = strayFiles
        self.effectiveUID = effectiveUID
    }
}

/// Who holds a node's lock: written by `takeLock`, read back to name the holder.
/// Never holds a secret.
public struct LockRecord: Sendable, Equatable, Codable {
    public var runID: String
    public var controller: String
    public var user: String
    /// ISO 8601, UTC.
    public var started: String

    public init(runID: String, controller: String, user: String, started: String) {
        self.runID = runID
        self.controller = controller
        self.user = user
        self.started = started
    }

    /// One line of JSON, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Parses a lock file; nil when it is not one of ours.
    public init?(lockFile: Data) {
        guard let r = try? JSONDecoder().decode(LockRecord.self, from: lockFile) else { return nil }
        self = r
    }

    /// `run 20250101T… by ops@ctl since …`
    public var holderDescription: String { "run \(runID) by \(user)@\(controller) since \(started)" }
}
