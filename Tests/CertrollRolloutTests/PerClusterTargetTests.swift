import CertrollCore
@testable import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// The engine with one certificate per cluster, and the one "already current" rule.
@Suite struct PerClusterTargetTests {
    @Test func repeatedApplyOfAnEncryptedKeyNeedsNoCurrentKeyPassphrase() async throws {
        var lab = Lab()
        let (a, _) = lab.pair("soc")
        let locked = FakePKI.toInstall("new", passphrase: "pw")
        let first = try await lab.engine().apply(clusters: lab.clusters, certificate: locked, options: fastOptions)
        #expect(first.exitCode == 0)
        let files = a.liveFiles

        // The nodes now run on an encrypted key and no current passphrase is given.
        let again = try await lab.engine().apply(clusters: lab.clusters, certificate: locked, options: fastOptions)
        #expect(again.exitCode == 0)
        #expect(again.clusters.map(\.outcome.kind) == [.skipped])
        #expect(a.liveFiles == files)
        let plan = await lab.engine().plan(clusters: lab.clusters, certificate: locked, options: fastOptions)
        #expect(plan.clusters.map(\.action) == [.skip])

        // A cluster that would change still needs it (a rollback would have to start the old key).
        let other = try await lab.engine().apply(clusters: lab.clusters, certificate: FakePKI.toInstall("newer"), options: fastOptions)
        #expect(other.exitCode == 3)
        #expect(other.clusters[0].outcome.reason?.contains("no current passphrase") == true)
    }

    @Test func eachClusterGetsItsOwnCertificateAndRollbackRestoresItsOwnFiles() async throws {
        var lab = Lab()
        let (socA, socB) = lab.pair("soc")
        let (labA, labB) = lab.pair("lab")
        let before = [socA, socB, labA, labB].map(\.liveFiles)
        let socCert = FakePKI.toInstall("soc-new", passphrase: "pw")
        let labCert = FakePKI.toInstall("lab-new")
        let targets = [ClusterTarget(cluster: lab.clusters[0], certificate: socCert),
                       ClusterTarget(cluster: lab.clusters[1], certificate: labCert)]
        let report = try await lab.engine().apply(targets: targets, options: fastOptions)
        #expect(report.exitCode == 0)
        #expect([socA, socB].allSatisfy { $0.servedLeaf == socCert.leafFingerprint })
        #expect([labA, labB].allSatisfy { $0.servedLeaf == labCert.leafFingerprint })
        #expect(report.clusters.map(\.targetFingerprint) == [socCert.leafFingerprint, labCert.leafFingerprint])

        let header = try #require(try RunStore(root: lab.stateDir).readJournal(report.runID).first?.header)
        #expect(header.chainFingerprints(of: "soc") == socCert.chainFingerprints)
        #expect(header.chainFingerprints(of: "lab") == labCert.chainFingerprints)
        #expect(header.certificates?.map(\.keyEncrypted) == [true, false])

        let rollback = try await lab.engine().rollback(runID: report.runID, options: fastOptions)
        #expect(rollback.exitCode == 0)
        #expect([socA, socB, labA, labB].map(\.liveFiles) == before)
        #expect(rollback.clusters.map(\.targetFingerprint) == [socCert.leafFingerprint, labCert.leafFingerprint])
    }

    @Test func anUnusableSourceRefusesItsClusterAlone() async throws {
        var lab = Lab()
        let (socA, _) = lab.pair("soc")
        let (labA, _) = lab.pair("lab")
        let new = FakePKI.toInstall("new")
        let report = try await lab.engine().apply(targets: [
            ClusterTarget(cluster: lab.clusters[0], unusable: ClusterOutcome(.badSource, reason: "cluster soc: its key file is missing.")),
            ClusterTarget(cluster: lab.clusters[1], certificate: new),
        ], options: fastOptions)
        #expect(report.exitCode == 2)
        #expect(report.clusters.map(\.outcome.kind) == [.badSource, .done])
        #expect(socA.servedLeaf == FakePKI.leafFingerprint(lab.old))
        #expect(labA.servedLeaf == new.leafFingerprint)
    }

