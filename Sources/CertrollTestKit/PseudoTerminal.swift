import CertrollCore
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program running on a pseudo-terminal, as a person at a terminal would
/// run it: the pty's slave is its stdin, stdout and stderr and its
/// controlling terminal (a new session), so `isatty` is true, Ctrl-C
/// (`interrupt()`) reaches it through the line discipline, and echo can be
/// turned off by the program.
///
/// Nothing here waits without a deadline: every read has a timeout, and
/// `close()` (also `deinit`) kills the child's process group by pid and reaps
/// it. The blocking calls (`expect`, `waitForExit`) run on a thread of their
/// own through the `async` wrappers, never on the cooperative pool.
public final class PseudoTerminal: @unchecked Sendable {
    /// The child's pid; also its process group and session id.
    public let pid: pid_t
    private let master: Int32
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    /// Where the next `expect` starts looking.
    private var cursor = 0
    private var exitStatus: Int32?
    private var closed = false

    /// Starts `executable` with `arguments` on a new 120x40 pty. `environment`
    /// is merged over this process's environment minus every `CERTROLL_*`
    /// variable (as `Certroll.run` does).
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws(PseudoTerminalError) -> PseudoTerminal {
        var master: Int32 = -1, slave: Int32 = -1
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0 else {
            throw PseudoTerminalError(.spawnFailed, "openpty failed: \(String(cString: strerror(errno)))", output: "")
        }
        defer { Glibc.close(slave) }
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        var nameBuffer = [CChar](repeating: 0, count: 128)
        guard ttyname_r(slave, &nameBuffer, nameBuffer.count) == 0 else {
            Glibc.close(master)
            throw PseudoTerminalError(.spawnFailed, "ttyname_r failed", output: "")
        }
        let slavePath = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Opened after setsid (glibc runs the flags before the file actions) and
        // without O_NOCTTY, so the slave becomes the controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        // No descriptor of the test process (pipes of other tests) leaks into the child.
        _ = Self.closeFrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        posix_spawnattr_setflags(&attributes, Int16(Self.setsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CERTROLL_") }
        merged["TERM"] = "xterm"
        merged.merge(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            Glibc.close(master)
            throw PseudoTerminalError(.spawnFailed, "cannot run \(executable): \(String(cString: strerror(rc)))", output: "")
        }
        return PseudoTerminal(pid: pid, master: master)
    }

    /// glibc's `POSIX_SPAWN_SETSID`, which Swift's Glibc module hides behind `__USE_GNU`.
    private static let setsid: Int32 = 0x80

    /// glibc ≥ 2.34's `posix_spawn_file_actions_addclosefrom_np`, hidden like `setsid`.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private init(pid: pid_t, master: Int32) {
        self.pid = pid
        self.master = master
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    /// Everything the program wrote so far (stdout and stderr interleaved, as on a screen).
    public var output: String {
        lock.withLock { String(decoding: bytes, as: UTF8.self) }
    }

    /// Types `text` (use `"\n"` for Return).
    public func send(_ text: String) {
        var data = Array(text.utf8)
        while !data.isEmpty {
            let written = data.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if written > 0 {
                data.removeFirst(written)
            } else if written < 0 && errno != EAGAIN && errno != EINTR {
                return
            } else {
                _ = pump(waitingAtMost: 10)
            }
        }
    }

    /// Ctrl-C as typed: the line discipline sends SIGINT to the foreground process group.
    public func interrupt() { send("\u{03}") }

    /// Sends `signal` to the child's whole process group (its session's only group).
    public func signal(_ signal: Int32) { _ = kill(-pid, signal) }

    /// True while the terminal echoes what is typed (the program may have turned it off).
    public var echoes: Bool {
        var settings = termios()
        guard tcgetattr(master, &settings) == 0 else { return true }
        return settings.c_lflag & tcflag_t(ECHO) != 0
    }

    /// Waits until the output after the last match contains `text`; returns
    /// the output from the last match up to and including this one.
    @discardableResult
    public func expectBlocking(_ text: String, timeout: Duration) throws(PseudoTerminalError) -> String {
        let needle = Array(text.utf8)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = lock.withLock({ () -> String? in
                guard let range = Self.find(needle, in: bytes, from: cursor) else { return nil }
                let seen = String(decoding: bytes[cursor..<range.upperBound], as: UTF8.self)
                cursor = range.upperBound
                return seen
            }) {
                return found
            }
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                throw PseudoTerminalError(.timedOut, "no \"\(text)\" within \(timeout)", output: output)
            }
            if !pump(waitingAtMost: Self.milliseconds(left)) {
                // End of output: one last look, then give up.
                if lock.withLock({ Self.find(needle, in: bytes, from: cursor) }) != nil { continue }
                throw PseudoTerminalError(.exited, "the program ended without writing \"\(text)\"", output: output)
            }
        }
    }

