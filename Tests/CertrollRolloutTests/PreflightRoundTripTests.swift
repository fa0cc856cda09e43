import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// A node whose shell cannot run the combined preflight-facts command (exit 127):
/// preflight then asks every fact on its own, as it did before the command existed.
final class HostWithoutCombinedFacts: InMemoryHost, @unchecked Sendable {
    override func fault(_ op: Operation) throws -> CommandResult? {
        guard case .run(let c) = op, c == NodeCommands(settings).preflightFacts.shell else { return nil }
        return CommandResult(exitStatus: 127, stderr: Data("sh: not understood".utf8))
    }
}

@Suite struct PreflightRoundTripTests {
    let new = FakePKI.toInstall("new")

    /// One command for privilege and every other fact, then the three files:
    /// 4 round trips per node (one more when a lock file is
    /// there), down from 20.
    @Test func preflightOfOneNodeTakesFourRoundTrips() async throws {
        var lab = Lab()
        let (a, _) = lab.pair("soc")
        let plan = await lab.engine().plan(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(plan.exitCode == 0)
        let ops = a.operations.filter { $0 != .close }
        #expect(ops == [
            .run(NodeCommands(fastSettings).preflightFacts.shell),
            .read("/usr/local/demisto/cert.pem"), .read("/usr/local/demisto/cert.key"), .read("/etc/demisto.conf"),
        ])
    }

    /// The combined command answers "not root" without a second round trip; a
    /// command that fails outright (as under a sudo that refuses) is followed by
    /// the privilege check on its own, whose output says why.
    @Test func privilegeComesFromTheCombinedCommandAndSudoDenialFromIdAlone() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc")
        a.effectiveUID = "1000"
        b.effectiveUID = nil
        let plan = await lab.engine().plan(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(plan.exitCode == 3)
        let privilege = plan.clusters.flatMap(\.nodes).flatMap(\.findings).filter { $0.check == .privilege }.map(\.message)
        #expect(privilege.count == 2, "\(privilege)")
        #expect(privilege.allSatisfy { $0.contains("is not root; log in as root or set 'become: sudo'") }, "\(privilege)")
        #expect(a.operations.filter { $0 != .close } == [.run(NodeCommands(fastSettings).preflightFacts.shell)])
        #expect(b.operations.filter { $0 != .close } == [.run(NodeCommands(fastSettings).preflightFacts.shell), .run("id -u")])
    }

    /// The one-by-one way still works: the combined command that was not
    /// understood, then 19 round trips (20 before the status left preflight).
    @Test func withoutTheCombinedCommandEachFactIsAskedOnItsOwn() async throws {
        var lab = Lab()
        let (_, b) = lab.pair("soc", backup: HostWithoutCombinedFacts.self)
        let plan = await lab.engine().plan(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(plan.exitCode == 0)
        #expect(b.operations.filter { $0 != .close }.count == 1 + 19)
        #expect(b.commandsRun.contains("date +%s"))
        #expect(!b.commandsRun.contains(NodeCommands(fastSettings).status.shell), "nothing in preflight decides on the status")
    }

    /// Whatever the node's state, the combined facts and the one-by-one commands
    /// give the same findings, facts and plan.
    @Test(arguments: ["healthy", "no service", "missing owner", "missing group", "missing cert folder", "no cert",
                      "no conf", "bad conf", "full disk", "full work_dir mount", "no work_dir parent", "clock behind",
                      "stray files", "locked"])
    func combinedFactsFindWhatOneByOneFinds(fault: String) async throws {
        var plans: [FleetPlan] = []
        for backup in [InMemoryHost.self, HostWithoutCombinedFacts.self] as [InMemoryHost.Type] {
            var lab = Lab()
            var settings = fastSettings
            if fault == "no work_dir parent" { settings.workDir = "/srv/certroll/work" }
            let (_, b) = lab.pair("soc", backup: backup, settings: settings)
            Self.break(b, fault)
            plans.append(await lab.engine().plan(clusters: lab.clusters, certificate: new, options: fastOptions))
        }
        if fault == "clock behind" {
            // The skew in seconds may straddle a second boundary between the two runs.
            let findings = plans.map { $0.clusters[0].nodes[1].findings.map { "\($0.check) \($0.verdict)" } }
            #expect(findings[0] == findings[1])
            #expect(findings[0].contains("clock fail"))
        } else {
            #expect(plans[0] == plans[1])
        }
        if !["healthy", "stray files", "no cert", "no conf"].contains(fault) {
            #expect(plans[0].exitCode == 3, "\(plans[0])")
        }
    }

    private static func `break`(_ b: InMemoryHost, _ fault: String) {
        let entry = { (text: String) in InMemoryHost.Entry(data: Data(text.utf8), mode: 0o644, owner: "root", group: "root") }
        switch fault {
        case "no service": b.serviceInstalled = false
        case "missing owner": b.users.remove("demisto")
        case "missing group": b.groups.remove("demisto")
        case "missing cert folder": b.setFile("/usr/local/demisto", nil)
        case "no cert": b.setFile("/usr/local/demisto/cert.pem", nil)
        case "no conf": b.setFile("/etc/demisto.conf", nil)
        case "bad conf": b.setFile("/etc/demisto.conf", entry("{not json"))
        case "full disk": b.freeKilobytes = 1
        case "full work_dir mount":
            b.setFile("/var/lib/certroll", .init(data: Data(), mode: 0o700, owner: "root", group: "root", isDirectory: true))
            b.freeKilobytesAt["/var/lib/certroll"] = 1
        case "no work_dir parent": break
        case "clock behind": b.clockOffset = -3 * 86_400
        case "stray files":
            b.setFile("/usr/local/demisto/old cert's.pem", entry("x"))
            b.setFile("/usr/local/demisto/b=c.key", entry("x"))
        case "locked":
            b.setFile("/var/lib/certroll", .init(data: Data(), mode: 0o700, owner: "root", group: "root", isDirectory: true))
            let lock = LockRecord(runID: "R9", controller: "other", user: "ops", started: "2025-01-01T00:00:00Z")
            b.setFile("/var/lib/certroll/lock", entry(lock.json + "\n"))
        default: break
        }
    }
}

