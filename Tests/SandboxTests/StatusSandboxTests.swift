import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// `certroll status`, the built binary, against a two-node sandbox pair: each
/// finding produced for real (certificates made at test time around the real
/// clock, files replaced on the nodes without a restart, a service stopped,
/// an sshd killed), and the `--prometheus` file read by the real
/// `prometheus_client` parser. Serialized: every test sets both nodes up itself.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "status sandbox tests need root (network and mount namespaces); run them as root, e.g. in make test under CI"),
       .sandbox(nodes: 2, name: "crstt"))
struct StatusSandboxTests {
    static let fqdn = TestPKI.fqdn

    @Test func aHealthyPairIsAllFineAndTheTableNamesEveryNode() async throws {
        let pki = try await StatusPKI.shared()
        try await installOnBoth(pki.chain, key: pki.leafKey)
        let run = try await StatusBinary.run(inventory: try inventory())
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("CLUSTER") == true)
        #expect(!run.stdout.contains("\u{1B}["), "no color when stdout is not a terminal")
        let sandbox = try SandboxScope.sandbox()
        for node in sandbox.nodes {
            #expect(lines.contains { $0.contains(node.address) && $0.contains("same") && $0.hasSuffix("ok") }, "\(run.stdout)")
        }

        let json = try await StatusBinary.json(inventory: try inventory())
        #expect(json.status == 0)
        #expect(json.kinds.isEmpty)
        #expect(json.report.nodes.allSatisfy { $0.served?.leafFingerprint == pki.leaf.fingerprintSHA256 })
        #expect(json.report.nodes.allSatisfy { $0.stored?.leafFingerprint == pki.leaf.fingerprintSHA256 })
        #expect(json.report.nodes.allSatisfy { $0.served?.chainLength == 3 && $0.served?.chainProblem == nil })
        #expect(json.report.nodes.allSatisfy { $0.stored?.keyFormat.hasPrefix("unencrypted PKCS#1") == true })
        #expect(json.report.nodes.allSatisfy { ($0.daysLeft ?? 0) >= 364 })

