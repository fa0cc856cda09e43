import CertrollCore
import Foundation
import Testing

@Suite struct FleetStatusTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func served(_ fp: String, days: Double, uncovered: [String] = [], chain: String? = nil) -> ServedCertificate {
        ServedCertificate(
            leafFingerprint: fp, subject: "CN=xsoar.example.com", subjectAlternativeNames: ["xsoar.example.com"],
            notAfter: now.addingTimeInterval(days * 86_400), chainLength: 2, chainProblem: chain,
            uncoveredNames: uncovered)
    }

    func stored(_ fp: String, pkcs8: Bool = false) -> StoredCertificate {
        StoredCertificate(leafFingerprint: fp, keyFormat: "PKCS#1 RSA", keyIsPKCS8Encrypted: pkcs8)
    }

    func node(_ name: String, cluster: String = "soc", role: String = "primary",
              served: Result<ServedCertificate, ObservationFailure>,
              stored: Result<StoredCertificate, ObservationFailure>? = nil) -> NodeObservation {
        NodeObservation(cluster: cluster, node: name, role: role, served: served, stored: stored)
    }

    @Test func healthyPairHasNoFindings() {
        let status = FleetStatus(observations: [
            node("a", served: .success(served("aa", days: 200)), stored: .success(stored("aa"))),
            node("b", role: "backup", served: .success(served("aa", days: 200)), stored: .success(stored("aa"))),
        ], now: now, warnDays: 30)
        #expect(status.findings.isEmpty)
        #expect(status.worst == .ok)
        #expect(status.worst.exitCode == 0)
        #expect(status.consistentClusters == ["soc": true])
        #expect(status.nodes.map(\.daysLeft) == [200, 200])
    }

    @Test func eachFindingIsRaisedWithItsSeverity() {
        let status = FleetStatus(observations: [
            node("soon", served: .success(served("aa", days: 10))),
            node("old", cluster: "c2", served: .success(served("bb", days: -1))),
            node("pending", cluster: "c3", served: .success(served("cc", days: 100)), stored: .success(stored("dd"))),
            node("split-a", cluster: "c4", served: .success(served("ee", days: 100))),
            node("split-b", cluster: "c4", role: "backup", served: .success(served("ff", days: 100))),
            node("names", cluster: "c5", served: .success(served("gg", days: 100, uncovered: ["soc.example.com"]))),
            node("chain", cluster: "c6", served: .success(served("hh", days: 100, chain: "intermediate missing"))),
            node("p8", cluster: "c7", served: .success(served("ii", days: 100)), stored: .success(stored("ii", pkcs8: true))),
            node("down", cluster: "c8", served: .failure(.init("node down: connection refused on port 443."))),
        ], now: now, warnDays: 30)
        let kinds = status.findings.map { "\($0.kind.rawValue)/\($0.severity.rawValue)" }
        #expect(kinds == [
            "expires-soon/warning", "expired/error", "served-differs-from-disk/warning",
            "name-not-covered/error", "chain-problem/error", "key-pkcs8-encrypted/error", "unreachable/error",
            "pair-split/error",
        ])
        #expect(status.worst == .error)
        #expect(status.consistentClusters["c4"] == false)
        #expect(status.findings.first { $0.kind == .nameNotCovered }?.message.contains("soc.example.com") == true)
    }

    @Test func warningAloneExitsOne() {
        let status = FleetStatus(observations: [node("soon", served: .success(served("aa", days: 29)))], now: now, warnDays: 30)
        #expect(status.worst.exitCode == 1)
    }

    @Test func prometheusTextEscapesLabelsAndHasEveryFamily() {
        let status = FleetStatus(observations: [
            node("a\"b", served: .success(served("aa", days: 10)), stored: .success(stored("aa"))),
            node("down", role: "backup", served: .failure(.init("x"))),
        ], now: now, warnDays: 30)
        let text = PrometheusText.render(status)
        #expect(text.contains(#"certroll_node_up{cluster="soc",node="a\"b",role="primary"} 1"#))
        #expect(text.contains(#"certroll_node_up{cluster="soc",node="down",role="backup"} 0"#))
        #expect(text.contains(#"certroll_certificate_expiry_timestamp_seconds{cluster="soc",node="a\"b",role="primary"} \#(1_800_000_000 + 864_000)"#))
        #expect(text.contains(#"certroll_pair_consistent{cluster="soc"} 1"#))
        #expect(text.contains("certroll_status_timestamp_seconds 1800000000"))
        #expect(!text.contains("{}"))
    }
}
