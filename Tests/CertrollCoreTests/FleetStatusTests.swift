import CertrollCore
import Foundation
import Testing

@Suite struct FleetStatusTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func served(_ fp: String, days: Double, uncovered: [String] = [], chain: String? = nil, validFrom: Double = -30) -> ServedCertificate {
        ServedCertificate(
            leafFingerprint: fp, subject: "CN=xsoar.example.com", subjectAlternativeNames: ["DNS:xsoar.example.com"],
            notBefore: now.addingTimeInterval(validFrom * 86_400), notAfter: now.addingTimeInterval(days * 86_400),
            chainLength: 2, chainProblem: chain, uncoveredNames: uncovered, tlsVersion: "TLSv1.3")
    }

    func stored(_ fp: String, pkcs8: Bool = false) -> StoredCertificate {
        StoredCertificate(leafFingerprint: fp, chainLength: 2, keyFormat: "unencrypted PKCS#1 (BEGIN RSA PRIVATE KEY)", keyIsPKCS8Encrypted: pkcs8)
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
        #expect(status.clusters == [ClusterStatus(name: "soc", consistent: true, nodes: 2)])
        #expect(status.nodes.map(\.daysLeft) == [200, 200])
        #expect(status.nodes.map(\.sshOK) == [true, true])
        #expect(status.nodes.map(\.severity) == [.ok, .ok])
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
            node("nossh", cluster: "c9", served: .success(served("jj", days: 100)), stored: .failure(.init("node nossh: connection refused"))),
            node("early", cluster: "c10", served: .success(served("kk", days: 100, validFrom: 2))),
        ], now: now, warnDays: 30)
        let kinds = status.findings.map { "\($0.kind.rawValue)/\($0.severity.rawValue)" }
        #expect(kinds == [
            "expires-soon/warning", "expired/error", "served-differs-from-disk/warning",
            "name-not-covered/error", "chain-problem/error", "key-pkcs8-encrypted/error", "unreachable/error",
            "ssh-failed/error", "not-yet-valid/error", "pair-split/error",
        ])
        #expect(status.worst == .error)
        #expect(status.clusters.first { $0.name == "c4" }?.consistent == false)
        #expect(status.nodes.filter { $0.cluster == "c4" }.map(\.severity) == [.error, .error])
        #expect(status.findings.first { $0.kind == .nameNotCovered }?.message.contains("soc.example.com") == true)
        #expect(status.findings.first { $0.kind == .pairSplit }?.node == nil)
        #expect(status.nodes.first { $0.node == "down" }?.up == false)
        #expect(status.nodes.first { $0.node == "nossh" }?.sshOK == false)
    }

    @Test func expiryWarningStartsExactlyAtWarnDays() {
        func kinds(_ days: Double, warn: Int = 30) -> [StatusFinding.Kind] {
            FleetStatus(observations: [node("n", served: .success(served("aa", days: days)))], now: now, warnDays: warn).findings.map(\.kind)
        }
        #expect(kinds(30.01) == [])
        #expect(kinds(29.99) == [.expiresSoon])
        #expect(kinds(0.001) == [.expiresSoon])
        #expect(kinds(0) == [.expired])
        #expect(kinds(5, warn: 0) == [])
    }

    @Test func anUnreachableNodeDoesNotSplitThePairButIsAnError() {
        let status = FleetStatus(observations: [
            node("a", served: .success(served("aa", days: 200))),
            node("b", role: "backup", served: .failure(.init("node b: refused"))),
        ], now: now, warnDays: 30)
        #expect(status.clusters == [ClusterStatus(name: "soc", consistent: true, nodes: 2)])
        #expect(status.findings.map(\.kind) == [.unreachable])
        #expect(status.nodes.map(\.severity) == [.ok, .error])
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
        #expect(text.contains(#"certroll_served_matches_disk{cluster="soc",node="a\"b",role="primary"} 1"#))
        #expect(text.contains(#"certroll_ssh_up{cluster="soc",node="a\"b",role="primary"} 1"#))
        #expect(text.contains(#"certroll_node_severity{cluster="soc",node="a\"b",role="primary"} 1"#))
        #expect(text.contains(#"certroll_pair_consistent{cluster="soc"} 1"#))
        #expect(text.contains(#"certroll_findings{severity="error"} 1"#))
        #expect(text.contains("certroll_status_timestamp_seconds 1800000000\n"))
        #expect(!text.contains("{}"))
        // Every family is announced once, HELP then TYPE, and every sample belongs to the family above it.
        var family = ""
        var seen: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                family = String(line.split(separator: " ")[2])
                #expect(seen.insert(family).inserted, "family \(family) twice")
            } else if line.hasPrefix("# TYPE ") {
                #expect(line == "# TYPE \(family) gauge")
            } else {
                #expect(line.hasPrefix(family + "{") || line.hasPrefix(family + " "), "\(line) outside \(family)")
            }
        }
        #expect(text.hasSuffix("\n"))
    }

    @Test func metricsFileIsReplacedAtomicallyWithMode0644() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("certroll.prom").path
        try PrometheusText.writeAtomically("old\n", to: path)
        try PrometheusText.writeAtomically("new\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["certroll.prom"], "no temp file left")
        let error = #expect(throws: PrometheusText.WriteError.self) {
            try PrometheusText.writeAtomically("x", to: dir.appendingPathComponent("missing/certroll.prom").path)
        }
        #expect(error?.description.contains("missing/certroll.prom") == true)
    }
}
