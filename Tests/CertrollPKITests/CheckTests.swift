@testable import CertrollPKI
import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// Every check verdict against the test PKI, at its reference time.
@Suite struct CheckTests {
    let pki = TestPKI.shared

    /// Writes the files and runs every check; returns verdicts by policy id.
    func check(
        _ certificates: [Certificate], key: PrivateKey? = nil, keyPEM: String? = nil, keyMode: Int = 0o600,
        passphrase: String? = nil, required: [String] = [], advisory: [String] = [], certText: String? = nil
    ) throws -> [String: CheckVerdict] {
        let dir = try TestPKI.temporaryDirectory()
        let cert = try TestPKI.write(certText ?? TestPKI.pem(certificates), to: dir, "cert.pem", mode: 0o644)
        let keyText = try keyPEM ?? (key ?? pki.leafKey).traditionalPEM()
        let keyPath = try TestPKI.write(keyText, to: dir, "key.pem", mode: keyMode)
        let report = CertificateCheck().runBlocking(CheckInput(
            certificateFile: cert, keyFile: keyPath, passphrase: passphrase.map(Secret.init), requiredNames: required,
            advisoryNames: advisory, now: pki.reference))
        #expect(report.results.map(\.id) == CertificateCheck.standardPolicies.map(\.id))
        return Dictionary(uniqueKeysWithValues: report.results.map { ($0.id, $0.verdict) })
    }

    func isPass(_ verdict: CheckVerdict?) -> Bool { if case .pass = verdict { true } else { false } }

    func failText(_ verdict: CheckVerdict?) -> (String, String?)? {
        if case .fail(let text, let fix) = verdict { (text, fix) } else { nil }
    }

    func warnText(_ verdict: CheckVerdict?) -> String? {
        if case .warn(let text) = verdict { text } else { nil }
    }

