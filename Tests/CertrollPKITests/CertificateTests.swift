@testable import CertrollPKI
import CertrollCore
import CertrollTestKit
import Foundation
import Testing

@Suite struct CertificateTests {
    let pki = TestPKI.shared

    @Test func fieldsMatchWhatOpenSSLReads() throws {
        let dir = try TestPKI.temporaryDirectory()
        let path = try TestPKI.write(pki.leaf.pem, to: dir, "leaf.pem")
        let fingerprint = try OpenSSLCLI.run(["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
        let expected = fingerprint.stdout.split(separator: "=")[1].replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        #expect(pki.leaf.fingerprintSHA256 == expected)
        #expect(pki.leaf.fingerprintSHA256.count == 64)

        let serial = try OpenSSLCLI.run(["x509", "-in", path, "-noout", "-serial"]).stdout
        #expect(serial.lowercased().contains(pki.leaf.serialNumber))

        #expect(pki.leaf.subject.commonName == "xsoar.example.com")
        #expect(pki.leaf.subject.text == "CN=xsoar.example.com,O=certroll tests,C=US")
        #expect(pki.leaf.issuer == pki.intermediate.certificate.subject)
        #expect(pki.leaf.subjectAlternativeNames == [
            .dns("xsoar.example.com"), .dns("xsoar-a.example.com"), .dns("xsoar-b.example.com"), .ip("198.18.1.5"),
        ])
        #expect(pki.noSANLeaf.subjectAlternativeNames == nil)
        #expect(pki.leaf.notAfter == pki.reference.addingTimeInterval(365 * 86_400))
        #expect(pki.leaf.authorityKeyIdentifier == pki.intermediate.certificate.subjectKeyIdentifier)
        #expect(pki.leaf.subjectKeyIdentifier != nil)
        #expect(pki.leaf.basicConstraints == BasicConstraints(isCA: false, pathLength: nil))
        #expect(pki.root.certificate.basicConstraints?.isCA == true)
        #expect(pki.leaf.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(pki.leaf.extendedKeyUsage == [.serverAuth, .clientAuth])
        #expect(pki.leaf.signatureAlgorithm == "sha256WithRSAEncryption")
        #expect(pki.ecLeaf.publicKeySummary == "EC P-256")
        #expect(pki.root.certificate.isSelfIssued && !pki.leaf.isSelfIssued)
    }

    @Test func opensslVerifiesTheIssuedChain() throws {
        let dir = try TestPKI.temporaryDirectory()
        let root = try TestPKI.write(pki.root.certificate.pem, to: dir, "root.pem")
        let intermediate = try TestPKI.write(pki.intermediate.certificate.pem, to: dir, "int.pem")
        let leaf = try TestPKI.write(pki.leaf.pem, to: dir, "leaf.pem")
        let at = String(Int(pki.reference.timeIntervalSince1970))
        let result = try OpenSSLCLI.run([
            "verify", "-attime", at, "-CAfile", root, "-untrusted", intermediate, "-purpose", "sslserver", leaf,
        ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func bundleIgnoresTextOutsideBlocks() throws {
        let text = "Bag Attributes\n subject=/CN=x\n" + pki.leaf.pem + "\nsome mail text\n" + pki.root.certificate.pem + "trailer"
        let bundle = try Certificate.bundle(from: Data(text.utf8), file: "c.pem")
        #expect(bundle.certificates.map(\.der) == [pki.leaf.der, pki.root.certificate.der])
    }

    @Test func badCertificateFiles() throws {
        #expect(throws: PKIError.emptyFile("c")) { try Certificate.bundle(from: Data(), file: "c") }
        #expect(throws: PKIError.keyInsteadOfCertificate("c")) {
            try Certificate.bundle(from: Data(try pki.leafKey.traditionalPEM().utf8), file: "c")
        }
        #expect(throws: PKIError.notPEM("c", looksLikeDER: true)) { try Certificate.bundle(from: pki.leaf.der, file: "c") }
        let pem = pki.leaf.pem
        let cut = String(pem.prefix(pem.count - 30))
        #expect(throws: PKIError.truncatedPEM("c", block: 1, line: 1, label: "")) {
            try Certificate.bundle(from: Data(cut.utf8), file: "c")
        }
        var damaged = pki.leaf.pem.split(separator: "\n").map(String.init)
        damaged[3] = String(damaged[3].reversed().dropFirst(5))
        do {
            _ = try Certificate.bundle(from: Data((damaged.joined(separator: "\n") + "\n").utf8), file: "c")
            Issue.record("damaged certificate accepted")
        } catch {
            #expect([.badPEMBody, .invalidCertificate].contains(error.code))
            #expect(error.reason.hasPrefix("c: "))
        }
    }

    @Test func keyMatchesOnlyItsCertificate() {
        #expect(pki.leafKey.matches(pki.leaf))
        #expect(!pki.wrongKey.matches(pki.leaf))
        #expect(pki.ecLeafKey.matches(pki.ecLeaf))
        #expect(!pki.leafKey.matches(pki.ecLeaf))
    }

    @Test func signaturesAndIssuance() {
        #expect(pki.leaf.isIssued(by: pki.intermediate.certificate))
        #expect(!pki.leaf.isIssued(by: pki.root.certificate))
        #expect(pki.leaf.signatureVerifies(with: pki.intermediate.certificate))
        #expect(!pki.leaf.signatureVerifies(with: pki.root.certificate))
        #expect(pki.root.certificate.signatureVerifies(with: pki.root.certificate))
    }
}

@Suite struct ChainTests {
    let pki = TestPKI.shared

