import CertrollCore
import Foundation

/// Quotes a path for a command line we print as a fix.
private func q(_ path: String) -> String { ShellQuote.quote(path) }

private func name(_ certificate: Certificate) -> String {
    "'\(certificate.subject.commonName ?? certificate.subject.text)'"
}

private func day(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate]
    return formatter.string(from: date)
}

private func octal(_ mode: UInt32) -> String { "0" + String(mode, radix: 8) }

private let needsCertificates = CheckVerdict.skipped("the certificate file did not load")
private let needsKey = CheckVerdict.skipped("the key file did not load")

/// The certificate file is PEM and every CERTIFICATE block parses; text
/// outside blocks is ignored; a private key pasted into it is flagged.
struct CertificateFilePolicy: CertificatePolicy {
    let id = "certificate-file"
    let title = "certificate file"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        let file = material.input.certificateFile
        switch material.certificates {
        case .failure(let error): return .fail(error.reason, fix: nil)
        case .success(let certificates):
            if let key = material.otherBlocks.first(where: { KeyFileFormat(block: $0) != nil }) {
                return .warn("\(file) also holds a private key (PEM block \(key.index)); keep the key only in the key file")
            }
            let ignored = material.otherBlocks.isEmpty ? "" : "; \(material.otherBlocks.count) other PEM block(s) ignored"
            return .pass("\(file): \(certificates.count) certificate(s)\(ignored)")
        }
    }
}

/// Leaf first, then each next certificate the issuer of the one before:
/// XSOAR (like Go) matches the key against the FIRST certificate.
struct ChainOrderPolicy: CertificatePolicy {
    let id = "order"
    let title = "chain order"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard case .success(let certificates) = material.certificates, let chain = material.chain else { return needsCertificates }
        let file = material.input.certificateFile
        let inFile = certificates.prefix(chain.ordered.count)
        if zip(inFile, chain.ordered).allSatisfy({ $0.der == $1.der }) && inFile.count == chain.ordered.count {
            return .pass(chain.summary)
        }
        let fix = "certroll bundle --out \(q(file)) \(q(file))"
        if certificates[0].der != chain.leaf.der {
            return .fail(
                "\(file) starts with \(name(certificates[0])), but the leaf is \(name(chain.leaf)); XSOAR takes the first certificate as its own",
                fix: fix)
        }
        return .fail("\(file) is out of order; the chain is \(chain.summary)", fix: fix)
    }
}

/// Every certificate between the leaf and a root is present; no strays.
struct ChainCompletePolicy: CertificatePolicy {
    let id = "chain"
    let title = "chain complete"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard let chain = material.chain else { return needsCertificates }
        let file = material.input.certificateFile
        if let missing = chain.missingIssuer {
            let last = chain.ordered[chain.ordered.count - 1]
            if chain.ordered.count == 1 || !chain.extras.isEmpty {
                return .fail(
                    "\(file): missing intermediate: the chain stops at \(name(last)), whose issuer '\(missing.text)' is not in the file",
                    fix: "get the '\(missing.commonName ?? missing.text)' certificate from your CA, then run certroll bundle --out \(q(file)) \(q(file)) ISSUER.pem")
            }
            return .warn(
                "\(file): the chain ends at \(name(last)) without its issuer '\(missing.text)'; fine when that is a root your clients trust, else add it (the vendor's order is leaf, intermediate, CA)")
        }
        if let extra = chain.extras.first {
            return .warn("\(file) holds \(chain.extras.count) certificate(s) not in the leaf's chain, e.g. \(name(extra)); XSOAR would send them too")
        }
        if !chain.duplicates.isEmpty {
            return .warn("\(file) holds \(name(chain.duplicates[0])) more than once")
        }
        return .pass("\(chain.ordered.count) certificate(s), ends at root \(name(chain.ordered[chain.ordered.count - 1]))")
    }
}

