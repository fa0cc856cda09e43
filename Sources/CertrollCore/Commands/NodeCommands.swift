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

    /// `{work_dir}/lock`
    public var lockPath: String { settings.workDir + "/lock" }

    /// `{work_dir}/backups/RUN_ID`
    public func backupDirectory(runID: String) -> String { settings.workDir + "/backups/" + runID }

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

    public static func lines(_ result: CommandResult) -> [String] {
        result.stdoutText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
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
