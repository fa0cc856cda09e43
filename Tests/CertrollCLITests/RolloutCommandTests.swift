@testable import CertrollCLI
import CertrollCore
@testable import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

@Suite struct RolloutHelpTests {
    @Test(arguments: ["plan", "apply", "renew", "rollback", "resume", "runs", "demo"])
    func helpTextIsGolden(command: String) throws {
        let result = try Certroll.run([command, "--help"])
        #expect(result.status == 0)
        #expect(result.stdout == RolloutHelpGolden.texts[command]! + "\n")
    }

    @Test func rootHelpListsTheRolloutCommands() throws {
        let result = try Certroll.run(["--help"])
        for command in ["plan", "apply", "renew", "rollback", "resume", "runs", "demo"] {
            #expect(result.stdout.contains("\n  \(command) "), "\(command) missing from certroll --help")
        }
    }
}

/// A fixed event sequence: preflight on a pair, a failed start on the backup,
/// the rollback, then a second cluster that needs a person.
enum FixedRun {
    static let runID = "20260115T120000Z-a1b2c3"
    static func at(_ seconds: Double) -> Date { TestPKI.referenceTime.addingTimeInterval(seconds) }

    static let report = RunReport(
        runID: runID, command: "apply", started: at(0), finished: at(9),
        clusters: [
            .init(name: "soc", outcome: ClusterOutcome(
                .rolledBack, reason: "cluster soc: node xsoar-b: `service demisto start` failed (exit 1); both nodes serve the old certificate again.",
                warnings: ["node xsoar-a: stray file /usr/local/demisto/old.pem in the cert folder."]), exitCode: 1),
            .init(name: "lab", outcome: ClusterOutcome(
                .needsPerson, reason: "cluster lab: node lab-b was unreachable during the rollback.",
                manualSteps: ["lab-b": ["cp -p /var/lib/certroll/backups/R/cert.pem /usr/local/demisto/cert.pem", "service demisto start"]]),
                exitCode: 4),
        ],
        exitCode: 4)

    static let events: [RolloutEvent] = [
        RolloutEvent(kind: .runStarted, runID: runID, message: "run \(runID): apply to soc, lab.", time: at(0)),
        RolloutEvent(kind: .check, runID: runID, cluster: "soc", node: "xsoar-a", step: .preflight, verdict: .pass,
                     message: "node xsoar-a: commands run as root.", time: at(1)),
        RolloutEvent(kind: .check, runID: runID, cluster: "soc", node: "xsoar-a", step: .preflight, verdict: .warn,
                     message: "node xsoar-a: stray file /usr/local/demisto/old.pem in the cert folder.", time: at(1)),
        RolloutEvent(kind: .stepBegan, runID: runID, cluster: "soc", node: "xsoar-a", step: .stage, message: "node xsoar-a: stage…", time: at(2)),
        RolloutEvent(kind: .stepEnded, runID: runID, cluster: "soc", node: "xsoar-a", step: .stage, message: "node xsoar-a: stage done.", time: at(3)),
        RolloutEvent(kind: .stepFailed, runID: runID, cluster: "soc", node: "xsoar-b", step: .start,
                     message: "node xsoar-b: `service demisto start` failed (exit 1).", time: at(4)),
        RolloutEvent(kind: .warning, runID: runID, cluster: "soc", step: .endpoints,
                     message: "cluster soc: endpoint lb.example.com:443 still serves the old certificate; re-import it there.", time: at(5)),
        RolloutEvent(kind: .clusterFinished, runID: runID, cluster: "soc", message: report.clusters[0].outcome.reason!,
                     outcome: report.clusters[0].outcome, time: at(6)),
        RolloutEvent(kind: .clusterFinished, runID: runID, cluster: "lab", message: report.clusters[1].outcome.reason!,
                     outcome: report.clusters[1].outcome, time: at(8)),
        RolloutEvent(kind: .runFinished, runID: runID, message: "run \(runID) finished with exit code 4.", report: report, time: at(9)),
    ]

    static func render(_ renderer: some EventRenderer) -> String {
        var renderer = renderer
        return events.map { renderer.render($0) }.joined()
    }
}

