public import Foundation

/// Runs the built `certroll` binary (`swift build` builds it; `make test`
/// runs `swift build --build-tests` first).
public enum Certroll {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
        public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    public static let executable: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("certroll"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("certroll"),
            // Sources/CertrollTestKit/ → the package root.
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/certroll"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    /// Runs with stdin not a terminal and no CERTROLL_* variables but `environment`.
    public static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CERTROLL_") }
        env.merge(environment) { $1 }
        return try runProcess(executable, arguments, environment: env, in: directory)
    }

    /// Runs as an unprivileged user: as root, through `setpriv` as nobody, so the
    /// refusals a non-root user gets are tested on CI (which runs as root) too.
    public static func runUnprivileged(_ arguments: [String]) throws -> Result {
        guard getuid() == 0 else { return try run(arguments) }
        let env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CERTROLL_") }
        return try runProcess(URL(fileURLWithPath: "/usr/bin/setpriv"),
                              ["--reuid=65534", "--regid=65534", "--clear-groups", executable.path] + arguments,
                              environment: env, in: URL(fileURLWithPath: "/"))
    }

    /// Runs a program with stdin from /dev/null and collects both streams.
    /// stderr is drained on its own thread: a child that fills one pipe while
    /// we wait on the other would otherwise never finish.
    static func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                           in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stderrBox = DataBox()
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            stderrBox.data = err.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderrBox.data, as: UTF8.self))
    }

    private final class DataBox: @unchecked Sendable {
        var data = Data()
    }
}

/// The real `openssl` CLI, to cross-check what certroll wrote.
public enum OpenSSLCLI {
    public static func run(_ arguments: [String]) throws -> Certroll.Result {
        try Certroll.runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + arguments)
    }
}

/// A test PKI valid around the real clock (the binary checks against `Date()`).
public enum LivePKI {
    public static let shared: TestPKI = {
        do { return try TestPKI(reference: Date()) } catch { fatalError("test PKI: \(error)") }
    }()
}
