public import CertrollCore
public import Foundation

extension ServedCertificate {
    /// Interprets what a node served: the leaf's fields, whether the chain as
    /// sent is complete, in XSOAR's order and verifies, and which of
    /// `requiredNames` (the cluster's fqdn) the leaf does not cover.
    ///
    /// A served chain may leave the root out (clients have it), but not an
    /// intermediate: a leaf alone that is not self-signed is incomplete.
    public init(served: ServedChain, requiredNames: [String], now: Date) throws(PKIError) {
        var certificates: [Certificate] = []
        for (index, der) in served.certificatesDER.enumerated() {
            do {
                certificates.append(try Certificate(der: der))
            } catch {
                throw .invalidCertificate("the served chain", block: index + 1, error.reason)
            }
        }
        guard let leaf = certificates.first else { throw .noCertificate("the served chain") }
        self.init(
            leafFingerprint: served.leafFingerprint, subject: leaf.subject.text,
            subjectAlternativeNames: (leaf.subjectAlternativeNames ?? []).map(\.description),
            notBefore: leaf.notBefore, notAfter: leaf.notAfter, chainLength: certificates.count,
            chainProblem: Self.chainProblem(certificates, now: now),
            uncoveredNames: requiredNames.filter { !Names.covers(leaf, host: $0) },
            tlsVersion: served.negotiatedProtocol)
    }

    /// nil when `sent` (in the order sent) is leaf → intermediates (→ root),
    /// each signed by the next and the CAs within their dates; else the first problem found.
    static func chainProblem(_ sent: [Certificate], now: Date) -> String? {
        let chain = Chain(arranging: sent)
        func name(_ c: Certificate) -> String { "'\(c.subject.commonName ?? c.subject.text)'" }
        if chain.leaf.der != sent[0].der {
            return "the first certificate sent is \(name(sent[0])), not the leaf \(name(chain.leaf)); XSOAR matches the key against the first one"
        }
        if let missing = chain.missingIssuer, chain.ordered.count == 1 || !chain.extras.isEmpty {
            return "the chain is incomplete: the issuer of \(name(chain.ordered.last!)) (\(missing.text)) is not sent"
        }
        if let stray = chain.extras.first {
            return "\(name(stray)) is sent but is not on the leaf's path to its root"
        }
        if let duplicate = chain.duplicates.first {
            return "\(name(duplicate)) is sent twice"
        }
        if chain.ordered.map(\.der) != sent.map(\.der) {
            return "the certificates are sent out of order (\(sent.map(name).joined(separator: ", "))); expected \(chain.summary)"
        }
        for (child, issuer) in zip(chain.ordered, chain.ordered.dropFirst()) where !child.signatureVerifies(with: issuer) {
            return "the signature of \(name(child)) does not verify with the key of \(name(issuer))"
        }
        for ca in chain.ordered.dropFirst() where ca.notAfter <= now {
            return "\(name(ca)) expired on \(ca.notAfter.formatted(.iso8601))"
        }
        return nil
    }
}

extension StoredCertificate {
    /// Interprets the node's `cert_path` and `key_path` contents. The key's
    /// format is read from its PEM label and headers only: nothing is
    /// decrypted, and no part of the key ends up in the result or an error.
    public init(chainPEM: Data, chainFile: String, keyPEM: Data, keyFile: String) throws(PKIError) {
        let certificates = try Certificate.bundle(from: chainPEM, file: chainFile).certificates
        let key = try KeyFile(data: keyPEM, file: keyFile)
        self.init(
            leafFingerprint: certificates[0].fingerprintSHA256, chainLength: certificates.count,
            keyFormat: key.format.description, keyIsPKCS8Encrypted: !key.format.loadsInXSOAR)
    }
}
