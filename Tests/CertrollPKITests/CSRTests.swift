@testable import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

@Suite struct CSRTests {
    let pki = TestPKI.shared

    @Test func csrVerifiesWithOpenSSLAndCarriesNames() throws {
        let subject = try CertificateSubject(
            commonName: "xsoar.example.com", subject: "/C=US/O=Example Inc/OU=SOC",
            sans: ["xsoar-a.example.com", "10.1.2.3", "xsoar.example.com"])
        let csr = try CertificateRequest.make(subject, key: pki.leafKey)
        #expect(csr.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----\n"))
        let dir = try TestPKI.temporaryDirectory()
        let path = try TestPKI.write(csr, to: dir, "r.csr")
        let result = try OpenSSLCLI.run(["req", "-in", path, "-verify", "-noout", "-text"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("verify OK"))
        #expect(result.stdout.contains("sha256WithRSAEncryption"))
        #expect(result.stdout.contains("DNS:xsoar.example.com, DNS:xsoar-a.example.com, IP Address:10.1.2.3"))
        #expect(result.stdout.contains("Subject: C = US, O = Example Inc, OU = SOC, CN = xsoar.example.com"))
        let publicKey = try OpenSSLCLI.run(["req", "-in", path, "-noout", "-pubkey"])
        #expect(publicKey.stdout == PEM.encode(pki.leafKey.publicKeyDER, label: "PUBLIC KEY"))
    }

    @Test func ecCSRUsesECDSAWithSHA256() throws {
        let csr = try CertificateRequest.make(try CertificateSubject(commonName: "a.example.com"), key: pki.ecLeafKey)
        let dir = try TestPKI.temporaryDirectory()
        let result = try OpenSSLCLI.run(["req", "-in", try TestPKI.write(csr, to: dir, "r.csr"), "-verify", "-noout", "-text"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("ecdsa-with-SHA256"))
    }

    @Test func invalidSubjectAttributeIsRefused() throws {
        let subject = try CertificateSubject(commonName: "a.example.com", subject: "/C=USA")
        #expect(throws: PKIError.invalidSubject("", "")) { try CertificateRequest.make(subject, key: pki.ecLeafKey) }
        let unknown = try CertificateSubject(commonName: "a.example.com", subject: "/XX=1")
        #expect(throws: PKIError.invalidSubject("", "")) { try CertificateRequest.make(unknown, key: pki.ecLeafKey) }
    }
}