/// Each certificate's signature verifies with the next one's key (and the root's with its own).
struct ChainSignaturesPolicy: CertificatePolicy {
    let id = "signatures"
    let title = "signatures"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard let chain = material.chain else { return needsCertificates }
        let ordered = chain.ordered
        for index in ordered.indices {
            let signer = index + 1 < ordered.count ? ordered[index + 1] : ordered[index].isSelfIssued ? ordered[index] : nil
            guard let signer else { continue }
            if !ordered[index].signatureVerifies(with: signer) {
                return .fail(
                    "the signature on \(name(ordered[index])) does not verify with the key of \(name(signer))",
                    fix: "get the chain again from your CA; a certificate was altered or mixed up with another CA's")
            }
        }
        let count = ordered.count - (chain.endsAtRoot ? 0 : 1)
        return .pass("\(count) signature(s) verify")
    }
}

/// now within notBefore…notAfter for every certificate in the chain; warn near expiry.
struct ValidityPolicy: CertificatePolicy {
    let id = "dates"
    let title = "validity dates"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard let chain = material.chain else { return needsCertificates }
        let now = material.input.now
        for certificate in chain.ordered {
            if now < certificate.notBefore {
                return .fail(
                    "\(name(certificate)) is not valid before \(day(certificate.notBefore))",
                    fix: "wait until then, or check this computer's clock")
            }
            if now > certificate.notAfter {
                return .fail("\(name(certificate)) expired on \(day(certificate.notAfter))", fix: "renew it with your CA")
            }
        }
        let warnBefore = TimeInterval(material.input.warnDays * 86_400)
        for certificate in chain.ordered where certificate.notAfter.timeIntervalSince(now) < warnBefore {
            let days = Int(certificate.notAfter.timeIntervalSince(now) / 86_400)
            return .warn("\(name(certificate)) expires in \(days) day(s), on \(day(certificate.notAfter)); renew it soon")
        }
        let days = Int(chain.leaf.notAfter.timeIntervalSince(now) / 86_400)
        return .pass("leaf valid until \(day(chain.leaf.notAfter)) (\(days) days)")
    }
}

/// The key file is a PEM private key in a form XSOAR loads (never encrypted PKCS#8).
struct KeyFormatPolicy: CertificatePolicy {
    let id = "key-format"
    let title = "key format"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        let file = material.input.keyFile
        switch material.keyFile {
        case .failure(let error): return .fail(error.reason, fix: nil)
        case .success(let keyFile):
            if !keyFile.format.loadsInXSOAR {
                return .fail(
                    "\(file) is \(keyFile.format), which XSOAR cannot load",
                    fix: "certroll key convert --in \(q(file)) --out \(q(file))")
            }
            return .pass("\(file) is \(keyFile.format)")
        }
    }
}

/// The passphrase (when the key is encrypted) opens it.
struct PassphrasePolicy: CertificatePolicy {
    let id = "passphrase"
    let title = "passphrase"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard case .success(let keyFile) = material.keyFile, let key = material.key else { return needsKey }
        switch key {
        case .success:
            return .pass(keyFile.format.isEncrypted ? "the passphrase opens \(keyFile.file)" : "not encrypted, none needed")
        case .failure(let error) where error.code == .passphraseRequired:
            return .fail(error.reason, fix: "certroll check ... --key-passphrase-file FILE (or CERTROLL_KEY_PASSPHRASE)")
        case .failure(let error):
            return .fail(error.reason, fix: nil)
        }
    }
}

/// Legacy PEM encryption derives the key from the passphrase with one MD5
/// round (no stretching), so the file itself must stay private.
struct KeyProtectionPolicy: CertificatePolicy {
    let id = "key-protection"
    let title = "key protection"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard case .success(let keyFile) = material.keyFile else { return needsKey }
        let file = keyFile.file
        if let mode = material.keyFileMode, mode & 0o077 != 0 {
            return .warn(
                "\(file) is readable by others (mode \(octal(mode))); run chmod 600 \(q(file))")
        }
        let mode = material.keyFileMode.map { "mode \(octal($0))" } ?? "mode unknown"
        if case .legacyEncrypted(let cipher) = keyFile.format {
            return .pass(
                "\(cipher), \(mode); note: legacy PEM encryption does not stretch the passphrase, so keep the file 0600")
        }
        return .pass("\(keyFile.format.isEncrypted ? "encrypted" : "not encrypted"), \(mode)")
    }
}

