public import CertrollCore
public import Foundation

/// One cluster and the certificate it is to end on: the run's `--cert/--key`,
/// or the cluster's own `certificate:` source.
public struct ClusterTarget: Sendable {
    public var cluster: Cluster
    public var source: Source

    /// Where the cluster's certificate stands before preflight.
    public enum Source: Sendable {
        /// Its bytes (for `renew`, the key's passphrase may still be missing:
        /// the run's `finisher` completes it once the cluster must change).
        case certificate(CertificateToInstall)
        /// Its source cannot be used (missing file, …): refused without contacting a node.
        case unusable(ClusterOutcome)
    }

    public init(cluster: Cluster, certificate: CertificateToInstall) {
        self.cluster = cluster
        source = .certificate(certificate)
    }

    public init(cluster: Cluster, unusable: ClusterOutcome) {
        self.cluster = cluster
        source = .unusable(unusable)
    }

    /// Every cluster gets the same certificate (`--cert/--key`).
    public static func same(_ certificate: CertificateToInstall, for clusters: [Cluster]) -> [ClusterTarget] {
        clusters.map { ClusterTarget(cluster: $0, certificate: certificate) }
    }

    public var certificate: CertificateToInstall? {
        if case .certificate(let c) = source { return c }
        return nil
    }
}

/// What a rollout decides for a cluster that must change, after its
/// preflight: the certificate to install, or why the cluster is refused.
public enum TargetDecision: Sendable {
    case rollOut(CertificateToInstall)
    case refuse(ClusterOutcome)
}

/// Completes a cluster's certificate once it is known to need the rollout
/// (`renew` runs the local checks and reads the key's passphrase only then).
public typealias TargetFinisher = @Sendable (Cluster, CertificateToInstall) async -> TargetDecision

/// A certificate as the nodes' files and TLS show it: read from its bytes,
/// no secret needed.
public struct CertificateIdentity: Sendable, Codable, Equatable {
    /// SHA-256 of each certificate's DER, leaf first.
    public var chainFingerprints: [String]
    public var chainSHA256: String
    public var keySHA256: String
    public var leafFingerprint: String { chainFingerprints.first ?? "" }

    public init(chainPEM: Data, keyPEM: Data) {
        chainFingerprints = PEM.fingerprints(in: chainPEM)
        chainSHA256 = SHA256.hex(chainPEM)
        keySHA256 = SHA256.hex(keyPEM)
    }
}

extension CertificateToInstall {
    public var identity: CertificateIdentity { CertificateIdentity(chainPEM: chainPEM, keyPEM: keyPEM) }
}

/// The rules that decide, from preflight facts alone, whether a cluster needs
/// its certificate at all (used by `apply`, `renew` and `plan` alike).
public enum CurrentRule {
    /// The node serves the leaf and stores the identical chain and key, and its conf points at them.
    public static func isCurrent(_ facts: NodeFacts?, _ target: CertificateIdentity) -> Bool {
        guard let facts else { return false }
        return facts.servedFingerprint == target.leafFingerprint && facts.certSHA256 == target.chainSHA256
            && facts.keySHA256 == target.keySHA256 && !facts.confNeedsEdit
    }

    /// Every node of the cluster is current; one stale node rolls the whole pair out.
    public static func clusterIsCurrent(_ facts: [NodeFacts?], _ target: CertificateIdentity) -> Bool {
        !facts.isEmpty && facts.allSatisfy { isCurrent($0, target) }
    }

    /// The newest not-before served by the cluster when the target was issued
    /// before it (rolling it out would go back to an older certificate), else nil.
    public static func servedNewer(_ facts: [NodeFacts?], than notBefore: Date) -> Date? {
        guard let newest = facts.compactMap({ $0?.servedNotBefore }).max(), notBefore < newest else { return nil }
        return newest
    }
}

/// A cluster's certificate as the journal header records it (no secret).
public struct CertificateRecord: Sendable, Codable, Equatable {
    public var cluster: String
    /// SHA-256 of each certificate's DER, leaf first.
    public var chainFingerprints: [String]
    public var chainSHA256: String
    public var keySHA256: String
    public var keyEncrypted: Bool
    public var notAfter: Date?

    public init(cluster: String, certificate: CertificateToInstall) {
        self.cluster = cluster
        chainFingerprints = certificate.chainFingerprints
        chainSHA256 = certificate.chainSHA256
        keySHA256 = certificate.keySHA256
        keyEncrypted = certificate.keyPassphrase != nil || String(decoding: certificate.keyPEM, as: UTF8.self).contains("ENCRYPTED")
        notAfter = certificate.notAfter
    }
}
