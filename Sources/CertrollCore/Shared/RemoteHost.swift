public import Foundation

/// A shell command to run on a node, as a value: built by pure functions,
/// compared by string equality in tests, sequenced by the engine.
/// It never contains a secret; secrets travel on stdin or in 0600 files.
public struct RemoteCommand: Hashable, Sendable, CustomStringConvertible {
    /// The command line as `sh -c` would receive it, already quoted.
    public var shell: String
    public init(_ shell: String) { self.shell = shell }
    public var description: String { shell }
}

/// Quoting for POSIX `sh`.
public enum ShellQuote {
    /// `abc` stays `abc`; anything else is wrapped in single quotes.
    public static func quote(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_-+=:,./")
        if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}

/// What a finished remote command returned.
public struct CommandResult: Sendable, Equatable {
    public var exitStatus: Int32
    /// Set when the command was killed by a signal (e.g. "KILL").
    public var signal: String?
    public var stdout: Data
    public var stderr: Data

    public init(exitStatus: Int32, signal: String? = nil, stdout: Data = Data(), stderr: Data = Data()) {
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { exitStatus == 0 && signal == nil }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// What `stat` reports of a remote file.
public struct RemoteFileStat: Sendable, Equatable {
    public var size: UInt64
    /// Permission bits only (e.g. 0o600).
    public var mode: UInt32
    public var owner: String
    public var group: String
    public var isDirectory: Bool

    public init(size: UInt64, mode: UInt32, owner: String, group: String, isDirectory: Bool = false) {
        self.size = size
        self.mode = mode
        self.owner = owner
        self.group = group
        self.isDirectory = isDirectory
    }
}

/// A node as the rollout engine sees it: privileged operations, already
/// authenticated, with `become` (sudo) handled underneath. Implemented over
/// libssh2 by CertrollSSH and in memory by the test kit.
///
/// Every method throws an error that names the node. Calls on one host may be
/// made from any task; the implementation serialises them.
public protocol RemoteHost: Sendable {
    /// The node's name as the user wrote it in the inventory.
    var name: String { get }
    /// Runs `command` through `sh -c` with privilege; `stdin` is written and closed first.
    func run(_ command: RemoteCommand, stdin: Secret?, timeout: Duration) async throws -> CommandResult
    /// Creates or replaces `path` with `contents`: the file is created 0600 before
    /// any byte is written, then owner/group/mode are set. Not atomic; write to
    /// a temp name and `rename` for that.
    func writeFile(_ path: String, contents: Data, mode: UInt32, owner: String, group: String) async throws
    func readFile(_ path: String) async throws -> Data
    /// nil when the path does not exist.
    func stat(_ path: String) async throws -> RemoteFileStat?
    /// Atomic rename within one filesystem; replaces `to`.
    func rename(_ from: String, to: String) async throws
    /// Removes a file; no error when it is already gone.
    func remove(_ path: String) async throws
    /// Creates a directory (and parents) with `mode`, owned by root.
    func makeDirectory(_ path: String, mode: UInt32) async throws
    /// Ends the connection.
    func close() async
}

/// The certificate chain a TLS endpoint served.
public struct ServedChain: Sendable, Equatable {
    /// DER of each certificate, leaf first, as sent.
    public var certificatesDER: [Data]
    /// SHA-256 of the leaf's DER, lowercase hex, no separators.
    public var leafFingerprint: String
    public var negotiatedProtocol: String

    public init(certificatesDER: [Data], leafFingerprint: String, negotiatedProtocol: String) {
        self.certificatesDER = certificatesDER
        self.leafFingerprint = leafFingerprint
        self.negotiatedProtocol = negotiatedProtocol
    }
}

/// Connects to `host:port`, completes a TLS handshake without trusting anything
/// (we only want to see what is served) and reports the chain.
public protocol TLSProbe: Sendable {
    func probe(host: String, port: Int, serverName: String?, timeout: Duration) async throws -> ServedChain
}
