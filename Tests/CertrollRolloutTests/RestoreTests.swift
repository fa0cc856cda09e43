import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

@Suite struct RestoreTests {
    /// Found on the sandbox: every rollback rewrote the unchanged conf, and where
    /// the conf is a mount point (EBUSY) that is a non-atomic `cat tmp > conf`.
    /// A file that still matches its backup is left alone.
    @Test func rollbackLeavesAnUnchangedConfAlone() async throws {
        var lab = Lab()
        let (a, b) = lab.pair("soc", backup: HostThatFailsStart.self)
        for h in [a, b] { h.busyPaths = ["/etc/demisto.conf"] }
        let confBefore = [a.file("/etc/demisto.conf"), b.file("/etc/demisto.conf")]
        let report = try await lab.engine().apply(clusters: lab.clusters, certificate: FakePKI.toInstall("new"), options: fastOptions)
        #expect(report.clusters.map(\.outcome.kind) == [.rolledBack])
        for h in [a, b] {
            #expect(!h.operations.contains(.write("/etc/demisto.conf.certroll-restore")))
            #expect(!h.commandsRun.contains { $0.contains("/etc/demisto.conf.certroll-restore") }, "\(h.commandsRun)")
            #expect(!h.operations.contains { if case .rename(_, "/etc/demisto.conf") = $0 { true } else { false } })
            #expect(h.servedLeaf == FakePKI.leafFingerprint("old"))
            #expect(h.stagedLeftovers.isEmpty)
        }
        #expect([a.file("/etc/demisto.conf"), b.file("/etc/demisto.conf")] == confBefore)
    }
}
