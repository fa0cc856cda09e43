@testable import CertrollCLI
import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// Which certificate an ACME client's deploy hook names, and which cluster sources it is.
@Suite struct AcmeHookTests {
    @Test func eachClientsEnvironmentNamesTheRenewedFiles() {
        #expect(AcmeHook.renewed(environment: ["RENEWED_LINEAGE": "/etc/letsencrypt/live/a.example.com"])
            == RenewedCertificate(cert: "/etc/letsencrypt/live/a.example.com/fullchain.pem", key: "/etc/letsencrypt/live/a.example.com/privkey.pem"))
        #expect(AcmeHook.renewed(environment: ["LEGO_CERT_PATH": "/l/a.crt", "LEGO_CERT_KEY_PATH": "/l/a.key"])
            == RenewedCertificate(cert: "/l/a.crt", key: "/l/a.key"))
        #expect(AcmeHook.renewed(environment: ["CERT_FULLCHAIN_PATH": "/s/full.cer", "CERT_KEY_PATH": "/s/a.key"])
            == RenewedCertificate(cert: "/s/full.cer", key: "/s/a.key"))
        #expect(AcmeHook.renewed(environment: [:]) == nil)
        #expect(AcmeHook.renewed(environment: ["RENEWED_LINEAGE": ""]) == nil)
        #expect(AcmeHook.renewed(environment: ["LEGO_CERT_PATH": "/l/a.crt"]) == nil, "a certificate without its key is not a renewal")
    }

    @Test func aSourceMatchesThroughSymlinks() throws {
        let dir = try TestPKI.temporaryDirectory()
        let archive = dir.appendingPathComponent("archive/a")
        let live = dir.appendingPathComponent("live/a")
        try FileManager.default.createDirectory(at: archive, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        for name in ["fullchain", "privkey"] {
            _ = try TestPKI.write("x", to: archive, "\(name)1.pem")
            try FileManager.default.createSymbolicLink(atPath: live.appendingPathComponent("\(name).pem").path,
                                                       withDestinationPath: archive.appendingPathComponent("\(name)1.pem").path)
        }
        let renewed = try #require(AcmeHook.renewed(environment: ["RENEWED_LINEAGE": live.path]))
        #expect(renewed.matches(CertificateSource(cert: archive.appendingPathComponent("fullchain1.pem").path,
                                                  key: archive.appendingPathComponent("privkey1.pem").path)))
        #expect(renewed.matches(CertificateSource(cert: dir.path + "/live/../live/a/fullchain.pem", key: live.path + "/privkey.pem")))
        #expect(!renewed.matches(CertificateSource(cert: live.path + "/fullchain.pem", key: dir.path + "/other.key")))
    }
}