        let tlsOnly = try await StatusBinary.json(inventory: try inventory(), ["--no-ssh"])
        #expect(tlsOnly.status == 0)
        #expect(tlsOnly.report.nodes.allSatisfy { $0.stored == nil && $0.sshOK == nil && $0.up })
    }

    @Test func aCertificateExpiringWithinWarnDaysIsAWarning() async throws {
        let pki = try await StatusPKI.shared()
        try await installOnBoth([pki.expiringSoonLeaf, pki.intermediate.certificate, pki.root.certificate], key: pki.leafKey)
        let run = try await StatusBinary.json(inventory: try inventory())
        #expect(run.status == 1, "\(run.raw)")
        #expect(run.kinds == ["expires-soon", "expires-soon"])
        #expect(run.report.nodes.allSatisfy { $0.daysLeft == 9 })
        // A shorter horizon makes it fine.
        #expect(try await StatusBinary.json(inventory: try inventory(), ["--warn-days", "5"]).status == 0)
    }

    @Test func anExpiredCertificateIsAnError() async throws {
        let pki = try await StatusPKI.shared()
        try await installOnBoth([pki.expiredLeaf, pki.intermediate.certificate, pki.root.certificate], key: pki.leafKey)
        let run = try await StatusBinary.json(inventory: try inventory())
        #expect(run.status == 2, "\(run.raw)")
        #expect(run.kinds == ["expired", "expired"])
        #expect(run.report.nodes.allSatisfy { ($0.daysLeft ?? 0) < 0 })
    }

    @Test func aFileReplacedWithoutARestartIsARestartPending() async throws {
        let pki = try await StatusPKI.shared()
        try await installOnBoth(pki.chain, key: pki.leafKey)
        // Node 2 gets a new chain on disk; its server keeps serving the old one.
        try await write(onNode: 2, path: "/usr/local/demisto/cert.pem", TestPKI.pem(pki.renewedChain), mode: "0644")
        let run = try await StatusBinary.json(inventory: try inventory())
        #expect(run.status == 1, "\(run.raw)")
        #expect(run.kinds == ["served-differs-from-disk"])
        let node2 = try #require(run.report.nodes.last)
        #expect(run.report.findings.first?.node == node2.node)
        #expect(node2.served?.leafFingerprint == pki.leaf.fingerprintSHA256)
        #expect(node2.stored?.leafFingerprint == pki.renewedLeaf.fingerprintSHA256)
    }

    @Test func nodesServingDifferentLeavesSplitThePair() async throws {
        let pki = try await StatusPKI.shared()
        try await install(onNode: 1, pki.chain, key: pki.leafKey)
        try await install(onNode: 2, pki.renewedChain, key: pki.leafKey)
        let run = try await StatusBinary.json(inventory: try inventory())
        #expect(run.status == 2, "\(run.raw)")
        #expect(run.kinds == ["pair-split"])
        #expect(run.report.clusters.map(\.consistent) == [false])
        #expect(run.report.findings.first?.node == nil)
    }

    @Test func anFqdnTheLeafDoesNotCoverIsAnError() async throws {
        let pki = try await StatusPKI.shared()
        try await installOnBoth(pki.chain, key: pki.leafKey)
        let run = try await StatusBinary.json(inventory: try inventory(fqdn: [Self.fqdn, "portal.example.org"]))
        #expect(run.status == 2, "\(run.raw)")
        #expect(run.kinds == ["name-not-covered", "name-not-covered"])
        #expect(run.report.findings.allSatisfy { $0.message.contains("portal.example.org") })
        #expect(run.report.nodes.allSatisfy { $0.served?.uncoveredNames == ["portal.example.org"] })
    }

    @Test func aMisorderedOrIncompleteServedChainIsAnError() async throws {
        let pki = try await StatusPKI.shared()
        try await install(onNode: 1, [pki.leaf, pki.root.certificate, pki.intermediate.certificate], key: pki.leafKey)
        try await install(onNode: 2, [pki.leaf], key: pki.leafKey)
        let run = try await StatusBinary.json(inventory: try inventory())
        #expect(run.status == 2, "\(run.raw)")
        #expect(run.kinds == ["chain-problem", "chain-problem"])
        #expect(run.report.findings[0].message.contains("out of order"), "\(run.report.findings[0].message)")
        #expect(run.report.findings[1].message.contains("incomplete"), "\(run.report.findings[1].message)")
    }

    @Test func aPKCS8EncryptedKeyOnDiskIsAnErrorAndItsContentIsNeverShown() async throws {
        let pki = try await StatusPKI.shared()
        try await installOnBoth(pki.chain, key: pki.leafKey)
        try await write(onNode: 1, path: "/usr/local/demisto/cert.key", pki.pkcs8EncryptedKey, mode: "0600")
        let run = try await StatusBinary.json(inventory: try inventory())
        #expect(run.status == 2, "\(run.raw)")
        #expect(run.kinds == ["key-pkcs8-encrypted"])
        #expect(run.report.nodes.first?.stored?.keyFormat.hasPrefix("encrypted PKCS#8") == true)
        #expect(run.report.nodes.first?.stored?.keyIsPKCS8Encrypted == true)
        let table = try await StatusBinary.run(inventory: try inventory())
        for secret in [pki.pkcs8EncryptedKey, pki.leafKey] {
            for line in String(decoding: secret, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("-----") {
                #expect(!run.raw.contains(line) && !table.stdout.contains(line) && !table.stderr.contains(line), "key material in the output")
            }
        }
    }

    @Test func aStoppedServiceOrADeadSSHDIsUnreachableAndMetricsParse() async throws {
        let pki = try await StatusPKI.shared()
        let sandbox = try SandboxScope.sandbox()
        try await installOnBoth(pki.chain, key: pki.leafKey)
        #expect(try await sandbox.run(onNode: 2, "service demisto stop").succeeded)
        let node1 = sandbox.nodes[0]
        let kill = try await SandboxProcess.run("/bin/sh", ["-c", "kill $(cat \(node1.nodeDir)/sshd.pid)"])
        #expect(kill.succeeded, "\(kill.stderrText)")
        do {
            let metrics = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-status-\(UUID().uuidString).prom").path
            defer { try? FileManager.default.removeItem(atPath: metrics) }
            let run = try await StatusBinary.json(inventory: try inventory(), ["--prometheus", metrics])
            #expect(run.status == 2, "\(run.raw)")
            #expect(run.kinds == ["ssh-failed", "unreachable"])
            #expect(run.report.nodes.map(\.up) == [true, false])
            #expect(run.report.nodes.map(\.sshOK) == [false, true])
            try await PrometheusParser.check(metrics, node1: node1.address, node2: sandbox.nodes[1].address, leaf: pki.leaf)
        } catch {
            try await restore(sandbox)
            throw error
        }
        try await restore(sandbox)
    }

    @Test func badInventoryExitsTwoNamingTheLine() async throws {
        let dir = try StatusPKI.directory()
        let file = dir.appendingPathComponent("bad.yaml")
        try Data("clusters:\n  - name: soc\n    nodes:\n      - { host: a, role: primary, colour: blue }\n".utf8).write(to: file)
        let run = try await StatusBinary.run(inventory: file.path)
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(file.path):4:"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    // MARK: - Helpers

    /// An inventory for the sandbox's pair with the given cluster fqdn.
    private func inventory(fqdn: [String] = [Self.fqdn]) throws -> String {
        let sandbox = try SandboxScope.sandbox()
        var yaml = """
            defaults:
              ssh:
                identity: \(sandbox.identityFile)
                known_hosts: \(sandbox.knownHostsFile)
                connect_timeout: 3s
            clusters:
              - name: pair
                fqdn: [\(fqdn.joined(separator: ", "))]
                nodes:

            """
        for node in sandbox.nodes {
            yaml += "      - { host: \(node.address), role: \(node.index == 1 ? "primary" : "backup") }\n"
        }
        let url = try StatusPKI.directory().appendingPathComponent("inventory-\(UUID().uuidString.prefix(8)).yaml")
        try Data(yaml.utf8).write(to: url)
        return url.path
    }

    private func installOnBoth(_ chain: [Certificate], key: Data) async throws {
        try await install(onNode: 1, chain, key: key)
        try await install(onNode: 2, chain, key: key)
    }

    /// Stops the node's service, writes chain and key, starts it again.
    private func install(onNode node: Int, _ chain: [Certificate], key: Data) async throws {
        let sandbox = try SandboxScope.sandbox()
        _ = try await sandbox.run(onNode: node, "service demisto stop")
        try await write(onNode: node, path: "/usr/local/demisto/cert.pem", TestPKI.pem(chain), mode: "0644")
        try await write(onNode: node, path: "/usr/local/demisto/cert.key", key, mode: "0600")
        let start = try await sandbox.run(onNode: node, "service demisto start")
        try #require(start.succeeded, "node \(node): \(start.stderrText)")
    }

    /// Replaces a file on the node (no restart).
    private func write(onNode node: Int, path: String, _ text: String, mode: String) async throws {
        try await write(onNode: node, path: path, Data(text.utf8), mode: mode)
    }

    private func write(onNode node: Int, path: String, _ data: Data, mode: String) async throws {
        let sandbox = try SandboxScope.sandbox()
        let result = try await sandbox.run(
            onNode: node, "umask 077 && cat > \(path).new && chown demisto:demisto \(path).new && chmod \(mode) \(path).new && mv -f \(path).new \(path)",
            stdin: data)
        try #require(result.succeeded, "\(result.stderrText)")
    }

    /// Starts node 1's sshd again (as scripts/sandbox does) and node 2's service.
    private func restore(_ sandbox: Sandbox) async throws {
        let node = sandbox.nodes[0]
        let sshd = try await SandboxProcess.run("/usr/bin/nsenter", [
            "--mount=\(node.mountNamespacePath)", "--net=\(node.netnsPath)",
            "/usr/sbin/sshd", "-f", "\(node.nodeDir)/sshd_config", "-E", "\(node.nodeDir)/sshd.log",
        ])
        #expect(sshd.succeeded, "\(sshd.stderrText)")
        #expect(try await sandbox.run(onNode: 2, "service demisto start").succeeded)
    }
}

/// Certificates made at test time around the real clock (the binary compares
/// with `Date()`), plus a PKCS#8-encrypted copy of the leaf key made by `openssl`.
struct StatusPKI: Sendable {
    let base: TestPKI
    /// A second leaf for the same names and key (a renewal).
    let renewedLeaf: Certificate
    let leafKey: Data
    let pkcs8EncryptedKey: Data

    var leaf: Certificate { base.leaf }
    var expiredLeaf: Certificate { base.expiredLeaf }
    var expiringSoonLeaf: Certificate { base.expiringSoonLeaf }
    var intermediate: CertificateIssuer { base.intermediate }
    var root: CertificateIssuer { base.root }
    var chain: [Certificate] { base.chain }
    var renewedChain: [Certificate] { [renewedLeaf, intermediate.certificate, root.certificate] }

    static func shared() async throws -> StatusPKI { try await Store.shared.get() }

    /// One folder for the test process, removed when it exits.
    private static let folder = Scratch.path("status-tests")

    static func directory() throws -> URL { URL(fileURLWithPath: folder) }

    private static func make() throws -> StatusPKI {
        let base = try TestPKI(reference: Date())
        let now = Date()
        let renewed = try base.intermediate.issue(
            .tlsServer(
                try CertificateSubject(commonName: TestPKI.fqdn, sans: TestPKI.nodeNames),
                notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(400 * 86_400)),
            for: base.leafKey)
        let key = Data(try base.leafKey.traditionalPEM().utf8)
        let plain = try directory().appendingPathComponent("leaf.key")
        try key.write(to: plain)
        let p8 = try SandboxProcess.runBlocking("/usr/bin/openssl", [
            "pkcs8", "-topk8", "-v2", "aes256", "-in", plain.path, "-passout", "pass:status-test",
        ])
        guard p8.succeeded else { throw SandboxError(.spawnFailed, "openssl pkcs8: \(p8.stderrText)") }
        return StatusPKI(base: base, renewedLeaf: renewed, leafKey: key, pkcs8EncryptedKey: p8.stdout)
    }

    private actor Store {
        static let shared = Store()
        private var made: Task<StatusPKI, any Error>?
        func get() async throws -> StatusPKI {
            if let made { return try await made.value }
            let task = Task { try await Blocking.run("certroll.test-pki") { () throws -> StatusPKI in try StatusPKI.make() } }
            made = task
            return try await task.value
        }
    }
}

/// Runs `.build/debug/certroll status` (built by `swift build --build-tests`).
enum StatusBinary {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `--json` object as the tests read it.
    struct Report: Decodable {
        var clusters: [ClusterStatus]
        var nodes: [NodeStatus]
        var findings: [StatusFinding]
        var exitCode: Int32
    }

    struct JSONRun {
        var status: Int32
        var report: Report
        var raw: String
        var kinds: [String] { report.findings.map(\.kind.rawValue) }
    }

    static var executable: String {
        Sandbox.repositoryRoot().appendingPathComponent(".build/debug/certroll").path
    }

    static func run(inventory: String, _ extra: [String] = []) async throws -> Run {
        let result = try await SandboxProcess.run(executable, ["status", "-i", inventory] + extra)
        return Run(status: result.exitStatus, stdout: result.stdoutText, stderr: result.stderrText)
    }

    static func json(inventory: String, _ extra: [String] = []) async throws -> JSONRun {
        let run = try await run(inventory: inventory, ["--json"] + extra)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let report = try decoder.decode(Report.self, from: Data(run.stdout.utf8))
        #expect(report.exitCode == run.status, "the JSON's exitCode is the process's")
        return JSONRun(status: run.status, report: report, raw: run.stdout + run.stderr)
    }
}

/// Reads a metrics file with the real Prometheus text parser
/// (`prometheus_client.parser`, installed by scripts/install-deps).
enum PrometheusParser {
    static func check(_ file: String, node1: String, node2: String, leaf: Certificate) async throws {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    out.setdefault(s.name, []).append({"labels": s.labels, "value": s.value})
            print(json.dumps(out))
            """
        let result = try await SandboxProcess.run("/usr/bin/env", ["python3", "-c", script, file])
        try #require(result.succeeded, "prometheus_client could not parse \(file) (run scripts/install-deps): \(result.stderrText)")
        struct Sample: Decodable {
            var labels: [String: String]
            var value: Double
        }
        let families = try JSONDecoder().decode([String: [Sample]].self, from: result.stdout)
        func value(_ name: String, node: String) -> Double? {
            families[name]?.first { $0.labels["node"] == node }?.value
        }
        #expect(value("certroll_node_up", node: node1) == 1)
        #expect(value("certroll_node_up", node: node2) == 0)
        #expect(value("certroll_ssh_up", node: node1) == 0)
        #expect(value("certroll_ssh_up", node: node2) == 1)
        #expect(value("certroll_certificate_expiry_timestamp_seconds", node: node1) == leaf.notAfter.timeIntervalSince1970.rounded(.down))
        #expect(value("certroll_certificate_expiry_timestamp_seconds", node: node2) == nil)
        #expect(families["certroll_certificate_expiry_timestamp_seconds"]?.first?.labels == ["cluster": "pair", "node": node1, "role": "primary"])
        #expect(families["certroll_certificate_info"]?.first?.labels["sha256"] == leaf.fingerprintSHA256)
        #expect(families["certroll_pair_consistent"]?.map(\.value) == [1])
        #expect(families["certroll_findings"]?.first { $0.labels["severity"] == "error" }?.value == 2)
        #expect(value("certroll_node_severity", node: node2) == 2)
        #expect(families["certroll_status_timestamp_seconds"]?.count == 1)
    }
}
