/// A set of certificates arranged as XSOAR needs them: the leaf first, then
/// each next certificate the issuer of the one before, up to the root.
public struct Chain: Sendable {
    /// Leaf first; each next one issued the one before.
    public let ordered: [Certificate]
    /// Certificates that are not on the leaf's path (another leaf, an unrelated CA).
    public let extras: [Certificate]
    /// Set when the path stops at a certificate whose issuer is not in the set.
    public let missingIssuer: DistinguishedName?
    /// Copies of a certificate that appear more than once.
    public let duplicates: [Certificate]

    public var leaf: Certificate { ordered[0] }
    /// True when the path ends at a self-issued certificate (a root).
    public var endsAtRoot: Bool { missingIssuer == nil }
    /// The intermediates (neither the leaf nor a root).
    public var intermediates: [Certificate] {
        Array(ordered.dropFirst().filter { !$0.isSelfIssued })
    }

    /// Arranges `certificates` (at least one). The leaf is the certificate that
    /// issued none of the others, preferring a non-CA and then file order.
    public init(arranging certificates: [Certificate]) {
        precondition(!certificates.isEmpty, "a chain needs at least one certificate")
        var unique: [Certificate] = []
        var duplicates: [Certificate] = []
        for certificate in certificates {
            if unique.contains(where: { $0.der == certificate.der }) {
                duplicates.append(certificate)
            } else {
                unique.append(certificate)
            }
        }
        let issuesAnother: (Certificate) -> Bool = { candidate in
            unique.contains { $0 !== candidate && !$0.isSelfIssued && $0.isIssued(by: candidate) }
        }
        let candidates = unique.filter { !issuesAnother($0) }
        let leaf = candidates.first { $0.basicConstraints?.isCA != true } ?? candidates.first ?? unique[0]

        var ordered = [leaf]
        var remaining = unique.filter { $0 !== leaf }
        var missingIssuer: DistinguishedName?
        while let current = ordered.last, !current.isSelfIssued {
            let issuers = remaining.filter { current.isIssued(by: $0) }
            guard let next = issuers.first(where: { current.signatureVerifies(with: $0) }) ?? issuers.first else {
                missingIssuer = current.issuer
                break
            }
            ordered.append(next)
            remaining.removeAll { $0 === next }
        }
        self.ordered = ordered
        self.extras = remaining
        self.missingIssuer = missingIssuer
        self.duplicates = duplicates
    }

    /// The chain for a `cert.pem`, or an error when it has a gap, another leaf
    /// or an unrelated certificate. A root may be left out only when no other
    /// certificate needs it.
    public static func bundle(_ certificates: [Certificate], file: String? = nil) throws(PKIError) -> [Certificate] {
        let chain = Chain(arranging: certificates)
        let otherLeaves = chain.extras.filter { $0.basicConstraints?.isCA != true }
        if !otherLeaves.isEmpty {
            throw .severalLeaves(file, subjects: ([chain.leaf] + otherLeaves).map(\.subject.text))
        }
        if let missing = chain.missingIssuer, !chain.extras.isEmpty || chain.ordered.count == 1 {
            throw .chainGap(file, after: chain.ordered.last!.subject.text, missingIssuer: missing.text)
        }
        if let extra = chain.extras.first { throw .unrelatedCertificate(file, subject: extra.subject.text) }
        return chain.ordered
    }

    /// `leaf CN=a → intermediate CN=b → root CN=c`.
    public var summary: String {
        ordered.enumerated().map { index, certificate in
            let role = index == 0 ? "leaf" : certificate.isSelfIssued ? "root" : "intermediate"
            return "\(role) '\(certificate.subject.commonName ?? certificate.subject.text)'"
        }.joined(separator: " → ")
    }
}