    @Test func goodChainPassesEverything() throws {
        let verdicts = try check(pki.chain, required: [TestPKI.fqdn], advisory: TestPKI.nodeNames + [TestPKI.nodeIP, "alias"])
        for (id, verdict) in verdicts { #expect(isPass(verdict), "\(id): \(verdict)") }
        if case .pass(let text) = verdicts["names"] {
            #expect(text == "xsoar.example.com, xsoar-a.example.com, xsoar-b.example.com covered")
        }
    }

    @Test func ecChainPassesEverything() throws {
        let verdicts = try check(pki.ecChain, key: pki.ecLeafKey, required: [TestPKI.fqdn])
        for (id, verdict) in verdicts { #expect(isPass(verdict), "\(id): \(verdict)") }
    }

    @Test func wrongOrderFailsWithBundleFix() throws {
        let verdicts = try check([pki.intermediate.certificate, pki.leaf, pki.root.certificate])
        let (text, fix) = try #require(failText(verdicts["order"]))
        #expect(text.contains("starts with 'certroll Test Intermediate CA', but the leaf is 'xsoar.example.com'"))
        #expect(fix?.hasPrefix("certroll bundle --out ") == true)
        // The key belongs to the second certificate, not the first one XSOAR uses.
        #expect(failText(verdicts["key-match"])?.0.contains("not to the first certificate") == true)
        #expect(isPass(verdicts["chain"]) && isPass(verdicts["signatures"]))
    }

    @Test func rootBeforeIntermediateIsOutOfOrder() throws {
        let verdicts = try check([pki.leaf, pki.root.certificate, pki.intermediate.certificate])
        #expect(failText(verdicts["order"])?.0.contains("is out of order") == true)
        #expect(isPass(verdicts["key-match"]))
    }

    @Test func missingIntermediateFailsNamingIt() throws {
        let verdicts = try check([pki.leaf, pki.root.certificate])
        let (text, _) = try #require(failText(verdicts["chain"]))
        #expect(text.contains("missing intermediate"))
        #expect(text.contains("CN=certroll Test Intermediate CA"))
        let leafOnly = try check([pki.leaf])
        #expect(failText(leafOnly["chain"]) != nil)
    }

    @Test func rootLeftOutWarns() throws {
        let verdicts = try check([pki.leaf, pki.intermediate.certificate])
        #expect(warnText(verdicts["chain"])?.contains("without its issuer 'CN=certroll Test Root CA") == true)
    }

    @Test func unrelatedExtraWarns() throws {
        let verdicts = try check(pki.chain + [pki.unrelatedRoot.certificate])
        #expect(warnText(verdicts["chain"])?.contains("'Unrelated Root CA'") == true)
        #expect(isPass(verdicts["order"]))
    }

    @Test func expiredAndNotYetValidFail() throws {
        let expired = try check([pki.expiredLeaf, pki.intermediate.certificate, pki.root.certificate])
        #expect(failText(expired["dates"])?.0.contains("expired on") == true)
        let early = try check([pki.notYetValidLeaf, pki.intermediate.certificate, pki.root.certificate])
        #expect(failText(early["dates"])?.0.contains("is not valid before") == true)
        let soon = try check([pki.expiringSoonLeaf, pki.intermediate.certificate, pki.root.certificate])
        #expect(warnText(soon["dates"])?.contains("expires in 10 day(s)") == true)
    }

    @Test func wrongKeyFails() throws {
        let verdicts = try check(pki.chain, key: pki.wrongKey)
        let (text, fix) = try #require(failText(verdicts["key-match"]))
        #expect(text.contains("does not belong to 'xsoar.example.com'"))
        #expect(fix != nil)
    }

    @Test func pkcs8EncryptedKeyFailsWithConvertCommand() throws {
        let dir = try TestPKI.temporaryDirectory()
        let legacy = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "k.pem")
        let out = dir.appendingPathComponent("p8e.pem").path
        #expect(try OpenSSLCLI.run(["pkcs8", "-topk8", "-in", legacy, "-out", out, "-passout", "pass:pw"]).status == 0)
        let verdicts = try check(pki.chain, keyPEM: try String(contentsOfFile: out, encoding: .utf8), passphrase: "pw")
        let (text, fix) = try #require(failText(verdicts["key-format"]))
        #expect(text.contains("encrypted PKCS#8"))
        #expect(text.contains("XSOAR cannot load"))
        let words = try #require(fix).split(separator: " ").map(String.init)
        #expect(words.count == 7 && words.prefix(4) == ["certroll", "key", "convert", "--in"] && words[5] == "--out")
        #expect(words[4].hasSuffix("/key.pem") && words[6] == words[4])
        #expect(isPass(verdicts["passphrase"]) && isPass(verdicts["key-match"]))
    }

    @Test func passphraseVerdicts() throws {
        let encrypted = try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret("right")))
        let right = try check(pki.chain, keyPEM: encrypted, passphrase: "right")
        #expect(isPass(right["passphrase"]) && isPass(right["key-match"]))
        if case .pass(let note) = right["key-protection"] {
            #expect(note.contains("does not stretch the passphrase") && note.contains("0600"))
        } else {
            Issue.record("key-protection: \(String(describing: right["key-protection"]))")
        }
        let wrong = try check(pki.chain, keyPEM: encrypted, passphrase: "wrong")
        #expect(failText(wrong["passphrase"])?.0.contains("the passphrase does not open this key") == true)
        #expect(wrong["key-match"] == .skipped("the key file did not load"))
        let none = try check(pki.chain, keyPEM: encrypted)
        #expect(failText(none["passphrase"])?.0.contains("is encrypted and no passphrase was given") == true)
    }

    @Test func worldReadableKeyWarns() throws {
        let verdicts = try check(pki.chain, keyMode: 0o644)
        #expect(warnText(verdicts["key-protection"])?.contains("mode 0644") == true)
    }

    @Test func namesCoverage() throws {
        let missing = try check(pki.chain, required: ["soc.example.com", TestPKI.fqdn])
        #expect(failText(missing["names"])?.0.hasPrefix("the leaf does not cover soc.example.com (") == true)
        let fqdnOnly = try check(
            [pki.fqdnOnlyLeaf, pki.intermediate.certificate, pki.root.certificate], required: [TestPKI.fqdn],
            advisory: TestPKI.nodeNames + [TestPKI.nodeIP])
        let warning = try #require(warnText(fqdnOnly["names"]))
        #expect(warning.contains("xsoar-a.example.com, xsoar-b.example.com"))
        #expect(!warning.contains(TestPKI.nodeIP))
        let wildcard = try check(
            [pki.wildcardLeaf, pki.intermediate.certificate, pki.root.certificate], required: [TestPKI.fqdn],
            advisory: TestPKI.nodeNames)
        #expect(isPass(wildcard["names"]))
        let wildcardDeep = try check(
            [pki.wildcardLeaf, pki.intermediate.certificate, pki.root.certificate], required: ["a.xsoar.example.com"])
        #expect(failText(wildcardDeep["names"]) != nil)
        let noSAN = try check([pki.noSANLeaf, pki.intermediate.certificate, pki.root.certificate], required: [TestPKI.fqdn])
        #expect(isPass(noSAN["names"]))
    }

    @Test func usageWithoutServerAuthFails() throws {
        let verdicts = try check([pki.clientOnlyLeaf, pki.intermediate.certificate, pki.root.certificate])
        #expect(failText(verdicts["usage"])?.0.contains("does not include serverAuth") == true)
        let caAsLeaf = try check([pki.intermediate.certificate, pki.root.certificate], key: pki.intermediate.key)
        #expect(warnText(caAsLeaf["usage"])?.contains("is a CA certificate") == true)
    }

    @Test func swappedFilesFailNamingThem() throws {
        let dir = try TestPKI.temporaryDirectory()
        let cert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "cert.pem")
        let key = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "key.pem")
        let report = CertificateCheck().runBlocking(CheckInput(certificateFile: key, keyFile: cert, now: pki.reference))
        let verdicts = Dictionary(uniqueKeysWithValues: report.results.map { ($0.id, $0.verdict) })
        #expect(failText(verdicts["certificate-file"])?.0 == "\(key) holds a private key, not a certificate; give the certificate chain the CA sent.")
        #expect(failText(verdicts["key-format"])?.0 == "\(cert) holds a certificate, not a private key; give the key file made with the CSR.")
        #expect(verdicts["order"] == .skipped("the certificate file did not load"))
        #expect(report.hasFailures)
    }

    @Test func asyncRunGivesTheSameReportAndFingerprint() async throws {
        let dir = try TestPKI.temporaryDirectory()
        let cert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "cert.pem")
        let key = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "key.pem")
        let report = await CertificateCheck().run(CheckInput(certificateFile: cert, keyFile: key, now: pki.reference))
        #expect(!report.hasFailures)
        #expect(report.warnings.isEmpty)
        #expect(report.leafFingerprint == pki.leaf.fingerprintSHA256)
        #expect(report.chain?.ordered.count == 3)
    }
}
