public import CertrollCore

/// The secrets a connection may need, kept apart from `SSHSettings` because
/// settings are journaled and secrets never are (this type is not `Codable`).
public struct SSHSecrets: Sendable {
    /// Passphrase of the identity file (`identity`, or one of the default key files).
    public var keyPassphrase: Secret?
    /// Login password, for `password` and `keyboard-interactive` authentication.
    public var password: Secret?
    /// sudo password for `become: sudo`; only ever written to sudo's stdin.
    public var becomePassword: Secret?

    public init(keyPassphrase: Secret? = nil, password: Secret? = nil, becomePassword: Secret? = nil) {
        self.keyPassphrase = keyPassphrase
        self.password = password
        self.becomePassword = becomePassword
    }
}

/// How long the link may stay silent: not inventory settings, tuned by tests and benchmarks.
public struct SSHTimeouts: Sendable {
    /// Longest silence tolerated during a file transfer or other SFTP call.
    public var io: Duration
    /// Interval of SSH keepalive messages while a call waits on the node.
    public var keepalive: Duration

    public init(io: Duration = .seconds(60), keepalive: Duration = .seconds(15)) {
        self.io = io
        self.keepalive = keepalive
    }
}