    /// Reads output until the program exits; returns its exit status (128 + N
    /// when signal N ended it). Throws after `timeout` (the child keeps running
    /// until `close()`).
    public func waitForExitBlocking(timeout: Duration) throws(PseudoTerminalError) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = reap() {
                // Drain what is still buffered in the pty.
                while pump(waitingAtMost: 50) {}
                return status
            }
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                throw PseudoTerminalError(.timedOut, "pid \(pid) still running after \(timeout)", output: output)
            }
            if !pump(waitingAtMost: min(100, Self.milliseconds(left))) {
                // The slave side is closed; the exit is imminent.
                usleep(20_000)
            }
        }
    }

    /// Kills the child's process group by pid (SIGKILL), reaps it, closes the pty. Safe to call twice.
    public func close() {
        let already = lock.withLock { () -> Bool in
            defer { closed = true }
            return closed
        }
        if already { return }
        if reap() == nil {
            _ = kill(-pid, SIGKILL)
            _ = kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        Glibc.close(master)
    }

    /// Reads what is available within `milliseconds`; false at end of output (EIO: every slave fd closed).
    private func pump(waitingAtMost milliseconds: Int) -> Bool {
        var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(clamping: milliseconds))
        if ready <= 0 { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        if count > 0 {
            lock.withLock { bytes += buffer.prefix(count) }
            return true
        }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return true }
        return false
    }

    /// The exit status once the child ended (reaped once, remembered).
    private func reap() -> Int32? {
        if let known = lock.withLock({ exitStatus }) { return known }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7F
        let code = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        lock.withLock { exitStatus = code }
        return code
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Range<Int>? {
        guard !needle.isEmpty, haystack.count - start >= needle.count else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index..<index + needle.count }
        }
        return nil
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        max(1, Int(duration.wholeMilliseconds))
    }
}

extension PseudoTerminal {
    /// `expectBlocking` on a thread of its own.
    @discardableResult
    public func expect(_ text: String, timeout: Duration = .seconds(30)) async throws(PseudoTerminalError) -> String {
        try await Blocking.run("certroll.pty") { () throws(PseudoTerminalError) -> String in
            try self.expectBlocking(text, timeout: timeout)
        }
    }

    /// `waitForExitBlocking` on a thread of its own.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws(PseudoTerminalError) -> Int32 {
        try await Blocking.run("certroll.pty") { () throws(PseudoTerminalError) -> Int32 in
            try self.waitForExitBlocking(timeout: timeout)
        }
    }

    /// The built `certroll` on a new pty.
    public static func certroll(_ arguments: [String], environment: [String: String] = [:]) throws(PseudoTerminalError) -> PseudoTerminal {
        try spawn(Certroll.executable.path, arguments, environment: environment)
    }
}

/// Why a pty session failed; carries the output seen so far for the test's message.
public struct PseudoTerminalError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case spawnFailed = "pty.spawn-failed"
        case timedOut = "pty.timed-out"
        case exited = "pty.exited"
    }

    public var code: Code
    public var reason: String
    public var output: String

    public init(_ code: Code, _ reason: String, output: String) {
        self.code = code
        self.reason = reason
        self.output = output
    }

    public static func == (lhs: PseudoTerminalError, rhs: PseudoTerminalError) -> Bool { lhs.code == rhs.code }
    public var description: String { "\(reason) [\(code.rawValue)]; output so far:\n\(output.suffix(4000))" }
}
