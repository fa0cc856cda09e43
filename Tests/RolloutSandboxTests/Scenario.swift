import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// One scenario's fixtures on the suite's sandbox: the old and the new
/// certificate as files, a fresh state dir, and the nodes reset to a known
/// baseline (old certificate, unencrypted key, a conf with an extra key,
/// no fault switch, no lock), whatever the scenario before left behind.
final class Scenario {
    let sandbox: Sandbox
    let dir: URL
    let state: String
    let pki = LivePKI.shared

    /// What the nodes serve at the baseline: the RSA test chain.
    let oldChain: String
    let oldKey: String
    /// The same leaf's key, legacy-encrypted with `passphrase`.
    let oldLockedKey: String
    let passphrase: String
    let passphraseFile: String
    /// What the scenarios roll out: the EC test chain.
    let newChain: String
    let newKey: String

    static let certPath = "/usr/local/demisto/cert.pem"
    static let keyPath = "/usr/local/demisto/cert.key"
    static let confPath = "/etc/demisto.conf"
    static let otcPath = "/var/lib/demisto/otc.conf.json"
    static let livePaths = [certPath, keyPath, confPath]
    /// The conf every scenario starts from: an extra key a conf edit must keep.
    static let baselineConf = #"{"Server":{"HttpsPort":"443"},"Extra":{"keep":"me"}}"# + "\n"

    var oldLeaf: String { pki.leaf.fingerprintSHA256 }
    var newLeaf: String { pki.ecLeaf.fingerprintSHA256 }

