import CertrollCore
import Foundation

/// Where one secret may come from, in order: a file option, an environment
/// variable, a no-echo prompt on a terminal. Never argv.
struct SecretSource {
    /// What it is, for prompts and errors: "the passphrase of key.pem".
    var what: String
    /// The file option's name, e.g. `--key-passphrase-file`, and its value.
    var option: String
    var file: String?
    var environment: String
    /// Ask twice on a terminal (for a new passphrase).
    var confirm = false
    /// An empty answer at the prompt means "none" (a sudo that needs no password).
    var allowsEmptyPrompt = false

    /// The secret from the file option or the environment; nil when neither gives one.
    func readWithoutPrompt() throws(CLIError) -> Secret? {
        if let file { return try Self.read(file: file) }
        if let value = ProcessInfo.processInfo.environment[environment], !value.isEmpty {
            return Secret(value)
        }
        return nil
    }

    /// The secret, or nil when none was given and there is no terminal to ask on.
    func readIfGiven() throws(CLIError) -> Secret? {
        if let secret = try readWithoutPrompt() { return secret }
        guard Console.stdinIsTerminal else { return nil }
        let first = try Self.prompt("Enter \(what): ")
        if first.isEmpty {
            if allowsEmptyPrompt { return nil }
            throw .emptySecret("the prompt")
        }
        if confirm {
            let second = try Self.prompt("Repeat \(what): ")
            guard first == second else { throw .secretMismatch() }
        }
        return first
    }

    /// The secret; throws when none is given and there is no terminal.
    func read() throws(CLIError) -> Secret {
        guard let secret = try readIfGiven() else {
            throw .missingSecret(what, option: option, environment: environment)
        }
        return secret
    }

    /// The first line of `file` (a trailing newline is not part of the secret).
    static func read(file: String) throws(CLIError) -> Secret {
        guard let data = FileManager.default.contents(atPath: file) else {
            let why = FileManager.default.fileExists(atPath: file) ? "permission denied or not a file" : "no such file"
            throw .unreadableSecretFile(file, why)
        }
        var bytes = Array(data)
        if let newline = bytes.firstIndex(of: 0x0A) { bytes = Array(bytes[..<newline]) }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { throw .emptySecret(file) }
        return Secret(bytes: bytes)
    }

    /// Reads a line from the terminal with echo off; the prompt goes to stderr.
    /// Echo goes off before the prompt shows, so nothing typed after it is
    /// echoed or flushed; Ctrl-C (or another fatal signal) at the prompt puts
    /// the terminal back before the process ends.
    private static func prompt(_ text: String) throws(CLIError) -> Secret {
        var saved = termios()
        let haveTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if haveTerminal {
            EchoGuard.arm(saved)
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        FileHandle.standardError.write(Data(text.utf8))
        defer {
            if haveTerminal {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved)
                EchoGuard.disarm()
            }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { return Secret("") }
        return Secret(line)
    }
}

/// Puts the terminal's echo back when a signal ends the process at a no-echo
/// prompt (otherwise the shell is left not echoing what is typed).
private enum EchoGuard {
    /// The settings before the prompt; read by the signal handler, so plain storage.
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var previous: [Int32: sighandler_t?] = [:]
    static let signals = [SIGINT, SIGTERM, SIGQUIT, SIGHUP]

    static func arm(_ settings: termios) {
        saved = settings
        for number in signals {
            let before = signal(number, restoreTerminalAndDie)
            // A signal the caller ignores stays ignored.
            if let before, unsafeBitCast(before, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { signal(number, SIG_IGN) }
            previous[number] = before
        }
    }

    static func disarm() {
        for number in signals { signal(number, previous[number] ?? SIG_DFL) }
        previous = [:]
    }
}

/// The handler: only async-signal-safe calls, then the signal's default action.
private func restoreTerminalAndDie(_ number: Int32) {
    tcsetattr(STDIN_FILENO, TCSANOW, &EchoGuard.saved)
    _ = write(STDERR_FILENO, "\n", 1)
    signal(number, SIG_DFL)
    raise(number)
}
