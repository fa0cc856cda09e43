import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

@Suite struct PairRolloutTests {
    let new = FakePKI.toInstall("new")

    @Test func happyPairRollout() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        let sink = RecordingSink()
        let hook = RecordingHook()
        lab.clusters[0].afterSuccess = "reimport-lb"
        lab.clusters[0].endpoints = [Endpoint(host: "lb", port: 443)]
        lab.network.setEndpoint("lb:443", serving: FakePKI.chain("old"))
        let report = try await lab.engine(hook: hook).apply(clusters: lab.clusters, certificate: new, options: fastOptions, events: sink)

        #expect(report.exitCode == 0)
        #expect(report.clusters.map(\.outcome.kind) == [.done])
        for h in [a, b] {
            #expect(h.servedLeaf == new.leafFingerprint)
            #expect(h.file("/usr/local/demisto/cert.pem") == .init(data: new.chainPEM, mode: 0o644, owner: "demisto", group: "demisto"))
            #expect(h.file("/usr/local/demisto/cert.key") == .init(data: new.keyPEM, mode: 0o600, owner: "demisto", group: "demisto"))
            #expect(h.stagedLeftovers.isEmpty)
            #expect(h.file("/var/lib/certroll/lock") == nil)
            let backups = "/var/lib/certroll/backups/\(report.runID)"
            #expect(h.file(backups)?.mode == 0o700)
            #expect(h.file(backups + "/cert-cert.pem")?.data == FakePKI.chain("old"))
            #expect(h.file(backups + "/key-cert.key")?.mode == 0o600)
        }
        // Primary serves before the backup is started; every node stopped before any swap.
        let steps = sink.events.filter { $0.kind == .stepEnded || $0.kind == .stepBegan }.map { "\($0.kind == .stepBegan ? "+" : "-")\($0.step!.rawValue)@\($0.node ?? "*")" }
        let idx = { (s: String) in steps.firstIndex(of: s)! }
        #expect(idx("-start@soc-a") < idx("+start@soc-b"))
        #expect(idx("-stop@soc-b") < idx("+swap@soc-a"))
        #expect(hook.commands == ["soc: reimport-lb"])
        #expect(report.clusters[0].outcome.warnings.contains { $0.contains("endpoint lb:443 still serves another certificate") })
        #expect(sink.events.last?.kind == .runFinished)
    }

    @Test func backupFailsToStartRollsBothBackByteIdentical() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", backup: HostThatFailsStart.self)
        let before = [a.liveFiles, b.liveFiles]
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)

        #expect(report.exitCode == 1)
        #expect(report.clusters[0].outcome.kind == .rolledBack)
        #expect(report.clusters[0].outcome.reason?.contains("node soc-b") == true)
        #expect([a.liveFiles, b.liveFiles] == before)
        for h in [a, b] {
            #expect(h.servedLeaf == FakePKI.leafFingerprint("old"))
            #expect(h.stagedLeftovers.isEmpty)
        }
    }

    /// Verify must hear the status template's answer: a command that could not
    /// ask it is a failed verify (said as such), and the pair rolls back.
    @Test func aVerifyThatCannotAskTheStatusRollsBack() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", backup: HostWhoseVerifyCommandFails.self)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 1)
        let reason = try #require(report.clusters[0].outcome.reason)
        #expect(reason.hasPrefix("node soc-b: could not ask `service demisto status` whether the service is active (exit 126: sh: denied)."), "\(reason)")
        for h in [a, b] { #expect(h.servedLeaf == FakePKI.leafFingerprint("old")) }
    }

    @Test func nodeDiesAfterStopNeedsAPerson() async throws {
        var lab = Lab()
        let (a, _) = lab.pair("soc", backup: HostThatDiesAfterStop.self)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)

        #expect(report.exitCode == 4)
        let outcome = report.clusters[0].outcome
        #expect(outcome.kind == .needsPerson)
        let steps = try #require(outcome.manualSteps["soc-b"])
        #expect(steps.contains("stop the service: service demisto stop"))
        #expect(steps.contains { $0.hasPrefix("restore /usr/local/demisto/cert.pem: cp -p /var/lib/certroll/backups/\(report.runID)/cert-cert.pem") })
        #expect(steps.contains("once the primary serves again, start the service: service demisto start"))
        #expect(outcome.manualSteps["soc-a"] == nil)
        #expect(a.servedLeaf == FakePKI.leafFingerprint("old"))
        #expect(a.file("/var/lib/certroll/lock") != nil, "locks are kept so resume can finish the rollback")
        let stored = try #require(RunStore(root: lab.stateDir).readReport(report.runID))
        #expect(stored.clusters[0].outcome.manualSteps["soc-b"] == steps)
    }

    @Test func resumeFinishesTheRollbackOnceTheNodeIsBack() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", backup: HostThatDiesAfterStop.self)
        let before = [a.liveFiles, b.liveFiles]
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 4)
        (b as? HostThatDiesAfterStop)?.comeBack()
        let primaryStops = a.stops
        let resumed = try await lab.engine().resume(runID: report.runID, options: fastOptions)
        #expect(resumed.exitCode == 1)
        #expect(resumed.clusters[0].outcome.kind == .rolledBack)
        #expect([a.liveFiles, b.liveFiles] == before)
        #expect(b.servedLeaf == FakePKI.leafFingerprint("old"))
        #expect(a.stops == primaryStops, "the primary, already back on the old certificate, was not stopped again")
    }

    @Test(arguments: ["missing group", "full disk", "sudo denied", "bad conf"])
    func preflightFailureStopsNothing(fault: String) async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        switch fault {
        case "missing group": b.groups.remove("demisto")
        case "full disk": b.freeKilobytes = 1
        case "sudo denied": b.effectiveUID = nil
        default: b.setFile("/etc/demisto.conf", .init(data: Data("{not json".utf8), mode: 0o644, owner: "root", group: "root"))
        }
        let before = [a.liveFiles, b.liveFiles]
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)

        #expect(report.exitCode == 3)
        #expect(report.clusters[0].outcome.kind == .preflightFailed)
        #expect(report.clusters[0].outcome.reason?.contains("node soc-b") == true)
        for h in [a, b] {
            #expect(!h.commandsRun.contains("service demisto stop"))
            #expect(!h.operations.contains { if case .write = $0 { true } else { false } })
        }
        #expect([a.liveFiles, b.liveFiles] == before)
    }

    /// work_dir on a full filesystem of its own: refused at preflight, not at the backup.
    @Test func fullWorkDirMountIsRefusedAtPreflight() async throws {
        var lab = Lab()
        let (_, b) = lab.pair("soc")
        b.setFile("/var/lib/certroll", .init(data: Data(), mode: 0o700, owner: "root", group: "root", isDirectory: true))
        b.freeKilobytesAt["/var/lib/certroll"] = 1
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 3)
        #expect(report.clusters[0].outcome.reason?.contains("node soc-b: only 1024 bytes free in /var/lib/certroll") == true)
        #expect(!b.commandsRun.contains("service demisto stop"))
    }

    /// The SSH layer's errors already read `node NAME: reason (fix)`, e.g. when
    /// sudo refuses the become password: the refusal says so once, with that fix.
    @Test func transportErrorIsNamedOnceWithItsOwnFix() async throws {
        var lab = Lab()
        _ = lab.pair("soc", backup: HostThatRefusesSudo.self)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 3)
        let reason = try #require(report.clusters[0].outcome.reason)
        #expect(reason.contains("node soc-b: sudo refused the password of admin (check the become password)"))
        #expect(!reason.contains("node soc-b: node soc-b:"))
        #expect(!reason.contains("check the host, credentials and host key"))
    }

    @Test func encryptedCurrentKeyWithoutPassphraseIsRefused() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", oldPassphrase: "old-pass")
        #expect(a.servedLeaf == FakePKI.leafFingerprint("old"))
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 3)
        #expect(report.clusters[0].outcome.reason?.contains("node soc-a: the current key /usr/local/demisto/cert.key is encrypted") == true)
        #expect(!a.commandsRun.contains("service demisto stop") && !b.commandsRun.contains("service demisto stop"))
    }

    @Test func encryptedCurrentKeyRollbackWritesOTCForOldKey() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", primary: HostThatFailsStart.self, oldPassphrase: "old-pass")
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: FakePKI.toInstall("new", passphrase: "new-pass"),
                                                  options: fastOptions, secrets: RolloutSecrets(currentKeyPassphrase: Secret("old-pass")))
        #expect(report.exitCode == 1)
        for h in [a, b] {
            #expect(h.servedLeaf == FakePKI.leafFingerprint("old"), "started on the old encrypted key")
            #expect(h.file("/var/lib/demisto/otc.conf.json") == nil, "the OTC was consumed")
            #expect(h.operations.contains(.write("/var/lib/demisto/otc.conf.json.certroll-new")))
        }
    }

    @Test func customPathsEditConfKeepingOtherKeysAndSurviveEBUSY() async throws {
        var settings = fastSettings
        settings.certPath = "/opt/certs/cert.pem"
        settings.keyPath = "/opt/certs/cert.key"
        var lab = Lab()
        let (a, b) = lab.pair("soc", settings: settings)
        b.busyPaths = ["/etc/demisto.conf"]
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 0)
        for h in [a, b] {
            #expect(h.servedLeaf == new.leafFingerprint)
            let conf = try DemistoConf.parse(try #require(h.file("/etc/demisto.conf")).data)
            #expect(DemistoConf.configuredPaths(conf) == ("/opt/certs/cert.pem", "/opt/certs/cert.key"))
            #expect((conf["Server"] as? [String: String])?["HttpsPort"] == "443")
            #expect(h.file("/etc/demisto.conf")?.owner == "root")
        }
        #expect(b.commandsRun.contains { $0.hasPrefix("test -r /etc/demisto.conf.certroll-new && cat -- /etc/demisto.conf.certroll-new > /etc/demisto.conf") })
    }

    @Test func secondApplyRestartsNothing() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        _ = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        let starts = (a.starts, b.starts, a.stops, b.stops)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 0)
        #expect(report.clusters[0].outcome.kind == .skipped)
        #expect((a.starts, b.starts, a.stops, b.stops) == starts)

        var forced = fastOptions
        forced.force = true
        let again = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: forced)
        #expect(again.clusters[0].outcome.kind == .done)
        #expect(a.stops == starts.2 + 1)
    }

    @Test func partlyCurrentClusterIsRolledOutWhole() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        b.install(chainPEM: new.chainPEM, keyPEM: new.keyPEM)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.clusters[0].outcome.kind == .done)
        #expect(a.servedLeaf == new.leafFingerprint && b.servedLeaf == new.leafFingerprint)
        #expect(b.stops == 1)
    }

    @Test func nodeClockBeforeNotBeforeIsRefused() async throws {
        var lab = Lab()
        let (_, b) = lab.pair("soc")
        b.clockOffset = -3 * 86_400
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 3)
        #expect(report.clusters[0].outcome.reason?.contains("node soc-b: by its clock") == true)
        #expect(b.stops == 0)
    }

    @Test func liveLockRefusesNamingHolderAndBreakLockClearsIt() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        let dead = LockRecord(runID: "20200101T000000Z-dead00", controller: "old-ctl", user: "bob", started: "2020-01-01T00:00:00Z")
        for h in [a, b] {
            h.setFile("/var/lib/certroll", .init(data: Data(), mode: 0o700, owner: "root", group: "root", isDirectory: true))
            h.setFile("/var/lib/certroll/lock", .init(data: Data(dead.json.utf8), mode: 0o644, owner: "root", group: "root"))
        }
        let refused = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(refused.exitCode == 3)
        #expect(refused.clusters[0].outcome.reason?.contains("locked by run 20200101T000000Z-dead00 by bob@old-ctl") == true)
        #expect(a.stops == 0)

        var options = fastOptions
        options.breakLock = dead.runID
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: options)
        #expect(report.exitCode == 0)
        #expect(a.file("/var/lib/certroll/lock") == nil && b.file("/var/lib/certroll/lock") == nil)
    }

    @Test func twoConcurrentRunsOnOnePair() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        let clusters = lab.clusters
        let e1 = lab.engine(), e2 = lab.engine()
        let other = FakePKI.toInstall("other")
        async let r1 = e1.apply(clusters: clusters, certificate: new, options: fastOptions)
        async let r2 = e2.apply(clusters: clusters, certificate: other, options: fastOptions)
        let reports = try await [r1, r2]
        #expect(reports.contains { $0.exitCode == 0 })
        for r in reports where r.exitCode != 0 {
            #expect(r.exitCode == 3)
            #expect(r.clusters[0].outcome.reason?.contains("locked by run") == true)
        }
        #expect(a.servedLeaf == b.servedLeaf, "the pair ends consistent")
        #expect(a.file("/var/lib/certroll/lock") == nil)
    }

    @Test func rollbackAfterSuccessRestoresOld() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        let before = [a.liveFiles, b.liveFiles]
        let applied = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(a.servedLeaf == new.leafFingerprint)
        let rolled = try await lab.engine().rollback(runID: applied.runID, options: fastOptions)
        #expect(rolled.exitCode == 0)
        #expect(rolled.clusters[0].outcome.kind == .rolledBack)
        #expect([a.liveFiles, b.liveFiles] == before)
        #expect(a.servedLeaf == FakePKI.leafFingerprint("old") && b.servedLeaf == FakePKI.leafFingerprint("old"))
        let runs = RunStore(root: lab.stateDir).list()
        #expect(runs.map(\.runID) == [applied.runID])
        #expect(runs.first?.outcome == "rolled-back")
    }

    @Test func noSecretInJournalReportLogEventsOrArgv() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", backup: HostThatFailsStart.self, oldPassphrase: "Old-Secret-456")
        let sink = RecordingSink()
        let report = try await lab.engine().apply(
            clusters: lab.clusters, certificate: FakePKI.toInstall("new", passphrase: "New-Secret-123"), options: fastOptions,
            secrets: RolloutSecrets(currentKeyPassphrase: Secret("Old-Secret-456")), events: sink)
        #expect(report.exitCode == 1)
        let store = RunStore(root: lab.stateDir)
        var blobs: [Data] = []
        for path in [store.journalPath(report.runID), store.reportPath(report.runID), store.logPath(report.runID)] {
            blobs.append(try #require(FileManager.default.contents(atPath: path)))
        }
        let encoder = JSONEncoder()
        blobs += try sink.events.map { try encoder.encode($0) }
        blobs += [a, b].flatMap { $0.commandsRun.map { Data($0.utf8) } }
        for secret in ["Old-Secret-456", "New-Secret-123"] {
            for blob in blobs { #expect(blob.range(of: Data(secret.utf8)) == nil, "\(secret) leaked") }
        }
        #expect(String(decoding: blobs[0], as: UTF8.self).contains("\"otcWritten\":true"))
    }

    @Test func planChangesNothingAndDescribesTheRollout() async throws {
        var lab = Lab()
        let (a, _) = lab.pair("soc")
        let plan = await lab.engine().plan(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(plan.exitCode == 0)
        let c = plan.clusters[0]
        #expect(c.action == .rollout)
        #expect(c.nodes[0].servedFingerprint == FakePKI.leafFingerprint("old"))
        #expect(c.nodes[0].diskFingerprint == FakePKI.leafFingerprint("old"))
        #expect(c.nodes[0].changes.contains { $0.hasPrefix("replace /usr/local/demisto/cert.pem") })
        #expect(c.nodes.allSatisfy { $0.restart })
        #expect(!c.nodes[0].writesOTC && !c.nodes[0].editsConf)
        #expect(!FileManager.default.fileExists(atPath: lab.stateDir + "/runs"))
        #expect(!a.operations.contains { if case .write = $0 { true } else if case .rename = $0 { true } else { false } })
        #expect(!a.commandsRun.contains { $0.contains("stop") || $0.hasPrefix("mkdir") })
    }
}

/// Its sudo refuses the become password: every call fails the way the SSH layer reports it.
final class HostThatRefusesSudo: InMemoryHost, @unchecked Sendable {
    struct SudoRefused: Error, CustomStringConvertible {
        var description: String { "node soc-b: sudo refused the password of admin (check the become password)" }
    }

    override func fault(_ op: Operation) throws -> CommandResult? { throw SudoRefused() }
}

/// Its verify command (OTC and status) cannot run.
final class HostWhoseVerifyCommandFails: InMemoryHost, @unchecked Sendable {
    override func fault(_ op: Operation) throws -> CommandResult? {
        guard case .run(let c) = op, c == NodeCommands(settings).otcThenStatus.shell else { return nil }
        return CommandResult(exitStatus: 126, stderr: Data("sh: denied".utf8))
    }
}
