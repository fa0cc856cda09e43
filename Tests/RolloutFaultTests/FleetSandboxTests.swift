import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// Fleet rollout on a 40-node sandbox (20 pairs), built binary.
extension SandboxFaults {
    @Suite(.serialized) struct Fleet {
        static let pairs = 20

        /// 20 clusters × 2 nodes with `--parallel 10`: all done, every node serves
        /// the new leaf. Then `--max-failures 1 --parallel 2` with the first two
        /// clusters broken (the backup's next start fails): both roll back, and no
        /// other cluster is started (reported `not-started`, nodes untouched).
        @Test(.enabled(if: Sandbox.isRoot, "the sandbox needs root"))
        func twentyPairsThenMaxFailures() async throws {
            try await withSandbox(nodes: 2 * Self.pairs, name: "crfd", clusterSize: 2) { sandbox in
                let f = try FaultFixture()
                let started = ContinuousClock.now
                let all = try await Certroll.runAsync(f.apply(sandbox, ["--parallel", "10", "--json"]))
                let took = ContinuousClock.now - started
                #expect(all.status == 0, "\(all.transcript)")
                let snapshots = try await sandbox.snapshots()
                #expect(snapshots.allSatisfy { $0.served == f.newLeaf }, "\(snapshots.filter { $0.served != f.newLeaf })")
                let firstID = try #require(Certroll.runID(fromJSON: all))
                let outcomes = try Certroll.clusterOutcomes(stateDir: f.state, runID: firstID)
                #expect(outcomes.count == Self.pairs && outcomes.allSatisfy { $0.outcome == "done" }, "\(outcomes)")
                #expect(peakClustersInFlight(try JournalLine.read(stateDir: f.state, runID: firstID)) <= 10)
                print("RolloutFaultTests: 20 pairs with --parallel 10 took \(took)")

                // Clusters 1 and 2 (nodes 1–4): the backup's next start fails.
                try await sandbox.arm(.failNextStart, onNode: 2)
                try await sandbox.arm(.failNextStart, onNode: 4)
                let broken = try await Certroll.runAsync(["apply", "--yes", "-i", sandbox.inventoryFile, "--cert", f.oldCert,
                                                          "--key", f.oldKey, "--state-dir", f.state,
                                                          "--parallel", "2", "--max-failures", "1", "--json"])
                #expect(broken.status == 1, "\(broken.transcript)")
                let brokenID = try #require(Certroll.runID(fromJSON: broken))
                let report = try Certroll.clusterOutcomes(stateDir: f.state, runID: brokenID)
                #expect(report.map(\.outcome) == ["rolled-back", "rolled-back"] + Array(repeating: "not-started", count: Self.pairs - 2),
                        "\(report)")
                #expect(report.dropFirst(2).allSatisfy { $0.reason?.contains("--max-failures 1") == true }, "\(report)")
                let journal = try JournalLine.read(stateDir: f.state, runID: brokenID)
                let touched = Set(journal.filter { $0.kind == "step" }.compactMap(\.cluster))
                #expect(touched == ["crfd-c1", "crfd-c2"], "no step ran in a cluster that was not started: \(touched.sorted())")
                let after = try await sandbox.snapshots()
                for pair in 0..<Self.pairs {
                    let nodes = Array(after[(2 * pair)...(2 * pair + 1)])
                    #expect(expectConsistent(nodes, old: f.old.leafFingerprint, new: f.newLeaf, "cluster \(pair + 1)") == .new)
                }
            }
        }

        /// The most clusters between their first lock and their outcome at once.
        func peakClustersInFlight(_ journal: [JournalLine]) -> Int {
            var running = Set<String>(), peak = 0
            for line in journal {
                guard let cluster = line.cluster else { continue }
                if line.kind == "step" { running.insert(cluster) }
                if line.kind == "outcome" { running.remove(cluster) }
                peak = max(peak, running.count)
            }
            return peak
        }
    }
}