    /// Every permutation of leaf + two intermediates + root comes out in order.
    @Test func bundleOrdersEveryPermutation() throws {
        let expected = [pki.deepLeaf, pki.subIntermediate.certificate, pki.intermediate.certificate, pki.root.certificate]
        var count = 0
        for permutation in permutations(expected) {
            let ordered = try Chain.bundle(permutation)
            #expect(ordered.map(\.der) == expected.map(\.der))
            count += 1
        }
        #expect(count == 24)
    }

    @Test func rootMayBeLeftOut() throws {
        let ordered = try Chain.bundle([pki.intermediate.certificate, pki.leaf])
        #expect(ordered.map(\.der) == [pki.leaf.der, pki.intermediate.certificate.der])
    }

    @Test func gapNamesTheMissingIssuer() {
        do {
            _ = try Chain.bundle([pki.root.certificate, pki.deepLeaf, pki.intermediate.certificate])
            Issue.record("gap accepted")
        } catch {
            #expect(error.code == .chainGap)
            #expect(error.reason.contains("certroll Test Issuing CA 2"))
        }
        #expect(throws: PKIError.chainGap(nil, after: "", missingIssuer: "")) { try Chain.bundle([pki.leaf]) }
    }

    @Test func refusesExtrasAndSecondLeaf() {
        #expect(throws: PKIError.unrelatedCertificate(nil, subject: "")) {
            try Chain.bundle(pki.chain + [pki.unrelatedRoot.certificate])
        }
        #expect(throws: PKIError.severalLeaves(nil, subjects: [])) { try Chain.bundle(pki.chain + [pki.ecLeaf]) }
    }

    @Test func arrangingReportsMissingIssuerAndExtras() {
        let chain = Chain(arranging: [pki.root.certificate, pki.leaf, pki.unrelatedRoot.certificate])
        #expect(chain.ordered.map(\.der) == [pki.leaf.der])
        #expect(chain.missingIssuer == pki.intermediate.certificate.subject)
        #expect(Set(chain.extras.map(\.der)) == Set([pki.root.certificate.der, pki.unrelatedRoot.certificate.der]))
        let ec = Chain(arranging: pki.ecChain.reversed())
        #expect(ec.ordered.map(\.der) == pki.ecChain.map(\.der) && ec.endsAtRoot)
    }

    private func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[T]] in
            var rest = items
            let head = rest.remove(at: index)
            return permutations(rest).map { [head] + $0 }
        }
    }
}

@Suite struct NameTests {
    let pki = TestPKI.shared

    @Test func rfc6125Wildcards() {
        #expect(Names.matches(pattern: "*.example.com", host: "xsoar.example.com"))
        #expect(Names.matches(pattern: "*.example.com", host: "XSOAR.Example.COM."))
        #expect(!Names.matches(pattern: "*.example.com", host: "example.com"))
        #expect(!Names.matches(pattern: "*.example.com", host: "a.b.example.com"))
        #expect(!Names.matches(pattern: "x*.example.com", host: "xa.example.com"))
        #expect(!Names.matches(pattern: "*.com", host: "example.com"))
        #expect(!Names.matches(pattern: "a.*.example.com", host: "a.b.example.com"))
    }

    @Test func coverage() {
        #expect(Names.covers(pki.leaf, host: "xsoar-b.example.com"))
        #expect(Names.covers(pki.leaf, host: "198.18.1.5"))
        #expect(!Names.covers(pki.leaf, host: "198.18.1.6"))
        #expect(!Names.covers(pki.leaf, host: "other.example.com"))
        #expect(Names.covers(pki.wildcardLeaf, host: "anything.example.com"))
        #expect(!Names.covers(pki.wildcardLeaf, host: "a.b.example.com"))
        // No SAN extension: the CN counts.
        #expect(Names.covers(pki.noSANLeaf, host: "xsoar.example.com"))
        // A SAN extension present: the CN no longer counts for names the SAN lacks.
        #expect(!Names.covers(pki.wildcardLeaf, host: "*.example.com.invalid"))
    }

    @Test func validatesNames() throws {
        #expect(try Names.alternativeName("Xsoar.Example.com.") == .dns("xsoar.example.com"))
        #expect(try Names.alternativeName("10.0.0.1") == .ip("10.0.0.1"))
        #expect(try Names.alternativeName("2001:db8:0::1") == .ip("2001:db8::1"))
        #expect(try Names.alternativeName("*.example.com") == .dns("*.example.com"))
        for bad in ["a,b.example.com", "*.com", "a.*.example.com", "-a.example.com", "", "a..b"] {
            #expect(throws: PKIError.self, "\(bad)") { try Names.alternativeName(bad) }
        }
        #expect(Names.isDNSName("xsoar-a.example.com"))
        #expect(!Names.isDNSName("198.18.1.5"))
        #expect(!Names.isDNSName("xsoar-a"))
    }

    @Test func subjectStrings() throws {
        let parts = try Names.parseSubject("/C=US/O=Example\\/Sub Inc/OU=IT")
        #expect(parts.map(\.attribute) == ["C", "O", "OU"])
        #expect(parts[1].value == "Example/Sub Inc")
        #expect(throws: PKIError.invalidSubject("", "")) { try Names.parseSubject("C=US") }
        #expect(throws: PKIError.invalidSubject("", "")) { try Names.parseSubject("/C") }
    }
}
