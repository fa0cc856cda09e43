public import Foundation

/// What a node's HTTPS port served, already interpreted by the PKI layer.
public struct ServedCertificate: Sendable, Equatable, Codable {
    /// SHA-256 of the leaf's DER, lowercase hex.
    public var leafFingerprint: String
    public var subject: String
    public var subjectAlternativeNames: [String]
    public var notAfter: Date
    /// Number of certificates sent.
    public var chainLength: Int
    /// nil when the served chain is complete, ordered and its signatures verify;
    /// otherwise what is wrong with it (e.g. "intermediate missing after the leaf").
    public var chainProblem: String?
    /// Cluster names (fqdn) that the leaf does not cover.
    public var uncoveredNames: [String]

    public init(
        leafFingerprint: String, subject: String, subjectAlternativeNames: [String], notAfter: Date,
        chainLength: Int, chainProblem: String?, uncoveredNames: [String]
    ) {
        self.leafFingerprint = leafFingerprint
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notAfter = notAfter
        self.chainLength = chainLength
        self.chainProblem = chainProblem
        self.uncoveredNames = uncoveredNames
    }
}

/// What a node stores on disk, read over SSH.
public struct StoredCertificate: Sendable, Equatable, Codable {
    /// SHA-256 of the first certificate in `cert_path`, lowercase hex.
    public var leafFingerprint: String
    /// The key file's format as the PKI layer names it (e.g. "PKCS#1 RSA, legacy-encrypted AES-256-CBC").
    public var keyFormat: String
    /// True when the key is PKCS#8-encrypted, which XSOAR cannot load.
    public var keyIsPKCS8Encrypted: Bool

    public init(leafFingerprint: String, keyFormat: String, keyIsPKCS8Encrypted: Bool) {
        self.leafFingerprint = leafFingerprint
        self.keyFormat = keyFormat
        self.keyIsPKCS8Encrypted = keyIsPKCS8Encrypted
    }
}

/// One node's observations; a failed observation carries the reason.
public struct NodeObservation: Sendable {
    public var cluster: String
    public var node: String
    public var role: String
    public var served: Result<ServedCertificate, ObservationFailure>
    /// nil when SSH was not used (`--no-ssh`).
    public var stored: Result<StoredCertificate, ObservationFailure>?

    public init(
        cluster: String, node: String, role: String,
        served: Result<ServedCertificate, ObservationFailure>,
        stored: Result<StoredCertificate, ObservationFailure>?
    ) {
        self.cluster = cluster
        self.node = node
        self.role = role
        self.served = served
        self.stored = stored
    }
}

/// Why an observation could not be made (already a sentence naming the node).
public struct ObservationFailure: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// How bad a finding is; the worst one decides `status`'s exit code.
public enum Severity: String, Sendable, Codable, Comparable {
    case ok, warning, error

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// `status`: 0 all fine · 1 a warning · 2 an error finding.
    public var exitCode: Int32 { Int32(rank) }
}

/// One thing `status` found worth saying.
public struct StatusFinding: Sendable, Equatable, Codable {
    /// Stable identifiers for scripts.
    public enum Kind: String, Sendable, Codable {
        case expiresSoon = "expires-soon"
        case expired
        case servedDiffersFromDisk = "served-differs-from-disk"
        case pairSplit = "pair-split"
        case nameNotCovered = "name-not-covered"
        case chainProblem = "chain-problem"
        case keyPKCS8Encrypted = "key-pkcs8-encrypted"
        case unreachable
        case sshFailed = "ssh-failed"
    }

    public var kind: Kind
    public var severity: Severity
    public var cluster: String
    /// nil for a cluster-wide finding (a split pair).
    public var node: String?
    public var message: String
}

/// One node's row in the report.
public struct NodeStatus: Sendable, Equatable, Codable {
    public var cluster: String
    public var node: String
    public var role: String
    public var up: Bool
    public var served: ServedCertificate?
    public var stored: StoredCertificate?
    /// Whole days until the served leaf expires (negative once expired).
    public var daysLeft: Int?
}

/// The fleet's status: rows, findings, and what they add up to.
public struct FleetStatus: Sendable, Equatable, Codable {
    public var generatedAt: Date
    public var warnDays: Int
    public var nodes: [NodeStatus]
    public var findings: [StatusFinding]
    /// Clusters whose reachable nodes all serve the same leaf.
    public var consistentClusters: [String: Bool]

    public var worst: Severity { findings.map(\.severity).max() ?? .ok }

    /// Turns observations into findings. Pure: `now` and `warnDays` are given.
    public init(observations: [NodeObservation], now: Date, warnDays: Int) {
        generatedAt = now
        self.warnDays = warnDays
        var nodes: [NodeStatus] = []
        var findings: [StatusFinding] = []
        var clusterOrder: [String] = []
        var servedByCluster: [String: Set<String>] = [:]

        for o in observations {
            if !clusterOrder.contains(o.cluster) { clusterOrder.append(o.cluster) }
            func add(_ kind: StatusFinding.Kind, _ severity: Severity, _ message: String) {
                findings.append(.init(kind: kind, severity: severity, cluster: o.cluster, node: o.node, message: message))
            }
            var row = NodeStatus(cluster: o.cluster, node: o.node, role: o.role, up: false)
            switch o.served {
            case .failure(let failure):
                add(.unreachable, .error, failure.reason)
            case .success(let served):
                row.up = true
                row.served = served
                servedByCluster[o.cluster, default: []].insert(served.leafFingerprint)
                let days = Int((served.notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
                row.daysLeft = days
                let date = served.notAfter.formatted(.iso8601)
                if served.notAfter <= now {
                    add(.expired, .error, "node \(o.node): the served certificate expired on \(date); renew it now (certroll apply).")
                } else if days < warnDays {
                    add(.expiresSoon, .warning, "node \(o.node): the served certificate expires in \(days) days (\(date)); plan a renewal.")
                }
                for name in served.uncoveredNames {
                    add(.nameNotCovered, .error, "node \(o.node): the served certificate does not cover \(name); users browsing to it get a name mismatch.")
                }
                if let problem = served.chainProblem {
                    add(.chainProblem, .error, "node \(o.node): the served chain is wrong: \(problem); rebuild cert.pem with certroll bundle.")
                }
            }
            switch o.stored {
            case nil:
                break
            case .failure(let failure)?:
                add(.sshFailed, .error, failure.reason)
            case .success(let stored)?:
                row.stored = stored
                if stored.keyIsPKCS8Encrypted {
                    add(.keyPKCS8Encrypted, .error, "node \(o.node): the key on disk is PKCS#8-encrypted, which XSOAR cannot load; convert it with certroll key convert.")
                }
                if case .success(let served) = o.served, served.leafFingerprint != stored.leafFingerprint {
                    add(.servedDiffersFromDisk, .warning, "node \(o.node): it serves a different certificate than the one on disk; a restart is pending or the server loads another file.")
                }
            }
            nodes.append(row)
        }
        var consistent: [String: Bool] = [:]
        for cluster in clusterOrder {
            let leaves = servedByCluster[cluster] ?? []
            consistent[cluster] = leaves.count <= 1
            if leaves.count > 1 {
                findings.append(.init(
                    kind: .pairSplit, severity: .error, cluster: cluster, node: nil,
                    message: "cluster \(cluster): its nodes serve \(leaves.count) different certificates; roll one out to the whole cluster (certroll apply)."))
            }
        }
        self.nodes = nodes
        self.findings = findings
        self.consistentClusters = consistent
    }
}