    init() async throws {
        sandbox = try ScenarioScope.sandbox()
        dir = try TestPKI.temporaryDirectory()
        state = dir.appendingPathComponent("state").path
        passphrase = "pass-\(UUID().uuidString)"
        oldChain = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "old.pem", mode: 0o644)
        oldKey = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "old.key")
        oldLockedKey = try TestPKI.write(try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret(passphrase))), to: dir, "old-locked.key")
        passphraseFile = try TestPKI.write(passphrase + "\n", to: dir, "passphrase")
        newChain = try TestPKI.write(TestPKI.pem(pki.ecChain), to: dir, "new.pem", mode: 0o644)
        newKey = try TestPKI.write(try pki.ecLeafKey.traditionalPEM(), to: dir, "new.key")
        for node in sandbox.nodes { try await reset(node: node.index) }
        #expect(try await served() == [oldLeaf, oldLeaf], "baseline: both nodes serve the old certificate")
    }

    /// Stops the service, undoes every fault a scenario may have made, writes
    /// the old certificate, key and the baseline conf, starts the service.
    func reset(node: Int) async throws {
        let sim = "/var/lib/demisto/sim"
        let nodeDir = sandbox.nodes[node - 1].nodeDir
        let sshd = try await SandboxProcess.run("/bin/sh", ["-c", "kill -0 \"$(cat \(nodeDir)/sshd.pid)\" 2>/dev/null"])
        if !sshd.succeeded { try await sandbox.restartSSHD(onNode: node) }
        let cleanup = try await sandbox.run(onNode: node, """
            service demisto stop >/dev/null 2>&1
            [ "$(findmnt -n -o FSTYPE /usr/local/demisto)" = tmpfs ] && umount /usr/local/demisto
            [ "$(findmnt -n -o FSTYPE /var/lib/certroll)" = tmpfs ] && umount /var/lib/certroll
            findmnt -n /usr/bin/date >/dev/null && umount /usr/bin/date
            rm -rf /usr/local/demisto/custom /usr/local/demisto/*.certroll-* /etc/demisto.conf.certroll-* \
                /var/lib/demisto/otc.conf.json* /var/lib/certroll/lock \
                \(sim)/keypass \(sim)/fail-next-start \(sim)/hang-next-start \(sim)/exit-after \(sim)/sshd-dies-after-stop
            exit 0
            """)
        #expect(cleanup.succeeded, "node \(node) cleanup: \(cleanup.stderrText)")
        for (path, text, owner, mode) in [
            (Self.certPath, TestPKI.pem(pki.chain), "demisto:demisto", "0644"),
            (Self.keyPath, try pki.leafKey.traditionalPEM(), "demisto:demisto", "0600"),
            (Self.confPath, Self.baselineConf, "root:root", "0644"),
        ] {
            let write = try await sandbox.run(onNode: node, "cat > \(path) && chown \(owner) \(path) && chmod \(mode) \(path)",
                                              stdin: Data(text.utf8))
            #expect(write.succeeded, "node \(node) \(path): \(write.stderrText)")
        }
        let start = try await sandbox.run(onNode: node, "service demisto start")
        #expect(start.succeeded, "node \(node) start: \(start.stderrText)")
    }

    // MARK: looking at the nodes

    /// The leaf each node serves now (SHA-256 of its DER), in node order; `none` where nothing answers.
    func served() async throws -> [String] {
        await sandbox.servedLeaves()
    }

    /// Owner, mode and SHA-256 of `paths` on every node, by node index.
    func facts(_ paths: [String] = Scenario.livePaths) async throws -> [Int: [String: String]] {
        var result: [Int: [String: String]] = [:]
        for node in sandbox.nodes { result[node.index] = try await sandbox.fileFacts(onNode: node.index, paths) }
        return result
    }

    /// Each node's xsoar-sim pid (nil: not running).
    func pids() async throws -> [Int?] {
        var result: [Int?] = []
        for node in sandbox.nodes { result.append(try await sandbox.serverPID(onNode: node.index)) }
        return result
    }

    func exists(node: Int, _ path: String) async throws -> Bool {
        try await sandbox.run(onNode: node, "test -e \(path)").exitStatus == 0
    }

    /// Whatever a run may leave on a node that it should not: a lock, staged or restore files.
    func leftovers(node: Int) async throws -> String {
        try await sandbox.run(onNode: node,
            "ls -d /var/lib/certroll/lock /usr/local/demisto/*.certroll-* /usr/local/demisto/custom/*.certroll-* /etc/demisto.conf.certroll-* /var/lib/demisto/otc.conf.json* 2>/dev/null; true"
        ).stdoutText
    }

    // MARK: driving certroll

    /// The built binary with this scenario's state dir, off the cooperative pool.
    /// Remembers the run it made as `lastRunID` (run ids order by the second only).
    func certroll(_ arguments: [String], environment: [String: String] = [:]) async throws -> Certroll.Result {
        let args = arguments + ["--state-dir", state]
        let known = Set(try runIDs())
        let result = try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(args, environment: environment) }
        if let made = try runIDs().first(where: { !known.contains($0) }) { lastRunID = made }
        return result
    }

    /// The run the latest `certroll` call made.
    private(set) var lastRunID: String?

    /// `certroll apply --yes -i INV --cert CERT --key KEY …`
    func apply(_ inventory: String, cert: String, key: String, _ extra: [String] = [],
               environment: [String: String] = [:]) async throws -> Certroll.Result {
        try await certroll(["apply", "--yes", "-i", inventory, "--cert", cert, "--key", key] + extra, environment: environment)
    }

    /// Run ids in this scenario's state dir, oldest first.
    func runIDs() throws -> [String] {
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: state + "/runs")) ?? []
        return runs.sorted()
    }

    /// The latest run's `report.json`.
    func lastReport() throws -> [String: Any] {
        let id = try #require(lastRunID, "no run in \(state)")
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(state)/runs/\(id)/report.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The latest run's single cluster outcome from `report.json`.
    func lastOutcome() throws -> [String: Any] {
        let clusters = try #require(try lastReport()["clusters"] as? [[String: Any]])
        return try #require(clusters.first?["outcome"] as? [String: Any])
    }

    /// The latest run's journal lines.
    func lastJournal() throws -> [[String: Any]] {
        let id = try #require(lastRunID)
        let text = try String(contentsOfFile: "\(state)/runs/\(id)/journal.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Every journal, report and log of every run in the state dir, as text.
    func everythingWritten() throws -> [String] {
        try runIDs().flatMap { id in
            try ["journal.jsonl", "report.json", "log"].map {
                try String(contentsOfFile: "\(state)/runs/\(id)/\($0)", encoding: .utf8)
            }
        }
    }

    var nodeNames: [String] { sandbox.nodes.map(\.address) }
}

extension Certroll.Result {
    /// stdout and stderr, for messages and searching.
    var output: String { stdout + "\n" + stderr }
}
