@testable import CertrollCLI
import CertrollCore
@testable import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// `certroll plan`'s text for a fixed plan, compared whole.
@Suite struct PlanTextTests {
    static let certificate = FakePKI.toInstall("new", notBefore: TestPKI.referenceTime, notAfter: TestPKI.referenceTime + 90 * 86_400)

    static func facts(_ node: String, current: Bool) -> NodeFacts {
        let old = FakePKI.chain("old")
        return NodeFacts(
            node: node, servedFingerprint: current ? certificate.leafFingerprint : FakePKI.leafFingerprint("old"),
            servedNotAfter: TestPKI.referenceTime + 10 * 86_400, diskFingerprint: current ? certificate.leafFingerprint : FakePKI.leafFingerprint("old"),
            diskNotAfter: TestPKI.referenceTime + 10 * 86_400,
            certSHA256: current ? certificate.chainSHA256 : SHA256.hex(old), keySHA256: current ? certificate.keySHA256 : "x",
            currentKeyEncrypted: false, currentKeyOpens: false, confNeedsEdit: false, strayFiles: [], clockSkewSeconds: 0)
    }

    static func node(_ host: String, _ role: Role) -> ClusterNode {
        ClusterNode(host: host, role: role, ssh: SSHSettings(hostName: host, knownHosts: "/dev/null"), xsoar: .defaults)
    }

    @Test func planTextIsGolden() {
        let soc = Cluster(name: "soc", nodes: [Self.node("xsoar-a", .primary), Self.node("xsoar-b", .backup)])
        let lab = Cluster(name: "lab", nodes: [Self.node("lab-a", .primary)])
        let refused = PreflightFinding(check: .group, verdict: .fail, message: "node lab-a: group demisto does not exist; create it or set xsoar.group in the inventory.")
        let stray = PreflightFinding(check: .strayFiles, verdict: .warn, message: "node xsoar-b: stray file /usr/local/demisto/old.pem in the cert folder.")
        let plan = FleetPlan(clusters: [
            ClusterPlan(cluster: soc, preflight: [
                NodePreflight(node: "xsoar-a", findings: [], facts: Self.facts("xsoar-a", current: false)),
                NodePreflight(node: "xsoar-b", findings: [stray], facts: Self.facts("xsoar-b", current: true)),
            ], verdict: nil, certificate: Self.certificate),
            ClusterPlan(cluster: lab, preflight: [NodePreflight(node: "lab-a", findings: [refused], facts: nil)],
                        verdict: ClusterOutcome(.preflightFailed, reason: "cluster lab was not touched: \(refused.message)"),
                        certificate: Self.certificate),
        ])
        let new = String(Self.certificate.leafFingerprint.prefix(16))
        let old = String(FakePKI.leafFingerprint("old").prefix(16))
        #expect(PlanText.lines(plan).joined(separator: "\n") == """
            cluster soc: roll out (stop every node, swap, start the primary first, verify)
              node xsoar-a (primary)
                serves   \(old)…  expires 2026-01-25
                on disk  \(old)…  expires 2026-01-25
                will replace /usr/local/demisto/cert.pem (new chain, leaf \(new)…)
                will replace /usr/local/demisto/cert.key
                restart: yes
              node xsoar-b (backup)
                serves   \(new)…  expires 2026-01-25
                on disk  \(new)…  expires 2026-01-25
                no change
                restart: yes
                warn  node xsoar-b: stray file /usr/local/demisto/old.pem in the cert folder.
            cluster lab: refused, nothing would be touched
              cluster lab was not touched: node lab-a: group demisto does not exist; create it or set xsoar.group in the inventory.
              node lab-a (primary)
                serves   (none)
                on disk  (none)
                will replace /usr/local/demisto/cert.pem (new chain, leaf \(new)…)
                will replace /usr/local/demisto/cert.key
                restart: no
                FAIL  node lab-a: group demisto does not exist; create it or set xsoar.group in the inventory.
            plan: 1 to roll out, 0 to skip, 1 refused.
            """)
        #expect(plan.exitCode == 3)
    }
}
