public import Foundation

/// What a node's HTTPS port served, already interpreted by the PKI layer.
public struct ServedCertificate: Sendable, Equatable, Codable {
    /// SHA-256 of the leaf's DER, lowercase hex.
    public var leafFingerprint: String
    public var subject: String
    /// As `DNS:name` / `IP:address`.
    public var subjectAlternativeNames: [String]
    public var notBefore: Date
    public var notAfter: Date
    /// Number of certificates sent.
    public var chainLength: Int
    /// nil when the served chain is complete, ordered and its signatures verify;
    /// otherwise what is wrong with it (e.g. "only the leaf is served; …").
    public var chainProblem: String?
    /// Cluster names (fqdn) that the leaf does not cover.
    public var uncoveredNames: [String]
    /// `TLSv1.3`, `TLSv1.2`.
    public var tlsVersion: String

    public init(
        leafFingerprint: String, subject: String, subjectAlternativeNames: [String], notBefore: Date, notAfter: Date,
        chainLength: Int, chainProblem: String?, uncoveredNames: [String], tlsVersion: String
    ) {
        self.leafFingerprint = leafFingerprint
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.chainLength = chainLength
        self.chainProblem = chainProblem
        self.uncoveredNames = uncoveredNames
        self.tlsVersion = tlsVersion
    }
}

/// What a node stores on disk, read over SSH. Never holds key material.
public struct StoredCertificate: Sendable, Equatable, Codable {
    /// SHA-256 of the first certificate in `cert_path` (the one XSOAR matches the key against), lowercase hex.
    public var leafFingerprint: String
    /// Certificates in `cert_path`.
    public var chainLength: Int
    /// The key file's format as the PKI layer names it (e.g. "unencrypted PKCS#1 (BEGIN RSA PRIVATE KEY)").
    public var keyFormat: String
    /// True when the key is PKCS#8-encrypted, which XSOAR cannot load.
    public var keyIsPKCS8Encrypted: Bool

    public init(leafFingerprint: String, chainLength: Int, keyFormat: String, keyIsPKCS8Encrypted: Bool) {
        self.leafFingerprint = leafFingerprint
        self.chainLength = chainLength
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
    /// Stable identifiers for scripts (the JSON `kind`).
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The served leaf expires within `--warn-days` (warning).
        case expiresSoon = "expires-soon"
        /// The served leaf's not-after has passed (error).
        case expired
        /// The served leaf's not-before is still ahead (error).
        case notYetValid = "not-yet-valid"
        /// The served leaf is not the first certificate of `cert_path` (warning).
        case servedDiffersFromDisk = "served-differs-from-disk"
        /// The reachable nodes of a cluster serve different leaves (error).
        case pairSplit = "pair-split"
        /// A cluster fqdn is not covered by the served leaf (error).
        case nameNotCovered = "name-not-covered"
        /// The served chain is incomplete, misordered or does not verify (error).
        case chainProblem = "chain-problem"
        /// `key_path` holds a PKCS#8-encrypted key, which XSOAR cannot load (error).
        case keyPKCS8Encrypted = "key-pkcs8-encrypted"
        /// No TLS handshake with the node's HTTPS port (error).
        case unreachable
        /// The node's files could not be read over SSH (error).
        case sshFailed = "ssh-failed"
    }

    public var kind: Kind
    public var severity: Severity
    public var cluster: String
    /// nil for a cluster-wide finding (a split pair).
    public var node: String?
    public var message: String

    public init(kind: Kind, severity: Severity, cluster: String, node: String?, message: String) {
        self.kind = kind
        self.severity = severity
        self.cluster = cluster
        self.node = node
        self.message = message
    }
}

/// One node's row in the report.
public struct NodeStatus: Sendable, Equatable, Codable {
    public var cluster: String
    public var node: String
    public var role: String
    /// The HTTPS port completed a TLS handshake.
    public var up: Bool
    /// nil with `--no-ssh`; otherwise whether cert and key were read over SSH.
    public var sshOK: Bool?
    public var served: ServedCertificate?
    public var stored: StoredCertificate?
    /// Whole days until the served leaf expires (negative once expired).
    public var daysLeft: Int?
    /// The worst of this node's findings (a split pair counts for each of its nodes).
    public var severity: Severity
}

/// One cluster's summary.
public struct ClusterStatus: Sendable, Equatable, Codable {
    public var name: String
    /// Every reachable node serves the same leaf (true when none or one is reachable).
    public var consistent: Bool
    public var nodes: Int

    public init(name: String, consistent: Bool, nodes: Int) {
        self.name = name
        self.consistent = consistent
        self.nodes = nodes
    }
}

