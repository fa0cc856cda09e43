import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// How `status` reads a served chain and the files on a node (pure, at the test PKI's reference time).
@Suite struct StatusObservationsTests {
    let pki = TestPKI.shared
    var now: Date { pki.reference }

    func served(_ certificates: [Certificate], names: [String] = [TestPKI.fqdn]) throws -> ServedCertificate {
        let chain = ServedChain(certificatesDER: certificates.map(\.der), leafFingerprint: certificates[0].fingerprintSHA256,
                                negotiatedProtocol: "TLSv1.3")
        return try ServedCertificate(served: chain, requiredNames: names, now: now)
    }

    @Test func aGoodChainHasNoProblemWithOrWithoutItsRoot() throws {
        let full = try served(pki.chain)
        #expect(full.chainProblem == nil)
        #expect(full.chainLength == 3)
        #expect(full.leafFingerprint == pki.leaf.fingerprintSHA256)
        #expect(full.notAfter == pki.leaf.notAfter)
        #expect(full.subjectAlternativeNames.contains("DNS:\(TestPKI.fqdn)"))
        #expect(full.uncoveredNames.isEmpty)
        #expect(try served([pki.leaf, pki.intermediate.certificate]).chainProblem == nil)
    }

    @Test func eachChainProblemIsNamed() throws {
        let inter = pki.intermediate.certificate, root = pki.root.certificate
        let cases: [([Certificate], String)] = [
            ([pki.leaf, root, inter], "out of order"),
            ([inter, pki.leaf, root], "not the leaf"),
            ([pki.leaf], "incomplete"),
            ([pki.leaf, root], "incomplete"),
            ([pki.leaf, inter, root, pki.unrelatedRoot.certificate], "not on the leaf's path"),
            ([pki.leaf, inter, inter, root], "sent twice"),
        ]
        for (chain, expected) in cases {
            let problem = try served(chain).chainProblem
            #expect(problem?.contains(expected) == true, "\(chain.map(\.subject.text)): \(problem ?? "nil")")
        }
    }

    @Test func anExpiredIntermediateIsAChainProblem() throws {
        let later = pki.intermediate.certificate.notAfter.addingTimeInterval(86_400)
        let chain = ServedChain(certificatesDER: pki.chain.map(\.der), leafFingerprint: pki.leaf.fingerprintSHA256, negotiatedProtocol: "TLSv1.2")
        let problem = try ServedCertificate(served: chain, requiredNames: [], now: later).chainProblem
        #expect(problem?.contains("expired") == true, "\(problem ?? "nil")")
    }

    @Test func uncoveredNamesAreListed() throws {
        let result = try served(pki.chain, names: [TestPKI.fqdn, "other.example.org", "198.18.1.5"])
        #expect(result.uncoveredNames == ["other.example.org"])
    }

    @Test func storedFilesGiveTheFirstCertificateAndTheKeyFormatOnly() throws {
        let chainPEM = Data(TestPKI.pem(pki.chain).utf8)
        let plain = try StoredCertificate(chainPEM: chainPEM, chainFile: "cert.pem",
                                          keyPEM: Data(try pki.leafKey.traditionalPEM().utf8), keyFile: "cert.key")
        #expect(plain.leafFingerprint == pki.leaf.fingerprintSHA256)
        #expect(plain.chainLength == 3)
        #expect(plain.keyFormat.hasPrefix("unencrypted PKCS#1"))
        #expect(!plain.keyIsPKCS8Encrypted)
        let pkcs8 = Data("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n".utf8)
        let encrypted = try StoredCertificate(chainPEM: chainPEM, chainFile: "cert.pem", keyPEM: pkcs8, keyFile: "cert.key")
        #expect(encrypted.keyIsPKCS8Encrypted)
        #expect(throws: PKIError.self) {
            _ = try StoredCertificate(chainPEM: chainPEM, chainFile: "cert.pem", keyPEM: chainPEM, keyFile: "cert.key")
        }
    }
}
