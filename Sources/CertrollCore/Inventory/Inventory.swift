import Foundation

/// A parsed inventory: the clusters to manage, each node's settings fully resolved.
public struct Inventory: Sendable, Equatable {
    /// Path the inventory was read from (for messages).
    public var file: String
    public var clusters: [Cluster]

    public init(file: String, clusters: [Cluster]) {
        self.file = file
        self.clusters = clusters
    }

    /// The clusters named in `names` (all when empty), in inventory order.
    /// Throws when a name matches no cluster.
    public func selecting(_ names: [String]) throws(InventoryError) -> [Cluster] {
        if names.isEmpty { return clusters }
        for name in names where !clusters.contains(where: { $0.name == name }) {
            throw InventoryError(
                code: .badValue,
                reason: "no cluster is named '\(name)'; known clusters: \(clusters.map(\.name).joined(separator: ", ")).",
                file: file, line: nil)
        }
        return clusters.filter { names.contains($0.name) }
    }
}

/// A primary and its live-backup nodes, rolled out together so they never
/// serve two different certificates.
public struct Cluster: Sendable, Equatable, Codable {
    public var name: String
    /// Names users browse to; the certificate must cover them.
    public var fqdn: [String]
    /// Load balancers or VIPs checked after the rollout.
    public var endpoints: [Endpoint]
    /// Local command run after the cluster is verified.
    public var afterSuccess: String?
    /// Primary first, then the backups in inventory order.
    public var nodes: [ClusterNode]
    /// Where this cluster's certificate comes from (`certificate:`), with
    /// `{cluster}`/`{fqdn}` substituted and paths absolute; nil when the
    /// inventory names none.
    public var certificate: CertificateSource?

    public init(name: String, fqdn: [String] = [], endpoints: [Endpoint] = [], afterSuccess: String? = nil,
                certificate: CertificateSource? = nil, nodes: [ClusterNode]) {
        self.name = name
        self.fqdn = fqdn
        self.endpoints = endpoints
        self.afterSuccess = afterSuccess
        self.certificate = certificate
        self.nodes = nodes.filter { $0.role == .primary } + nodes.filter { $0.role == .backup }
    }

    public var primary: ClusterNode { nodes[0] }
    public var backups: ArraySlice<ClusterNode> { nodes.dropFirst() }
}

/// The inventory's `certificate:` block for one cluster: files on the
/// controller, resolved (placeholders substituted, absolute paths).
public struct CertificateSource: Sendable, Equatable, Codable {
    /// Chain file, leaf first.
    public var cert: String
    /// Its private key.
    public var key: String
    /// File holding the key's passphrase; nil: `CERTROLL_KEY_PASSPHRASE`.
    public var keyPassphraseFile: String?

    public init(cert: String, key: String, keyPassphraseFile: String? = nil) {
        self.cert = cert
        self.key = key
        self.keyPassphraseFile = keyPassphraseFile
    }
}

/// `host:port` of a load balancer or virtual IP.
public struct Endpoint: Sendable, Equatable, Codable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { "\(host):\(port)" }
}

/// Live Backup role: the primary is active before the rollout, backups are standby.
public enum Role: String, Sendable, Equatable, Codable {
    case primary, backup
}

/// One XSOAR server, with everything needed to reach and manage it.
public struct ClusterNode: Sendable, Equatable, Codable {
    /// The name as written in the inventory (may be an ssh_config alias).
    public var host: String
    public var role: Role
    public var ssh: SSHSettings
    public var xsoar: XSOARSettings

    public init(host: String, role: Role, ssh: SSHSettings, xsoar: XSOARSettings) {
        self.host = host
        self.role = role
        self.ssh = ssh
        self.xsoar = xsoar
    }
}

/// `strict` refuses unknown host keys; `accept-new` records a first-seen key. Never "ignore".
public enum HostKeyPolicy: String, Sendable, Equatable, Codable {
    case strict
    case acceptNew = "accept-new"
}

/// How privilege is obtained once logged in.
public enum Become: String, Sendable, Equatable, Codable {
    case none, sudo
}