/// The fleet's status: rows, findings, and what they add up to.
public struct FleetStatus: Sendable, Equatable, Codable {
    public var generatedAt: Date
    public var warnDays: Int
    public var clusters: [ClusterStatus]
    public var nodes: [NodeStatus]
    public var findings: [StatusFinding]

    public var worst: Severity { findings.map(\.severity).max() ?? .ok }

    /// Turns observations into findings. Pure: `now` and `warnDays` are given.
    public init(observations: [NodeObservation], now: Date, warnDays: Int) {
        generatedAt = now
        self.warnDays = warnDays
        var nodes: [NodeStatus] = []
        var findings: [StatusFinding] = []
        var clusterOrder: [String] = []
        var servedByCluster: [String: [String]] = [:]
        var nodesByCluster: [String: Int] = [:]

        for o in observations {
            if !clusterOrder.contains(o.cluster) { clusterOrder.append(o.cluster) }
            nodesByCluster[o.cluster, default: 0] += 1
            var severity = Severity.ok
            func add(_ kind: StatusFinding.Kind, _ level: Severity, _ message: String) {
                severity = max(severity, level)
                findings.append(.init(kind: kind, severity: level, cluster: o.cluster, node: o.node, message: message))
            }
            var row = NodeStatus(cluster: o.cluster, node: o.node, role: o.role, up: false, severity: .ok)
            switch o.served {
            case .failure(let failure):
                add(.unreachable, .error, failure.reason)
            case .success(let served):
                row.up = true
                row.served = served
                if !(servedByCluster[o.cluster]?.contains(served.leafFingerprint) ?? false) {
                    servedByCluster[o.cluster, default: []].append(served.leafFingerprint)
                }
                let left = served.notAfter.timeIntervalSince(now)
                let days = Int((left / 86_400).rounded(.down))
                row.daysLeft = days
                let date = served.notAfter.formatted(.iso8601)
                if left <= 0 {
                    add(.expired, .error, "node \(o.node): the served certificate expired on \(date); renew it now (certroll apply).")
                } else if left < Double(warnDays) * 86_400 {
                    add(.expiresSoon, .warning, "node \(o.node): the served certificate expires in \(days) days (\(date)); plan a renewal.")
                }
                if served.notBefore > now {
                    add(.notYetValid, .error, "node \(o.node): the served certificate is not valid before \(served.notBefore.formatted(.iso8601)); clients refuse it until then (check the node's clock and the certificate).")
                }
                for name in served.uncoveredNames {
                    add(.nameNotCovered, .error, "node \(o.node): the served certificate does not cover \(name); users browsing to it get a name mismatch (reissue it with \(name) as a SAN).")
                }
                if let problem = served.chainProblem {
                    add(.chainProblem, .error, "node \(o.node): the served chain is wrong: \(problem); rebuild cert.pem with certroll bundle.")
                }
            }
            switch o.stored {
            case nil:
                break
            case .failure(let failure)?:
                row.sshOK = false
                add(.sshFailed, .error, failure.reason)
            case .success(let stored)?:
                row.sshOK = true
                row.stored = stored
                if stored.keyIsPKCS8Encrypted {
                    add(.keyPKCS8Encrypted, .error, "node \(o.node): the key on disk is PKCS#8-encrypted, which XSOAR cannot load, so the next restart fails; convert it with certroll key convert.")
                }
                if case .success(let served) = o.served, served.leafFingerprint != stored.leafFingerprint {
                    add(.servedDiffersFromDisk, .warning, "node \(o.node): it serves a different certificate than the one in its cert_path; a restart is pending or the server loads another file.")
                }
            }
            row.severity = severity
            nodes.append(row)
        }
        var clusters: [ClusterStatus] = []
        for cluster in clusterOrder {
            let leaves = servedByCluster[cluster] ?? []
            clusters.append(ClusterStatus(name: cluster, consistent: leaves.count <= 1, nodes: nodesByCluster[cluster] ?? 0))
            if leaves.count > 1 {
                let who = nodes.filter { $0.cluster == cluster && $0.served != nil }
                    .map { "\($0.node) serves \($0.served!.leafFingerprint.prefix(12))" }.joined(separator: ", ")
                findings.append(.init(
                    kind: .pairSplit, severity: .error, cluster: cluster, node: nil,
                    message: "cluster \(cluster): its nodes serve \(leaves.count) different certificates (\(who)); roll one out to the whole cluster (certroll apply)."))
                for index in nodes.indices where nodes[index].cluster == cluster && nodes[index].served != nil {
                    nodes[index].severity = .error
                }
            }
        }
        self.clusters = clusters
        self.nodes = nodes
        self.findings = findings
    }
}