/// The key is the private half of the FIRST certificate.
struct KeyMatchesLeafPolicy: CertificatePolicy {
    let id = "key-match"
    let title = "key matches leaf"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard case .success(let certificates) = material.certificates else { return needsCertificates }
        guard case .success(let key)? = material.key else { return needsKey }
        let first = certificates[0]
        if key.matches(first) { return .pass("\(material.input.keyFile) (\(key.summary)) belongs to \(name(first))") }
        if let other = certificates.first(where: { key.matches($0) }) {
            return .fail(
                "\(material.input.keyFile) belongs to \(name(other)), not to the first certificate \(name(first))",
                fix: "certroll bundle --out \(q(material.input.certificateFile)) \(q(material.input.certificateFile))")
        }
        return .fail(
            "\(material.input.keyFile) (\(key.summary)) does not belong to \(name(first)) (\(first.publicKeySummary))",
            fix: "use the key made together with this certificate's CSR")
    }
}

/// Every cluster FQDN (FAIL) and node DNS name (WARN) is covered per RFC 6125.
struct NameCoveragePolicy: CertificatePolicy {
    let id = "names"
    let title = "names covered"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard let chain = material.chain else { return needsCertificates }
        let leaf = chain.leaf
        let covers = leaf.subjectAlternativeNames.map { sans in sans.map(\.description).joined(separator: ", ") }
            ?? "no SAN, CN=\(leaf.subject.commonName ?? "none")"
        let missingRequired = unique(material.input.requiredNames).filter { !Names.covers(leaf, host: $0) }
        let advisory = unique(material.input.advisoryNames).filter { Names.isDNSName($0) }
        let missingAdvisory = advisory.filter { !Names.covers(leaf, host: $0) }
        if !missingRequired.isEmpty {
            return .fail(
                "the leaf does not cover \(missingRequired.joined(separator: ", ")) (it covers \(covers))",
                fix: "request a new certificate: certroll csr --cn \(missingRequired[0]) \(missingRequired.dropFirst().map { "--san \($0) " }.joined())...")
        }
        if !missingAdvisory.isEmpty {
            return .warn(
                "the leaf does not cover node name(s) \(missingAdvisory.joined(separator: ", ")) (it covers \(covers)); browsing to a node directly shows a warning")
        }
        let checked = unique(material.input.requiredNames) + advisory
        if checked.isEmpty { return .pass("no names to check (no inventory given, or it has no fqdn and no DNS node names); the leaf covers \(covers)") }
        return .pass("\(checked.joined(separator: ", ")) covered")
    }

    private func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0.lowercased()).inserted }
    }
}

/// keyUsage / extendedKeyUsage (when present) allow a TLS server; the leaf is not a CA.
struct TLSServerUsagePolicy: CertificatePolicy {
    let id = "usage"
    let title = "TLS server usage"
    func evaluate(_ material: CheckMaterial) -> CheckVerdict {
        guard let chain = material.chain else { return needsCertificates }
        let leaf = chain.leaf
        let fix = "ask your CA for a TLS server (web server) certificate"
        if let eku = leaf.extendedKeyUsage, !eku.contains(.serverAuth), !eku.contains(.any) {
            return .fail("the leaf's extendedKeyUsage (\(eku)) does not include serverAuth; browsers will refuse it", fix: fix)
        }
        if let usage = leaf.keyUsage {
            let isRSA = leaf.publicKeySummary.hasPrefix("RSA")
            if !usage.contains(.digitalSignature) {
                if isRSA && usage.contains(.keyEncipherment) {
                    return .warn("the leaf's keyUsage (\(usage)) lacks digitalSignature: only RSA key exchange works, no forward secrecy")
                }
                return .fail("the leaf's keyUsage (\(usage)) does not allow a TLS server (digitalSignature)", fix: fix)
            }
        }
        if leaf.basicConstraints?.isCA == true {
            return .warn("the leaf is a CA certificate (basicConstraints CA:TRUE); browsers expect a server certificate")
        }
        let ku = leaf.keyUsage.map { "keyUsage \($0)" } ?? "no keyUsage"
        let eku = leaf.extendedKeyUsage.map { "extendedKeyUsage \($0)" } ?? "no extendedKeyUsage"
        return .pass("\(ku); \(eku)")
    }
}
