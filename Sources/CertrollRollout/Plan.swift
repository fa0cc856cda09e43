public import CertrollCore
public import Foundation

/// What `apply` would do across the fleet.
public struct FleetPlan: Sendable, Equatable {
    public var clusters: [ClusterPlan]
    /// The worst refusal's exit code (3 at preflight, 2 for an unusable source), else 0.
    public var exitCode: Int32 { ExitStatus.worst(clusters.map(\.exitCode)) }
}

/// One cluster's plan.
public struct ClusterPlan: Sendable, Equatable {
    /// What apply would do with the cluster.
    public enum Action: String, Sendable, Equatable {
        case rollout, skip, refuse
    }
    public var name: String
    public var action: Action
    /// Why refused or skipped.
    public var reason: String?
    public var nodes: [NodePlan]
    /// Leaf fingerprint of the certificate the cluster would get (nil: its source is unusable).
    public var targetFingerprint: String?
    /// What apply would exit with for this cluster alone.
    public var exitCode: Int32

    /// `verdict` is the engine's decision: skipped, refused, or nil to roll out.
    init(cluster: Cluster, preflight: [NodePreflight], verdict: ClusterOutcome?, certificate: CertificateToInstall) {
        name = cluster.name
        nodes = zip(cluster.nodes, preflight).map { NodePlan(node: $0, preflight: $1, certificate: certificate) }
        targetFingerprint = certificate.leafFingerprint
        exitCode = verdict?.exitCode ?? 0
        if let verdict, verdict.kind == .skipped {
            action = .skip
            reason = verdict.reason
        } else if let verdict {
            action = .refuse
            reason = verdict.reason
        } else {
            action = .rollout
            reason = nil
        }
        if action == .rollout {
            for i in nodes.indices { nodes[i].restart = true }
        }
    }

    /// A cluster whose certificate source cannot be used: no node was contacted.
    init(cluster: Cluster, unusable: ClusterOutcome) {
        name = cluster.name
        action = .refuse
        reason = unusable.reason
        nodes = []
        targetFingerprint = nil
        exitCode = unusable.exitCode
    }
}

/// One node's plan: what it has now and what would change.
public struct NodePlan: Sendable, Equatable {
    public var node: String
    public var role: Role
    public var findings: [PreflightFinding]
    public var servedFingerprint: String?
    public var servedNotAfter: Date?
    public var diskFingerprint: String?
    public var diskNotAfter: Date?
    /// Sentences: "replace /usr/local/demisto/cert.pem", "edit /etc/demisto.conf", …; empty when current.
    public var changes: [String]
    public var editsConf: Bool
    public var writesOTC: Bool
    /// The service would be stopped and started.
    public var restart: Bool

    init(node: ClusterNode, preflight: NodePreflight, certificate: CertificateToInstall) {
        self.node = node.host
        role = node.role
        findings = preflight.findings
        let f = preflight.facts
        servedFingerprint = f?.servedFingerprint
        servedNotAfter = f?.servedNotAfter
        diskFingerprint = f?.diskFingerprint
        diskNotAfter = f?.diskNotAfter
        editsConf = f?.confNeedsEdit ?? false
        writesOTC = certificate.keyPassphrase != nil
        restart = false
        var changes: [String] = []
        let x = node.xsoar
        if f?.certSHA256 != certificate.chainSHA256 { changes.append("replace \(x.certPath) (new chain, leaf \(certificate.leafFingerprint.prefix(16))…)") }
        if f?.keySHA256 != certificate.keySHA256 { changes.append("replace \(x.keyPath)") }
        if editsConf { changes.append("point Security.CertFile/KeyFile in \(x.confPath) at \(x.certPath) and \(x.keyPath)") }
        if f?.servedFingerprint != certificate.leafFingerprint, changes.isEmpty { changes.append("restart to serve the new certificate") }
        if writesOTC, !changes.isEmpty { changes.append("write \(x.otcPath) with the new key's passphrase") }
        self.changes = changes
    }
}
