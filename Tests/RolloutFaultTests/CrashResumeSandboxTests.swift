import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// The journal and resume: the controller (`certroll apply --yes`, the built
/// binary) is killed with SIGKILL right after journal line k
/// (`CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES=k`), then `certroll resume RUN_ID
/// --yes` runs: the pair ends entirely on the old or entirely on the new
/// certificate, files identical, running, with no OTC, lock or staged file.
///
/// `make test` kills at representative steps; `make test-long`
/// (`CERTROLL_LONG_TESTS=1`) after every line, with both an unencrypted and a
/// legacy-encrypted key.
extension SandboxFaults {
    @Suite(.serialized) struct CrashResume {
        /// The steps `make test` kills after (step, phase, node index; nil = the cluster).
        static let representative: [(String, String, Int?)] = [
            ("lock", "end", 2),      // locked, nothing staged
            ("stage", "end", 2),     // staged everywhere, service still up
            ("stop", "end", 1),      // the outage began: both stopped at once, only the primary's end journaled
            ("swap", "end", 1),      // mid-swap: both swapped at once, only the primary's end journaled
            ("start", "end", 1),     // the primary serves the new leaf, backup stopped
            ("verify", "end", 2),    // everything verified, locks still held
        ]

        @Test(.enabled(if: Sandbox.isRoot, "the sandbox needs root"))
        func killAtRepresentativeStepsThenResume() async throws {
            try await withSandbox(nodes: 2, name: "crfa") { sandbox in
                let f = try FaultFixture()
                for encrypted in [false, true] {
                    let labels = try await journalLabels(f, sandbox, encrypted: encrypted)
                    let ks = Self.representative.map { step, phase, node in
                        labels.firstIndex(of: label(step, phase, node)).map { $0 + 1 }
                    }
                    #expect(!ks.contains(nil), "every representative step is journaled: \(labels)")
                    let ends = try await sweep(f, sandbox, encrypted: encrypted, lines: ks.compactMap { $0 })
                    #expect(ends.contains(.old) && ends.contains(.new), "some crashes roll back, some finish: \(ends)")
                }
            }
        }

        @Test(.enabled(if: Sandbox.isRoot && longTests, "CERTROLL_LONG_TESTS=1 (make test-long) and root"),
              arguments: [false, true])
        func killAfterEveryJournalLineThenResume(encrypted: Bool) async throws {
            try await withSandbox(nodes: 2, name: encrypted ? "crfl" : "crfk") { sandbox in
                let f = try FaultFixture()
                let labels = try await journalLabels(f, sandbox, encrypted: encrypted)
                #expect(labels.count > 30)
                let ends = try await sweep(f, sandbox, encrypted: encrypted, lines: Array(1...labels.count))
                #expect(ends.filter { $0 == .old }.count > 5 && ends.filter { $0 == .new }.count > 5, "\(ends)")
            }
        }

        /// One uninterrupted apply (it must succeed), read back as "step phase node" per journal line.
        func journalLabels(_ f: FaultFixture, _ sandbox: Sandbox, encrypted: Bool) async throws -> [String] {
            try await f.reset(sandbox)
            let run = try await Certroll.runAsync(f.apply(sandbox, encrypted: encrypted, ["--json"]),
                                                  environment: encrypted ? f.secretEnvironment : [:])
            #expect(run.status == 0, "\(run.transcript)")
            let id = try #require(Certroll.runID(fromJSON: run))
            let nodeIndex = Dictionary(uniqueKeysWithValues: sandbox.nodes.map { ($0.address, $0.index) })
            return try JournalLine.read(stateDir: f.state, runID: id).map { line in
                line.kind == "step" ? label(line.step ?? "", line.phase ?? "", line.node.flatMap { nodeIndex[$0] }) : line.kind
            }
        }

        func label(_ step: String, _ phase: String, _ node: Int?) -> String {
            "\(step) \(phase) \(node.map { "node\($0)" } ?? "cluster")"
        }

        /// For each k: clean slate on the old certificate, apply killed after line k, resume, check the pair.
        func sweep(_ f: FaultFixture, _ sandbox: Sandbox, encrypted: Bool, lines: [Int]) async throws -> [ClusterEnd] {
            var ends: [ClusterEnd] = []
            for k in lines {
                let context = "\(encrypted ? "encrypted" : "plain") key, killed after journal line \(k)"
                try await f.reset(sandbox)
                var environment = ["CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES": String(k)]
                if encrypted { environment.merge(f.secretEnvironment) { $1 } }
                let crashed = try await Certroll.runAsync(f.apply(sandbox, encrypted: encrypted), environment: environment)
                #expect(crashed.wasKilled, "\(context): \(crashed.transcript)")
                let id = try #require(Certroll.newestRunID(stateDir: f.state))
                let resumed = try await Certroll.runAsync(f.resume(id))
                #expect([0, 1].contains(resumed.status), "\(context): \(resumed.transcript)")
                let nodes = try await sandbox.snapshots()
                if let end = expectConsistent(nodes, old: f.old.leafFingerprint, new: f.newLeaf, context) { ends.append(end) }
                // Nothing the binary printed or wrote holds the passphrase.
                if encrypted {
                    let files = ["journal.jsonl", "report.json", "log"].compactMap {
                        try? String(contentsOfFile: "\(f.state)/runs/\(id)/\($0)", encoding: .utf8)
                    }
                    #expect(!(files + [crashed.stdout, crashed.stderr, resumed.stdout, resumed.stderr]).contains { $0.contains(f.passphrase) },
                            "\(context): the passphrase leaked")
                }
            }
            return ends
        }
    }
}
