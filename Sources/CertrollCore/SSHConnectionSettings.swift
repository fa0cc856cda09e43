/// How to reach one node over SSH: the inventory's `ssh:` block, resolved for
/// that node, plus the secrets that came from files, the environment or a prompt.
///
/// A plain value. The inventory loader fills it (defaults below match SPEC.md);
/// `CertrollSSH.SSHHost.connect(node:address:settings:)` consumes it.
public struct SSHConnectionSettings: Sendable, Hashable {
    /// `host_key_policy`: the inventory's own enum.
    public typealias HostKeyPolicy = CertrollCore.HostKeyPolicy

    /// `become`: the inventory's own enum.
    public typealias Become = CertrollCore.Become

    /// Login user (`user`, default root).
    public var user: String
    /// TCP port (`port`, default 22).
    public var port: Int
    /// Private key file (`identity`); `~` is expanded. nil: ssh-agent, then
    /// `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    public var identity: String?
    /// `known_hosts` file (`known_hosts`); `~` is expanded.
    public var knownHosts: String
    public var hostKeyPolicy: HostKeyPolicy
    /// TCP connect + handshake + authentication, each step (`connect_timeout`).
    public var connectTimeout: Duration
    /// Longest silence tolerated during a file transfer or other SFTP call.
    public var ioTimeout: Duration
    /// Interval of SSH keepalive messages while a call waits on the node.
    public var keepaliveInterval: Duration
    public var become: Become
    /// Passphrase of `identity` (or of the default key files).
    public var keyPassphrase: Secret?
    /// Login password, used for `password` and `keyboard-interactive` authentication.
    public var password: Secret?
    /// sudo password (`--become-password-file`, `CERTROLL_BECOME_PASSWORD`).
    public var becomePassword: Secret?

    public init(
        user: String = "root",
        port: Int = 22,
        identity: String? = nil,
        knownHosts: String = "~/.ssh/known_hosts",
        hostKeyPolicy: HostKeyPolicy = .strict,
        connectTimeout: Duration = .seconds(10),
        ioTimeout: Duration = .seconds(60),
        keepaliveInterval: Duration = .seconds(15),
        become: Become = .none,
        keyPassphrase: Secret? = nil,
        password: Secret? = nil,
        becomePassword: Secret? = nil
    ) {
        self.user = user
        self.port = port
        self.identity = identity
        self.knownHosts = knownHosts
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
        self.keepaliveInterval = keepaliveInterval
        self.become = become
        self.keyPassphrase = keyPassphrase
        self.password = password
        self.becomePassword = becomePassword
    }
}

extension SSHConnectionSettings {
    /// A node's resolved inventory `ssh:` block plus this run's secrets.
    /// Dial `ssh.hostName`; it is also the name looked up in `known_hosts`.
    public init(_ ssh: SSHSettings, keyPassphrase: Secret? = nil, password: Secret? = nil, becomePassword: Secret? = nil) {
        self.init(
            user: ssh.user, port: ssh.port, identity: ssh.identity, knownHosts: ssh.knownHosts,
            hostKeyPolicy: ssh.hostKeyPolicy, connectTimeout: ssh.connectTimeout, become: ssh.become,
            keyPassphrase: keyPassphrase, password: password, becomePassword: becomePassword)
    }
}
