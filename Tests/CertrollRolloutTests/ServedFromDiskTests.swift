import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// Preflight warns when a node serves another chain than the one in its cert file.
@Suite struct ServedFromDiskTests {
    let new = FakePKI.toInstall("new")

    private func findings(_ change: (InMemoryHost) -> Void) async -> [PreflightFinding] {
        var lab = Lab()
        let (a, _) = lab.pair("soc")
        change(a)
        let plan = await lab.engine().plan(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(plan.exitCode == 0, "a warning only")
        return plan.clusters[0].nodes[0].findings.filter { $0.check == .servedFromDisk }
    }

    @Test func theChainOnDiskIsTheOneServed() async {
        let found = await findings { _ in }
        #expect(found.map(\.verdict) == [.pass])
        #expect(found.first?.message == "node soc-a: it serves the chain in /usr/local/demisto/cert.pem.")
    }

    @Test func anotherLeafOnDiskThanServedWarns() async {
        let found = await findings { a in
            var cert = a.file("/usr/local/demisto/cert.pem")!
            cert.data = FakePKI.chain("edited-by-hand")
            a.setFile("/usr/local/demisto/cert.pem", cert)
        }
        #expect(found.map(\.verdict) == [.warn])
        let leaf = FakePKI.leafFingerprint("edited-by-hand").prefix(16)
        #expect(found.first?.message.hasPrefix("node soc-a: it serves certificate \(FakePKI.leafFingerprint("old").prefix(16))…, but /usr/local/demisto/cert.pem holds \(leaf)…;") == true)
    }

    @Test func aShorterChainOnDiskWarns() async {
        let found = await findings { a in
            var cert = a.file("/usr/local/demisto/cert.pem")!
            let leafOnly = String(decoding: cert.data, as: UTF8.self).components(separatedBy: "-----END CERTIFICATE-----\n")[0]
            cert.data = Data((leafOnly + "-----END CERTIFICATE-----\n").utf8)
            a.setFile("/usr/local/demisto/cert.pem", cert)
        }
        #expect(found.map(\.verdict) == [.warn])
        #expect(found.first?.message.contains("serves a chain of 2 certificate(s), but /usr/local/demisto/cert.pem holds 1;") == true)
    }

    @Test func nothingToCompareSaysNothing() async {
        // A key of another certificate: the service starts but serves nothing.
        let stopped = await findings { a in a.install(chainPEM: FakePKI.chain("old"), keyPEM: FakePKI.key(for: FakePKI.chain("other"))) }
        #expect(stopped.isEmpty)
        let noFile = await findings { a in a.setFile("/usr/local/demisto/cert.pem", nil) }
        #expect(noFile.isEmpty)
    }
}
