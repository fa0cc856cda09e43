import ArgumentParser
import CertrollPKI
import CertrollRollout
import Foundation

/// The process entry: parse, run, map any error to one line on stderr and an
/// exit status. `main.swift` calls `CertrollMain.run()` and exits with it.
public enum CertrollMain {
    /// Runs the command line (or `arguments`, for tests) and returns the exit status.
    public static func run(_ arguments: [String]? = nil) async -> Int32 {
        OpenSSLRuntime.initializeWithoutExitCleanup()
        do {
            var command = try CertrollCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return ExitStatus.ok.rawValue
        } catch {
            let status = ExitStatus.of(error)
            if let message = ExitStatus.message(for: error) {
                Console.error(message, asHelp: status == .ok)
            }
            return status.rawValue
        }
    }
}

/// Where commands write: results on stdout, errors and progress on stderr.
enum Console {
    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// An error line (prefixed `certroll: `), or help text on stdout.
    static func error(_ message: String, asHelp: Bool = false) {
        if asHelp {
            out(message)
        } else {
            FileHandle.standardError.write(Data((message.hasPrefix("Error:") || message.hasPrefix("Usage:") ? message : "certroll: \(message)").utf8 + [0x0A]))
        }
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes `text` to stdout as is (renderers end their own lines).
    static func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
}
