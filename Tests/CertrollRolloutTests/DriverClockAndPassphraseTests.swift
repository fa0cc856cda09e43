import CertrollCore
@testable import CertrollRollout
import CertrollTestKit
import Foundation
import Logging
import Testing

@Suite struct DriverClockAndPassphraseTests {
    /// A node that never stops fails the stop step by the start timeout of its
    /// settings, measured on the injected clock: ten minutes pass in polls.
    @Test func stopTimesOutOnTheInjectedClock() async throws {
        var lab = Lab()
        var settings = fastSettings
        settings.startTimeout = .seconds(600)
        let (a, b) = lab.pair("soc", backup: HostThatNeverStops.self, settings: settings)
        let clock = ClockThatSkipsSleep()
        let options = RolloutOptions(pollInterval: .seconds(2), commandTimeout: .seconds(5), probeTimeout: .seconds(1))
        let engine = RolloutEngine(connector: lab.network, probe: lab.network, keyInspector: FakeKeyInspector(),
                                   store: RunStore(root: lab.stateDir), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                   controller: ControllerIdentity(host: "ctl", user: "tester"), clock: clock)
        let report = try await engine.apply(clusters: lab.clusters, certificate: FakePKI.toInstall("new"), options: options)
        // Its rollback's stop times out the same way: a person must look.
        #expect(report.exitCode == 4)
        let reason = try #require(report.clusters[0].outcome.reason)
        #expect(reason.hasPrefix("node soc-b: still running 600s after `service demisto stop`."), "\(reason)")
        #expect(clock.now >= .seconds(1200), "both stops ended by the timeout, not by the node stopping")
        #expect(clock.sleeps >= 600)
        for h in [a, b] { #expect(h.servedLeaf == FakePKI.leafFingerprint("old")) }
    }

    /// Polls start short and double up to the poll interval: a node that answers
    /// a moment after its command returns is not kept down a whole interval.
    @Test func pollsStartShortAndGrowToTheInterval() {
        var d = PollDelays(upTo: .seconds(2))
        #expect((0..<7).map { _ in d.take() } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                                                  .milliseconds(1600), .seconds(2), .seconds(2)])
        var fast = PollDelays(upTo: .milliseconds(5))
        #expect([fast.take(), fast.take()] == [.milliseconds(5), .milliseconds(5)], "never longer than the interval")
    }

    /// A renewal keeps the key's passphrase: the old key opens with the new
    /// key's, so preflight passes without --current-key-passphrase-file, records
    /// which one opened it, and a rollback's OTC uses it.
    @Test func oldKeyOpenedByTheNewPassphraseIsRolledBackWithIt() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", primary: HostThatFailsStart.self, oldPassphrase: "kept-pass")
        let sink = RecordingSink()
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: FakePKI.toInstall("new", passphrase: "kept-pass"),
                                                  options: fastOptions, events: sink)
        #expect(report.exitCode == 1, "preflight passed, start failed, rolled back")
        let checks = sink.events.filter { $0.kind == .check && $0.message.contains("current key") }
        #expect(checks.count == 2)
        #expect(checks.allSatisfy { $0.verdict == .pass && $0.message.contains("the new key's passphrase opens it") })
        let facts = try RunStore(root: lab.stateDir).readJournal(report.runID).compactMap(\.facts)
        #expect(facts.map(\.currentKeyOpenedWith) == [.newKey, .newKey])
        for h in [a, b] {
            #expect(h.servedLeaf == FakePKI.leafFingerprint("old"), "started on the old encrypted key")
            #expect(h.file("/var/lib/demisto/otc.conf.json") == nil, "the OTC was consumed")
        }
        let journal = try String(contentsOfFile: RunStore(root: lab.stateDir).journalPath(report.runID), encoding: .utf8)
        #expect(!journal.contains("kept-pass"))
    }

    /// A plan for a pair whose current key is encrypted with "old-pass", installing one encrypted with "new-pass".
    private func plan(currentKeyPassphrase: String) async -> FleetPlan {
        var lab = Lab()
        lab.pair("soc", oldPassphrase: "old-pass")
        return await lab.engine().plan(clusters: lab.clusters, certificate: FakePKI.toInstall("new", passphrase: "new-pass"),
                                       options: fastOptions, secrets: RolloutSecrets(currentKeyPassphrase: Secret(currentKeyPassphrase)))
    }

    /// The current-key passphrase is tried first.
    @Test func currentPassphraseIsTriedFirst() async throws {
        let plan = await plan(currentKeyPassphrase: "old-pass")
        #expect(plan.exitCode == 0)
        let keyChecks = plan.clusters[0].nodes.flatMap(\.findings).filter { $0.check == .currentKey }
        #expect(keyChecks.map(\.message) == ["soc-a", "soc-b"].map { "node \($0): the current key is encrypted and the current passphrase opens it." })
    }

    /// Neither passphrase opens it: refused, as before.
    @Test func neitherPassphraseOpensTheOldKey() async throws {
        let plan = await plan(currentKeyPassphrase: "wrong")
        #expect(plan.exitCode == 3)
        let failures = plan.clusters[0].nodes.flatMap(\.findings).filter { $0.verdict == .fail }
        #expect(failures.map(\.check) == [.currentKey, .currentKey])
        #expect(PreflightCheck.currentKey.mattersOnlyWhenClusterChanges)
        #expect(PreflightCheck.allCases.filter(\.mattersOnlyWhenClusterChanges) == [.currentKey])
    }
}