/// How to reach a node over SSH, resolved from inventory, ssh_config and defaults.
public struct SSHSettings: Sendable, Equatable, Codable {
    /// The address to connect to: ssh_config `HostName`, else the inventory `host`.
    public var hostName: String
    public var user: String
    public var port: Int
    /// Private key file, `~` expanded; nil means ssh-agent, then the usual key files.
    public var identity: String?
    /// `~` expanded.
    public var knownHosts: String
    public var hostKeyPolicy: HostKeyPolicy
    public var connectTimeout: Duration
    public var become: Become
    /// Jump hosts in order, first hop first (`proxy_jump`, else ssh_config
    /// `ProxyJump`); empty: connect directly. Each hop's host key is checked with
    /// this node's `knownHosts` and `hostKeyPolicy`.
    public var proxyJump: [JumpHost]
    /// ssh_config `ProxyCommand` as written (`%h`, `%p`, `%r`, `%%` not yet
    /// substituted); nil when none. Never set together with `proxyJump`.
    public var proxyCommand: String?

    public init(hostName: String, user: String = "root", port: Int = 22, identity: String? = nil,
                knownHosts: String, hostKeyPolicy: HostKeyPolicy = .strict,
                connectTimeout: Duration = .seconds(10), become: Become = .none,
                proxyJump: [JumpHost] = [], proxyCommand: String? = nil) {
        self.hostName = hostName
        self.user = user
        self.port = port
        self.identity = identity
        self.knownHosts = knownHosts
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.become = become
        self.proxyJump = proxyJump
        self.proxyCommand = proxyCommand
    }
}

/// One jump host on the way to a node, written `[user@]host[:port]` and
/// resolved like a node through ssh_config (`HostName`, `User`, `Port`,
/// `IdentityFile` of its alias); what is unset falls back to the node's own
/// `user`, 22 and the node's `identity`.
public struct JumpHost: Sendable, Hashable, Codable, CustomStringConvertible {
    /// As written in the inventory or ssh_config (for messages).
    public var name: String
    /// The address to dial; also the name looked up in `known_hosts`.
    public var hostName: String
    public var user: String
    public var port: Int
    /// Private key file, `~` expanded; nil: ssh-agent, then the usual key files.
    public var identity: String?

    public init(name: String, hostName: String, user: String, port: Int = 22, identity: String? = nil) {
        self.name = name
        self.hostName = hostName
        self.user = user
        self.port = port
        self.identity = identity
    }

    public var description: String { "bastion \(name)" }
}

/// Where XSOAR keeps its files on a node and how its service is driven.
public struct XSOARSettings: Sendable, Equatable, Codable {
    public var service: String
    /// Command templates with `{service}` already substituted.
    public var stopCommand: String
    public var startCommand: String
    public var statusCommand: String
    public var certPath: String
    public var keyPath: String
    public var confPath: String
    public var otcPath: String
    public var owner: String
    public var group: String
    public var httpsPort: Int
    public var startTimeout: Duration
    /// On the node: `lock` and `backups/RUN_ID/`.
    public var workDir: String

    public static let defaultCertPath = "/usr/local/demisto/cert.pem"
    public static let defaultKeyPath = "/usr/local/demisto/cert.key"

    /// The built-in defaults of the inventory format (docs/usage.md).
    public static let defaults = XSOARSettings(
        service: "demisto",
        stopCommand: "service demisto stop", startCommand: "service demisto start",
        statusCommand: "service demisto status",
        certPath: defaultCertPath, keyPath: defaultKeyPath,
        confPath: "/etc/demisto.conf", otcPath: "/var/lib/demisto/otc.conf.json",
        owner: "demisto", group: "demisto", httpsPort: 443,
        startTimeout: .seconds(600), workDir: "/var/lib/certroll")

    public init(service: String, stopCommand: String, startCommand: String, statusCommand: String,
                certPath: String, keyPath: String, confPath: String, otcPath: String,
                owner: String, group: String, httpsPort: Int, startTimeout: Duration, workDir: String) {
        self.service = service
        self.stopCommand = stopCommand
        self.startCommand = startCommand
        self.statusCommand = statusCommand
        self.certPath = certPath
        self.keyPath = keyPath
        self.confPath = confPath
        self.otcPath = otcPath
        self.owner = owner
        self.group = group
        self.httpsPort = httpsPort
        self.startTimeout = startTimeout
        self.workDir = workDir
    }

    /// The folder XSOAR reads the certificate from (where stray files confuse it).
    public var certDirectory: String { (certPath as NSString).deletingLastPathComponent }
}