/// Connects through an `InMemoryNetwork`, each connect waiting until `expected`
/// connects have begun (or 5 s have passed): nodes asked one after the other never
/// all begin, so the wait ends by its timeout.
final class ConnectorThatWaitsForEveryNode: HostConnector, @unchecked Sendable {
    let network: InMemoryNetwork
    let expected: Int
    private let lock = NSLock()
    private var began = 0
    private var _metByAll = 0
    private var _timedOut = 0
    init(_ network: InMemoryNetwork, expected: Int) { (self.network, self.expected) = (network, expected) }
    var metByAll: Int { lock.withLock { _metByAll } }
    var timedOut: Int { lock.withLock { _timedOut } }

    func connect(to node: ClusterNode) async throws -> any RemoteHost {
        lock.withLock { began += 1 }
        let deadline = ContinuousClock.now + .seconds(5)
        while lock.withLock({ began < expected }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        lock.withLock { if began >= expected { _metByAll += 1 } else { _timedOut += 1 } }
        return try await network.connect(to: node)
    }
}

@Suite struct ConcurrentPreflightTests {
    let new = FakePKI.toInstall("new")

    @Test func aClustersNodesArePreflightedAtOnceAndReportedInNodeOrder() async throws {
        var lab = Lab()
        lab.pair("soc")
        let connector = ConnectorThatWaitsForEveryNode(lab.network, expected: 2)
        var engine = lab.engine()
        engine.connector = connector
        let sink = RecordingSink()
        let report = try await engine.apply(clusters: lab.clusters, certificate: new, options: fastOptions, events: sink)
        #expect(report.exitCode == 0)
        #expect(connector.metByAll == 2, "both nodes were being connected at the same time")
        #expect(connector.timedOut == 0)
        let checks = sink.events.filter { $0.kind == .check }.compactMap(\.node)
        #expect(!checks.isEmpty)
        #expect(checks == checks.filter { $0 == "soc-a" } + checks.filter { $0 == "soc-b" }, "every finding of the primary, then the backup's")
        let journal = try String(contentsOfFile: lab.stateDir + "/runs/\(report.runID)/journal.jsonl", encoding: .utf8)
        let factNodes = journal.split(separator: "\n").filter { $0.contains(#""kind":"facts""#) }
            .map { $0.contains(#""node":"soc-a""#) ? "soc-a" : "soc-b" }
        #expect(factNodes == ["soc-a", "soc-b"])
    }
}
