import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// Locks on the sandbox with the built binary: two controllers at once,
/// and a lock left by a controller killed with SIGKILL.
extension SandboxFaults {
    @Suite(.serialized) struct Locks {
        /// Two `apply` runs started at the same moment on one pair: one proceeds,
        /// the other refuses (exit 3) naming the holder's run id; the pair ends
        /// consistent. Three rounds, so both races (refused at preflight, or at
        /// the atomic lock itself) get their chance.
        @Test(.enabled(if: Sandbox.isRoot, "the sandbox needs root"))
        func twoApplyRunsAtOnce() async throws {
            try await withSandbox(nodes: 2, name: "crfb") { sandbox in
                let f = try FaultFixture()
                for round in 1...3 {
                    try await f.reset(sandbox)
                    async let first = Certroll.runAsync(f.apply(sandbox, ["--json"]))
                    async let second = Certroll.runAsync(f.apply(sandbox, ["--json"]))
                    let runs = try await [first, second]
                    #expect(runs.map(\.status).sorted() == [0, 3], "round \(round): \(runs.map(\.transcript))")
                    guard let winner = runs.first(where: { $0.status == 0 }), let loser = runs.first(where: { $0.status == 3 }),
                          let holder = Certroll.runID(fromJSON: winner) else { continue }
                    #expect(loser.stdout.contains("locked by run \(holder)"), "round \(round): the refusal names the holder: \(loser.transcript)")
                    let nodes = try await sandbox.snapshots()
                    #expect(expectConsistent(nodes, old: f.old.leafFingerprint, new: f.newLeaf, "round \(round)") == .new)
                }
            }
        }

        /// A controller killed while it holds the locks: new runs are refused
        /// naming the dead run (exit 3) until `resume` finishes it; a second
        /// time, `apply --break-lock` with the dead run's id clears it (a wrong id does not).
        @Test(.enabled(if: Sandbox.isRoot, "the sandbox needs root"))
        func lockOfAKilledControllerBlocksUntilResumeOrBreakLock() async throws {
            try await withSandbox(nodes: 2, name: "crfc") { sandbox in
                let f = try FaultFixture()
                // Line 7: both locks taken (header, 2 facts, lock begin/end × 2); line 11: both staged.
                for (k, clear) in [(7, "resume"), (11, "break-lock")] {
                    let context = "killed after line \(k), cleared by \(clear)"
                    try await f.reset(sandbox)
                    let crashed = try await Certroll.runAsync(f.apply(sandbox), environment: ["CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES": String(k)])
                    #expect(crashed.wasKilled, "\(context): \(crashed.transcript)")
                    let dead = try #require(Certroll.newestRunID(stateDir: f.state))
                    for n in try await sandbox.snapshots() { #expect(n.lockLeft, "\(context): node \(n.node) is locked") }

                    let blocked = try await Certroll.runAsync(f.apply(sandbox))
                    #expect(blocked.status == 3, "\(context): \(blocked.transcript)")
                    #expect(blocked.stdout.contains("locked by run \(dead)"), "\(context): names the holder: \(blocked.transcript)")

                    if clear == "resume" {
                        let resumed = try await Certroll.runAsync(f.resume(dead))
                        #expect([0, 1].contains(resumed.status), "\(context): \(resumed.transcript)")
                        #expect(expectConsistent(try await sandbox.snapshots(), old: f.old.leafFingerprint, new: f.newLeaf, context) == .old,
                                "nothing was stopped: resume only removes what was staged")
                        let next = try await Certroll.runAsync(f.apply(sandbox))
                        #expect(next.status == 0, "\(context): \(next.transcript)")
                    } else {
                        let wrong = try await Certroll.runAsync(f.apply(sandbox, ["--break-lock", "20000101T000000Z-000000"]))
                        #expect(wrong.status == 3, "\(context): a --break-lock naming another run clears nothing: \(wrong.transcript)")
                        let broken = try await Certroll.runAsync(f.apply(sandbox, ["--break-lock", dead]))
                        #expect(broken.status == 0, "\(context): \(broken.transcript)")
                    }
                    #expect(expectConsistent(try await sandbox.snapshots(), old: f.old.leafFingerprint, new: f.newLeaf, context) == .new)
                }
            }
        }
    }
}
