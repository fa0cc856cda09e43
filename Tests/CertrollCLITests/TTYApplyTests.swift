import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// `certroll apply` at a terminal (the built binary on a pseudo-terminal)
/// against real sandbox nodes: the plan and the `[y/N]` question, live
/// per-node lines, and Ctrl-C once (in-flight cluster finishes, no new
/// cluster) and twice (stops at once; `resume` makes the pair consistent).
/// Each test brings up its own sandbox and takes it down, also on failure.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "the sandbox needs root (network and mount namespaces); run swift test as root"))
struct TTYApplyTests {
    let pki = LivePKI.shared
    let dir: URL
    let cert: String
    let key: String
    let state: String

    init() throws {
        dir = try TestPKI.temporaryDirectory()
        cert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "cert.pem", mode: 0o644)
        key = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "cert.key")
        state = dir.appendingPathComponent("state").path
    }

    var newLeaf: String { pki.leaf.fingerprintSHA256 }

    /// Nodes (1-based) that still have a certroll lock file.
    func locked(_ sandbox: Sandbox) async throws -> [Int] {
        var result: [Int] = []
        for node in sandbox.nodes where try await sandbox.run(onNode: node.index, "test -e /var/lib/certroll/lock").exitStatus == 0 {
            result.append(node.index)
        }
        return result
    }

    /// Every later start of these nodes takes `seconds` (xsoar-sim's `start-delay` switch).
    func slowStart(_ sandbox: Sandbox, nodes: [Int], seconds: Int) async throws {
        for node in nodes {
            let result = try await sandbox.run(onNode: node, "echo \(seconds) > /var/lib/demisto/sim/start-delay")
            #expect(result.exitStatus == 0)
        }
    }

    /// The live line the terminal shows for a node in a step.
    func row(_ cluster: String, _ node: Sandbox.Node, _ state: String) -> String {
        "  \(cluster)  \(node.address)  \(state)"
    }

    func certroll(_ arguments: [String]) async throws -> Certroll.Result {
        try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(arguments) }
    }

    @Test func applyShowsThePlanAndAsksNChangesNothingYRollsOutWithLiveLines() async throws {
        try await Sandbox.with(nodes: 2, name: "crttya") { sandbox in
            let original = await sandbox.servedLeaves()
            let arguments = ["apply", "-i", sandbox.inventoryFile, "--cert", cert, "--key", key, "--state-dir", state]

            // n: nothing changes, exit 2, nothing under runs/.
            let declined = try PseudoTerminal.certroll(arguments)
            defer { declined.close() }
            let plan = try await declined.expect("? [y/N] ", timeout: .seconds(60))
            #expect(plan.contains("cluster crttya: roll out"), "the plan is shown before the question:\n\(plan)")
            #expect(plan.contains("will replace /usr/local/demisto/cert.pem"))
            #expect(plan.contains("Apply \(newLeaf.prefix(16))… to 1 cluster(s)? [y/N] "))
            declined.send("n\n")
            #expect(try await declined.waitForExit(timeout: .seconds(20)) == 2, "\(declined.output)")
            #expect(declined.output.contains("certroll: apply was not confirmed; nothing was changed."))
            #expect(await sandbox.servedLeaves() == original, "answering n changes nothing on the nodes")
            #expect(try await locked(sandbox).isEmpty)
            let runs = try await certroll(["runs", "--state-dir", state])
            #expect(runs.stdout.hasPrefix("no runs in "), "answering n leaves no run behind: \(runs.stdout)")

            // y: the rollout, with one live line per node redrawn in place.
            let accepted = try PseudoTerminal.certroll(arguments)
            defer { accepted.close() }
            try await accepted.expect("? [y/N] ", timeout: .seconds(60))
            accepted.send("y\n")
            let status = try await accepted.waitForExit(timeout: .seconds(90))
            let screen = accepted.output
            #expect(status == 0, "\(screen)")
            let (primary, backup) = (sandbox.nodes[0], sandbox.nodes[1])
            for line in [row("crttya", primary, "stop …"), row("crttya", primary, "start …"), row("crttya", backup, "verify ok")] {
                #expect(screen.contains(line + "\r\n"), "live line \"\(line)\" is shown:\n\(screen)")
            }
            #expect(screen.contains("\r\u{1B}[2A\u{1B}[J"), "the two live lines are redrawn in place")
            #expect(screen.contains("done: cluster crttya: done."))
            #expect(screen.contains("apply ") && screen.contains(": exit 0"), "the report summary ends the run")
            #expect(await sandbox.servedLeaves() == [newLeaf, newLeaf])
            #expect(try await locked(sandbox).isEmpty)
        }
    }

    @Test func firstCtrlCLetsTheClusterInFlightFinishAndStartsNoOther() async throws {
        try await Sandbox.with(nodes: 4, name: "crttyb", clusterSize: 2) { sandbox in
            let original = await sandbox.servedLeaves()
            try await slowStart(sandbox, nodes: [1, 2], seconds: 1)
            let pty = try PseudoTerminal.certroll([
                "apply", "--yes", "--parallel", "1", "-i", sandbox.inventoryFile, "--cert", cert, "--key", key, "--state-dir", state,
            ])
            defer { pty.close() }
            // Ctrl-C while the first cluster's primary is starting.
            try await pty.expect(row("crttyb-c1", sandbox.nodes[0], "start …"), timeout: .seconds(60))
            pty.interrupt()
            try await pty.expect("interrupted: no new cluster starts; clusters in flight finish or roll back.", timeout: .seconds(5))
            let status = try await pty.waitForExit(timeout: .seconds(60))
            let screen = pty.output
            #expect(status == 130, "a cluster was left unstarted, so the run exits 130:\n\(screen)")
            #expect(screen.contains("cluster crttyb-c1: done (exit 0)"), "the cluster in flight finished:\n\(screen)")
            #expect(screen.contains("cluster crttyb-c2: not-started"), "the second cluster never started:\n\(screen)")
            #expect(!screen.contains(row("crttyb-c2", sandbox.nodes[2], "stop")), "no node of the second cluster was stopped")
            let now = await sandbox.servedLeaves()
            #expect(Array(now[0...1]) == [newLeaf, newLeaf], "the first pair is consistent on the new certificate")
            #expect(Array(now[2...3]) == Array(original[2...3]), "the second pair still serves what it served")
            #expect(try await locked(sandbox).isEmpty, "no lock left on any node")

            // Ctrl-C when nothing is left unstarted: the one cluster finishes, and
            // docs/usage.md says the run then exits 0 (130 only if something was left).
            try await slowStart(sandbox, nodes: [3, 4], seconds: 1)
            let last = try PseudoTerminal.certroll([
                "apply", "--yes", "--cluster", "crttyb-c2", "-i", sandbox.inventoryFile, "--cert", cert, "--key", key, "--state-dir", state,
            ])
            defer { last.close() }
            try await last.expect(row("crttyb-c2", sandbox.nodes[2], "start …"), timeout: .seconds(60))
            last.interrupt()
            let lastStatus = try await last.waitForExit(timeout: .seconds(60))
            #expect(last.output.contains("cluster crttyb-c2: done (exit 0)"), "\(last.output)")
            #expect(await sandbox.servedLeaves() == Array(repeating: newLeaf, count: 4))
            #expect(lastStatus == 0, "nothing was left unstarted, so the run is not 'interrupted'")
        }
    }

    @Test func secondCtrlCStopsAtOnceAndResumeMakesThePairConsistent() async throws {
        try await Sandbox.with(nodes: 2, name: "crttyc") { sandbox in
            let original = await sandbox.servedLeaves()
            // A start that outlasts the 3 s grace many times over, to show the second Ctrl-C does not wait for it.
            let delay = 20
            try await slowStart(sandbox, nodes: [1, 2], seconds: delay)
            let pty = try PseudoTerminal.certroll([
                "apply", "--yes", "-i", sandbox.inventoryFile, "--cert", cert, "--key", key, "--state-dir", state,
            ])
            defer { pty.close() }
            try await pty.expect(row("crttyc", sandbox.nodes[0], "start …"), timeout: .seconds(60))
            pty.interrupt()
            try await pty.expect("interrupted: no new cluster starts", timeout: .seconds(5))
            let second = ContinuousClock.now
            pty.interrupt()
            try await pty.expect("stopping at once; certroll resume ", timeout: .seconds(5))
            let status = try await pty.waitForExit(timeout: .seconds(Double(delay) + 10))
            let took = ContinuousClock.now - second
            #expect(status == 130, "\(pty.output)")
            // Ended by the grace, not by the start completing: half the start's delay is
            // over three times the grace, a margin no load on the machine reaches.
            #expect(took < .seconds(Double(delay) / 2), "the second Ctrl-C ends the process after the 3 s grace, not after the \(delay) s start (took \(took))")

            let screen = pty.output
            let runID = try #require(screen.firstMatch(of: /stopping at once; certroll resume (\S+) finishes/).map { String($0.1) })
            #expect(try await !locked(sandbox).isEmpty, "the interrupted run still holds its locks, for resume")

            // Later starts are quick again (the start in flight keeps its delay).
            try await slowStart(sandbox, nodes: [1, 2], seconds: 0)

            // resume at the terminal: names the run and its nodes, asks, then finishes or rolls back.
            let resume = try PseudoTerminal.certroll(["resume", runID, "--state-dir", state])
            defer { resume.close() }
            let question = try await resume.expect("Go ahead with the resume? [y/N] ", timeout: .seconds(20))
            #expect(question.contains("resume of run \(runID) (apply by "), "\(question)")
            #expect(question.contains("crttyc (\(sandbox.nodes[0].address), \(sandbox.nodes[1].address))"), "\(question)")
            resume.send("y\n")
            let resumed = try await resume.waitForExit(timeout: .seconds(Double(delay) * 2 + 30))
            #expect([0, 1].contains(resumed), "resume finishes (0) or rolls back cleanly (1):\n\(resume.output)")
            let now = await sandbox.servedLeaves()
            #expect(now == [newLeaf, newLeaf] || now == original, "the pair is consistent: both new, or both back on their own old certificate (\(now))")
            #expect(try await locked(sandbox).isEmpty, "resume released the locks")
            let runs = try await certroll(["runs", "--state-dir", state])
            #expect(runs.stdout.contains(runID) && !runs.stdout.contains("unfinished"), "the run has a report now:\n\(runs.stdout)")
        }
    }
}