    @Test func theFinisherRunsOnlyForClustersThatChange() async throws {
        var lab = Lab()
        lab.pair("soc")
        lab.pair("lab")
        let current = FakePKI.toInstall("current")
        _ = try await lab.engine().apply(clusters: [lab.clusters[0]], certificate: current, options: fastOptions)
        let asked = Asked()
        let report = try await lab.engine().apply(
            targets: [ClusterTarget(cluster: lab.clusters[0], certificate: current),
                      ClusterTarget(cluster: lab.clusters[1], certificate: FakePKI.toInstall("lab-new"))],
            command: "renew", options: fastOptions,
            finisher: { cluster, _ in
                asked.add(cluster.name)
                return .refuse(ClusterOutcome(.badSource, reason: "cluster \(cluster.name): no passphrase."))
            })
        #expect(asked.names == ["lab"])
        #expect(report.command == "renew")
        #expect(report.clusters.map(\.outcome.kind) == [.skipped, .badSource])
        #expect(report.exitCode == 2)
    }

    @Test func currentRuleNeedsEveryFileServedAndStored() {
        let target = FakePKI.toInstall("new")
        let id = target.identity
        let facts = NodeFacts(node: "a", servedFingerprint: id.leafFingerprint, servedNotAfter: nil, diskFingerprint: id.leafFingerprint,
                              diskNotAfter: nil, certSHA256: id.chainSHA256, keySHA256: id.keySHA256, currentKeyEncrypted: false,
                              currentKeyOpens: false, confNeedsEdit: false, strayFiles: [], clockSkewSeconds: 0)
        #expect(CurrentRule.isCurrent(facts, id))
        #expect(CurrentRule.clusterIsCurrent([facts, facts], id))
        for change in [\NodeFacts.servedFingerprint, \.certSHA256, \.keySHA256] as [WritableKeyPath<NodeFacts, String?>] {
            var stale = facts
            stale[keyPath: change] = "other"
            #expect(!CurrentRule.isCurrent(stale, id))
            #expect(!CurrentRule.clusterIsCurrent([facts, stale], id), "one stale node rolls the whole pair out")
        }
        var conf = facts
        conf.confNeedsEdit = true
        #expect(!CurrentRule.isCurrent(conf, id))
        #expect(!CurrentRule.isCurrent(nil, id))
        #expect(!CurrentRule.clusterIsCurrent([], id))
    }

    @Test func olderRuleComparesWithTheNewestServedNotBefore() {
        func facts(_ notBefore: Date?) -> NodeFacts {
            var f = NodeFacts(node: "a", servedFingerprint: "x", servedNotAfter: nil, diskFingerprint: nil, diskNotAfter: nil,
                              certSHA256: nil, keySHA256: nil, currentKeyEncrypted: false, currentKeyOpens: false,
                              confNeedsEdit: false, strayFiles: [], clockSkewSeconds: nil)
            f.servedNotBefore = notBefore
            return f
        }
        let t = TestPKI.referenceTime
        #expect(CurrentRule.servedNewer([facts(t), facts(t + 10)], than: t + 5) == t + 10)
        #expect(CurrentRule.servedNewer([facts(t), facts(t + 10)], than: t + 10) == nil, "the same certificate is not older")
        #expect(CurrentRule.servedNewer([facts(t)], than: t + 1) == nil)
        #expect(CurrentRule.servedNewer([facts(nil), nil], than: t) == nil, "nothing served: nothing to go back from")
    }

    @Test func aBadSourceRanksBetweenRolledBackAndPreflightRefused() {
        #expect(ClusterOutcome(.badSource).exitCode == 2)
        #expect(ExitStatus.worst([3, 2, 0]) == 2)
        #expect(ExitStatus.worst([2, 1]) == 1)
        #expect(ExitStatus.worst([2, 130]) == 130)
        #expect(ExitStatus.worst([4, 2]) == 4)
    }
}

/// Cluster names a finisher was called for.
final class Asked: @unchecked Sendable {
    private let lock = NSLock()
    private var _names: [String] = []
    var names: [String] { lock.withLock { _names } }
    func add(_ name: String) { lock.withLock { _names.append(name) } }
}
