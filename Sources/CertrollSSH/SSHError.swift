public import CertrollCore

/// Why a call on a node failed. Equal by `code`; `description` is a sentence
/// that names the node and says what to do next. Never contains a secret.
public struct SSHError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; the CLI maps these to exit codes and hints.
    public enum Code: String, Sendable, Hashable {
        /// The host name did not resolve.
        case resolve
        /// No TCP connection (refused, unreachable) or the connection was lost.
        case connect
        /// A step did not finish within its timeout.
        case timeout
        /// The host key is unknown (strict), changed, or revoked.
        case hostKey
        /// The node refused every credential, or a key file could not be opened.
        case auth
        /// sudo refused, or needs a password that was not given.
        case become
        /// An SSH channel could not be opened or failed.
        case channel
        /// A file operation failed on the node.
        case sftp
        /// A helper command on the node exited non-zero.
        case remoteCommandFailed
    }

    /// What `node` names: the node itself, or a jump host on the way to it.
    public enum Subject: String, Sendable {
        case node, bastion
    }

    public let code: Code
    /// The node as named in the inventory, or the jump host as written (see `subject`).
    public let node: String
    public let subject: Subject
    /// What happened, without the node prefix.
    public let reason: String
    /// The next action for the user, a full sentence.
    public let fix: String?

    public init(_ code: Code, node: String, reason: String, fix: String? = nil, subject: Subject = .node) {
        self.code = code
        self.node = node
        self.reason = reason
        self.fix = fix
        self.subject = subject
    }

    public var description: String {
        "\(subject.rawValue) \(node): \(reason)" + (fix.map { " (\($0))" } ?? "")
    }

    /// The same failure, said of a jump host: its fixes speak of "the node" as
    /// the machine they concern, which is the jump host here.
    func onBastion() -> SSHError {
        SSHError(code, node: node, reason: reason, fix: fix?.replacingOccurrences(of: "the node", with: "the bastion"), subject: .bastion)
    }

    public static func == (a: SSHError, b: SSHError) -> Bool { a.code == b.code }

    public static func resolve(node: String, host: String, detail: String) -> SSHError {
        SSHError(.resolve, node: node, reason: "cannot resolve \(host): \(detail)",
                 fix: "check the host name in the inventory and DNS")
    }

    public static func connect(node: String, reason: String, fix: String? = nil) -> SSHError {
        SSHError(.connect, node: node, reason: reason,
                 fix: fix ?? "check that the node is up and sshd listens on that port")
    }

    public static func timeout(node: String, step: String, after: Duration) -> SSHError {
        SSHError(.timeout, node: node, reason: "\(step) timed out after \(DurationText.format(after))",
                 fix: "check the node and the network, or raise the timeout")
    }

    public static func hostKey(node: String, reason: String, fix: String) -> SSHError {
        SSHError(.hostKey, node: node, reason: reason, fix: fix)
    }

    public static func auth(node: String, reason: String, fix: String) -> SSHError {
        SSHError(.auth, node: node, reason: reason, fix: fix)
    }

    public static func become(node: String, reason: String, fix: String) -> SSHError {
        SSHError(.become, node: node, reason: reason, fix: fix)
    }

    public static func channel(node: String, reason: String) -> SSHError {
        SSHError(.channel, node: node, reason: reason, fix: "retry; if it persists check MaxSessions and the sshd log on the node")
    }

    public static func sftp(node: String, reason: String, fix: String? = nil) -> SSHError {
        SSHError(.sftp, node: node, reason: reason, fix: fix)
    }

    /// A command exited non-zero; its first line of stderr is quoted.
    public static func remoteCommandFailed(node: String, command: RemoteCommand, result: CommandResult) -> SSHError {
        let firstLine = result.stderrText.split(separator: "\n").first.map(String.init) ?? ""
        let how = result.signal.map { "was killed by SIG\($0)" } ?? "exited \(result.exitStatus)"
        return SSHError(
            .remoteCommandFailed, node: node,
            reason: "`\(command.shell)` \(how)" + (firstLine.isEmpty ? "" : ": \(firstLine)"),
            fix: "run it by hand on the node to see why")
    }
}
