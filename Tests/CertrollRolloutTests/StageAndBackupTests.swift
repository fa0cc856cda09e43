import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// A node whose disk changes the staged key after it was written (seen by the
/// staged files' checksum).
final class HostThatCorruptsTheStagedKey: InMemoryHost, @unchecked Sendable {
    override func fault(_ op: Operation) throws -> CommandResult? {
        let key = NodeCommands.staged(settings.keyPath)
        guard case .run(let c) = op, c.hasPrefix("sha256sum -- "), c.contains(key), var entry = file(key) else { return nil }
        entry.data.append(contentsOf: Array("x".utf8))
        setFile(key, entry)
        return nil
    }
}

@Suite struct StageAndBackupTests {
    let new = FakePKI.toInstall("new", passphrase: "pw")

    /// Stage writes cert, key, conf and OTC and checks them in one `sha256sum`; the
    /// backup copies and checks all three files in one command (nine commands before).
    @Test func stageAndBackupRunTwoCommandsPerNode() async throws {
        var lab = Lab()
        let (a, _) = lab.pair("soc")
        let sink = RecordingSink()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions, events: sink)
        #expect(report.exitCode == 0)
        let c = NodeCommands(fastSettings)
        let staged = c.stagedFiles.filter { a.operations.contains(.write($0)) }
        #expect(staged.count >= 3, "cert, key, OTC and the conf when it needed an edit")
        let backups = c.backedUpFiles.map { (from: $0.path, to: c.backupPath(role: $0.role, of: $0.path, runID: report.runID)) }
        let checksumsAndCopies = a.commandsRun.filter { $0.hasPrefix("sha256sum") || $0.hasPrefix("cp -p") }
        #expect(checksumsAndCopies == [NodeCommands.sha256(staged).shell, NodeCommands.backUp(backups).shell])
        let journal = try String(contentsOfFile: lab.stateDir + "/runs/\(report.runID)/journal.jsonl", encoding: .utf8)
        let backupLine = journal.split(separator: "\n").first { $0.contains(#""node":"soc-a""#) && $0.contains(#""backups":["#) }
        #expect(backupLine?.contains(SHA256.hex(FakePKI.chain("old"))) == true, "the cert's backup is journaled with its checksum")
        #expect(backupLine?.contains(SHA256.hex(a.file(backups[1].to)?.data ?? Data())) == true)
    }

    /// Without a conf there are two copies in the command and the conf is journaled as absent.
    @Test func aMissingConfIsLeftOutOfTheBackupCommand() async throws {
        var lab = Lab()
        let (a, _) = lab.pair("soc")
        a.setFile(fastSettings.confPath, nil)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 0)
        let c = NodeCommands(fastSettings)
        let backups = c.backedUpFiles.dropLast().map { (from: $0.path, to: c.backupPath(role: $0.role, of: $0.path, runID: report.runID)) }
        #expect(a.commandsRun.filter { $0.hasPrefix("cp -p") } == [NodeCommands.backUp(Array(backups)).shell])
    }

    @Test func aStagedFileThatDiffersStopsBeforeAnythingStops() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", backup: HostThatCorruptsTheStagedKey.self)
        let before = [a.liveFiles, b.liveFiles]
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode != 0)
        #expect(report.clusters[0].outcome.kind != .done)
        let reason = report.clusters[0].outcome.reason ?? ""
        #expect(reason.contains("node soc-b: \(NodeCommands.staged(fastSettings.keyPath)) does not match what was sent"), "\(reason)")
        #expect(!reason.contains(NodeCommands.staged(fastSettings.certPath)))
        #expect(a.stops == 0 && b.stops == 0)
        #expect([a.liveFiles, b.liveFiles] == before)
    }
}