@Suite struct RendererGoldenTests {
    @Test func plainIsOneLinePerEventThenTheReport() {
        #expect(FixedRun.render(PlainEventRenderer()) == #"""
            12:00:00 run    run 20260115T120000Z-a1b2c3: apply to soc, lab.
            12:00:01 ok     node xsoar-a: commands run as root.
            12:00:01 warn   node xsoar-a: stray file /usr/local/demisto/old.pem in the cert folder.
            12:00:02 ...    node xsoar-a: stage…
            12:00:03 done   node xsoar-a: stage done.
            12:00:04 FAILED node xsoar-b: `service demisto start` failed (exit 1).
            12:00:05 warn   cluster soc: endpoint lb.example.com:443 still serves the old certificate; re-import it there.
            12:00:06 rolled-back cluster soc: node xsoar-b: `service demisto start` failed (exit 1); both nodes serve the old certificate again.
            12:00:08 needs-person cluster lab: node lab-b was unreachable during the rollback.
            12:00:09 run    run 20260115T120000Z-a1b2c3 finished with exit code 4.
            apply 20260115T120000Z-a1b2c3: exit 4
              cluster soc: rolled-back (exit 1)
                cluster soc: node xsoar-b: `service demisto start` failed (exit 1); both nodes serve the old certificate again.
                warning: node xsoar-a: stray file /usr/local/demisto/old.pem in the cert folder.
              cluster lab: needs-person (exit 4)
                cluster lab: node lab-b was unreachable during the rollback.
                node lab-b needs a person; steps left, in order:
                  - cp -p /var/lib/certroll/backups/R/cert.pem /usr/local/demisto/cert.pem
                  - service demisto start

            """#)
    }

    /// A node needs a person: the summary also goes to stderr (where cron and CI
    /// look), unless stdout is the terminal already showing it.
    @Test func needsPersonSummaryAlsoGoesToStandardError() throws {
        let report = try #require(FixedRun.events.last?.report)
        #expect(ReportText.standardError(report, stdoutIsTerminal: false) == ReportText.lines(report))
        #expect(ReportText.standardError(report, stdoutIsTerminal: false).contains("    node lab-b needs a person; steps left, in order:"))
        #expect(ReportText.standardError(report, stdoutIsTerminal: true).isEmpty)
        var clean = report
        clean.clusters.removeAll { $0.outcome.kind == .needsPerson }
        #expect(ReportText.standardError(clean, stdoutIsTerminal: false).isEmpty)
    }

    @Test func jsonIsOneObjectPerLineAndTheReportLast() throws {
        let output = FixedRun.render(JSONEventRenderer())
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == FixedRun.events.count)
        #expect(lines[0] == #"{"kind":"run-started","message":"run 20260115T120000Z-a1b2c3: apply to soc, lab.","runID":"20260115T120000Z-a1b2c3","time":"2026-01-15T12:00:00.000Z"}"#)
        #expect(lines[5] == #"{"cluster":"soc","kind":"step-failed","message":"node xsoar-b: `service demisto start` failed (exit 1).","node":"xsoar-b","runID":"20260115T120000Z-a1b2c3","step":"start","time":"2026-01-15T12:00:04.000Z"}"#)
        #expect(lines.last == #"{"kind":"run-finished","message":"run 20260115T120000Z-a1b2c3 finished with exit code 4.","report":{"clusters":[{"exitCode":1,"name":"soc","outcome":{"kind":"rolled-back","manualSteps":{},"reason":"cluster soc: node xsoar-b: `service demisto start` failed (exit 1); both nodes serve the old certificate again.","warnings":["node xsoar-a: stray file /usr/local/demisto/old.pem in the cert folder."]}},{"exitCode":4,"name":"lab","outcome":{"kind":"needs-person","manualSteps":{"lab-b":["cp -p /var/lib/certroll/backups/R/cert.pem /usr/local/demisto/cert.pem","service demisto start"]},"reason":"cluster lab: node lab-b was unreachable during the rollback.","warnings":[]}}],"command":"apply","exitCode":4,"finished":"2026-01-15T12:00:09.000Z","runID":"20260115T120000Z-a1b2c3","started":"2026-01-15T12:00:00.000Z"},"runID":"20260115T120000Z-a1b2c3","time":"2026-01-15T12:00:09.000Z"}"#)
        // Every line decodes back to the event it came from.
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = JSONTime.decoding
        let decoded = try lines.map { try decoder.decode(RolloutEvent.self, from: Data($0.utf8)) }
        #expect(decoded == FixedRun.events)
    }

    @Test func jsonTimesKeepMilliseconds() throws {
        let event = RolloutEvent(kind: .warning, message: "m", time: Date(timeIntervalSince1970: 1_796_228_357.125))
        #expect(EventText.json(event) == #"{"kind":"warning","message":"m","time":"2026-12-02T16:19:17.125Z"}"#)
    }

    @Test func terminalKeepsOneLiveLinePerNodeAndClearsItAtTheEnd() {
        let output = FixedRun.render(TTYEventRenderer())
        #expect(output.contains("  soc  xsoar-a  stage …\n"))
        #expect(output.contains("\u{1B}[1A\u{1B}[J"))
        // After the run finished no live line is left: the output ends with the report.
        #expect(output.hasSuffix("\n      - service demisto start\n"))
    }
}
