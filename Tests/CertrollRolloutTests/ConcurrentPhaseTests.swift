import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// Every node's host wrapped so that a command matching `gate` waits until that
/// command has begun on `expected` nodes (or 5 s have passed). Nodes asked one
/// after the other never all begin, so their wait ends by its timeout.
final class Rendezvous: HostConnector, @unchecked Sendable {
    let network: InMemoryNetwork
    let expected: Int
    let gate: @Sendable (ClusterNode, RemoteCommand) -> Bool
    private let lock = NSLock()
    private var began = 0
    private var _metByAll = 0
    private var _timedOut = 0
    init(_ network: InMemoryNetwork, expected: Int, gate: @escaping @Sendable (ClusterNode, RemoteCommand) -> Bool) {
        (self.network, self.expected, self.gate) = (network, expected, gate)
    }
    var metByAll: Int { lock.withLock { _metByAll } }
    var timedOut: Int { lock.withLock { _timedOut } }

    func connect(to node: ClusterNode) async throws -> any RemoteHost {
        Gated(host: try await network.connect(to: node), node: node, rendezvous: self)
    }

    fileprivate func wait() async throws {
        lock.withLock { began += 1 }
        let deadline = ContinuousClock.now + .seconds(5)
        while lock.withLock({ began < expected }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        lock.withLock { if began >= expected { _metByAll += 1 } else { _timedOut += 1 } }
    }

    private struct Gated: RemoteHost {
        let host: any RemoteHost
        let node: ClusterNode
        let rendezvous: Rendezvous
        var name: String { host.name }
        func run(_ command: RemoteCommand, stdin: Secret?, timeout: Duration) async throws -> CommandResult {
            if rendezvous.gate(node, command) { try await rendezvous.wait() }
            return try await host.run(command, stdin: stdin, timeout: timeout)
        }
        func writeFile(_ path: String, contents: Data, mode: UInt32, owner: String, group: String) async throws {
            try await host.writeFile(path, contents: contents, mode: mode, owner: owner, group: group)
        }
        func readFile(_ path: String) async throws -> Data { try await host.readFile(path) }
        func stat(_ path: String) async throws -> RemoteFileStat? { try await host.stat(path) }
        func rename(_ from: String, to: String) async throws { try await host.rename(from, to: to) }
        func remove(_ path: String) async throws { try await host.remove(path) }
        func makeDirectory(_ path: String, mode: UInt32) async throws { try await host.makeDirectory(path, mode: mode) }
        func close() async { await host.close() }
    }
}

@Suite struct ConcurrentPhaseTests {
    let new = FakePKI.toInstall("new")

    /// The outage pays one stop, not one per node: both stop commands are in
    /// flight together. The journal still reads node by node.
    @Test func aPairsNodesStopAtOnceAndTheJournalStaysInNodeOrder() async throws {
        let (lab, report, rendezvous) = try await applyToAPair(gatedOn: \.stopThenStatus)
        #expect(report.exitCode == 0)
        #expect(rendezvous.metByAll == 2, "both stops were in flight at the same time")
        #expect(rendezvous.timedOut == 0)
        let journal = try String(contentsOfFile: lab.stateDir + "/runs/\(report.runID)/journal.jsonl", encoding: .utf8)
        let stops = journal.split(separator: "\n").filter { $0.contains(#""step":"stop""#) }.map { line in
            (line.contains(#""node":"soc-a""#) ? "a " : "b ") + (line.contains(#""phase":"begin""#) ? "begin" : "end")
        }
        #expect(stops == ["a begin", "b begin", "a end", "b end"], "every begin before any stop runs, ends after")
    }

    /// Starts never overlap: the backup starts only once the primary serves, so a
    /// start that waited for the other node's would wait out its timeout.
    @Test func startsStayOneNodeAtATime() async throws {
        let (_, report, rendezvous) = try await applyToAPair(gatedOn: \.start)
        #expect(report.exitCode == 0)
        #expect(rendezvous.metByAll == 1, "only the backup's start found the primary's begun")
        #expect(rendezvous.timedOut == 1, "the primary's start waited alone")
    }

    /// An apply to one pair whose nodes wait, on `command`, for each other.
    private func applyToAPair(gatedOn command: any KeyPath<NodeCommands, RemoteCommand> & Sendable) async throws
        -> (Lab, RunReport, Rendezvous) {
        var lab = Lab()
        lab.pair("soc")
        let rendezvous = Rendezvous(lab.network, expected: 2) { node, c in c == NodeCommands(node.xsoar)[keyPath: command] }
        var engine = lab.engine()
        engine.connector = rendezvous
        return (lab, try await engine.apply(clusters: lab.clusters, certificate: new, options: fastOptions), rendezvous)
    }

    /// A failure on one node of a phase that ran at once: the other node's
    /// success is journaled too, and the whole cluster rolls back.
    @Test func aStopFailingOnTheBackupRollsBackBothNodes() async throws {
        var lab = Lab()
        lab.pair("soc", backup: HostWhoseStopFails.self)
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: new, options: fastOptions)
        #expect(report.exitCode == 1)
        #expect(report.clusters[0].outcome.kind == .rolledBack)
        let a = lab.host("soc-a")
        #expect(a.isRunning, "the primary is serving its old certificate again")
        #expect(a.served.map { SHA256.hex($0[0]) } == FakePKI.leafFingerprint("old"))
        let journal = try String(contentsOfFile: lab.stateDir + "/runs/\(report.runID)/journal.jsonl", encoding: .utf8)
        let stops = journal.split(separator: "\n").filter { $0.contains(#""step":"stop""#) }.map { line in
            (line.contains(#""node":"soc-a""#) ? "a " : "b ")
                + (line.contains(#""phase":"begin""#) ? "begin" : line.contains(#""phase":"end""#) ? "end" : "failed")
        }
        #expect(stops == ["a begin", "b begin", "a end", "b failed"])
    }
}

/// A node whose first `stop` command fails (the rollback's stop works).
final class HostWhoseStopFails: InMemoryHost, @unchecked Sendable {
    private var failed = false
    override func fault(_ op: Operation) throws -> CommandResult? {
        guard case .run(let c) = op, c == NodeCommands(settings).stopThenStatus.shell, !failed else { return nil }
        failed = true
        return CommandResult(exitStatus: 1, stderr: Data("stop refused".utf8))
    }
}
