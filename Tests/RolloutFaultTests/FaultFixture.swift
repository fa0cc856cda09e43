import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// What every fault test shares: the two certificates (the "old" one a test
/// installs by hand and the "new" one certroll rolls out), their files, a
/// state dir, and a sandbox brought down also when the test fails.
struct FaultFixture {
    let pki = LivePKI.shared
    let dir: URL
    let state: String
    /// EC chain + key, put on the nodes by hand before each scenario.
    let old: InstalledCertificate
    /// The RSA leaf certroll installs (`newKey` unencrypted, `lockedKey` legacy-encrypted).
    let newLeaf: String
    let newCert: String
    let newKey: String
    let lockedKey: String
    let passphrase = "pass-\(UUID().uuidString)"
    /// The old certificate as files, for rolling it out with certroll.
    let oldCert: String
    let oldKey: String

    init() throws {
        dir = try TestPKI.temporaryDirectory()
        state = dir.appendingPathComponent("state").path
        let oldKeyPEM = try pki.ecLeafKey.traditionalPEM()
        old = InstalledCertificate(chain: pki.ecChain, keyPEM: oldKeyPEM)
        newLeaf = pki.leaf.fingerprintSHA256
        newCert = try TestPKI.write(TestPKI.pem(pki.chain), to: dir, "new.pem", mode: 0o644)
        newKey = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "new.key")
        lockedKey = try TestPKI.write(try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret(passphrase))), to: dir, "locked.key")
        oldCert = try TestPKI.write(TestPKI.pem(pki.ecChain), to: dir, "old.pem", mode: 0o644)
        oldKey = try TestPKI.write(oldKeyPEM, to: dir, "old.key")
    }

    /// `apply --yes` of the new certificate to `sandbox`'s inventory.
    func apply(_ sandbox: Sandbox, encrypted: Bool = false, _ extra: [String] = []) -> [String] {
        ["apply", "--yes", "-i", sandbox.inventoryFile, "--cert", newCert, "--key", encrypted ? lockedKey : newKey,
         "--state-dir", state] + extra
    }

    func resume(_ runID: String) -> [String] { ["resume", runID, "--yes", "--state-dir", state] }

    var secretEnvironment: [String: String] { ["CERTROLL_KEY_PASSPHRASE": passphrase] }

    /// Puts the old certificate on every node by hand and restarts them (a clean slate).
    func reset(_ sandbox: Sandbox) async throws {
        for node in sandbox.nodes { try await sandbox.install(old, onNode: node.index) }
    }
}

/// The full crash sweeps run only when `CERTROLL_LONG_TESTS=1` (`make test-long`).
let longTests = ProcessInfo.processInfo.environment["CERTROLL_LONG_TESTS"] == "1"

/// Brings a sandbox up, runs `body`, and brings it down whether `body` passed or threw.
func withSandbox(nodes: Int, name: String, clusterSize: Int? = nil,
                 _ body: (Sandbox) async throws -> Void) async throws {
    try await Sandbox.with(nodes: nodes, name: name, clusterSize: clusterSize, body)
}

/// Which of the two certificates a consistent cluster ended on.
enum ClusterEnd: String { case old, new }

/// Records an issue for everything that keeps `nodes` (one cluster) from being
/// entirely on `old` or entirely on `new` with identical files, running and
/// clean (no OTC, lock or staged file); returns which one it is on.
@discardableResult
func expectConsistent(_ nodes: [NodeSnapshot], old: String, new: String, _ context: String,
                      sourceLocation: SourceLocation = #_sourceLocation) -> ClusterEnd? {
    #expect(Set(nodes.map(\.served)).count == 1, "\(context): the nodes serve different leaves: \(nodes)",
            sourceLocation: sourceLocation)
    #expect(Set(nodes.map(\.certSHA256)).count == 1 && Set(nodes.map(\.keySHA256)).count == 1,
            "\(context): the nodes hold different files: \(nodes)", sourceLocation: sourceLocation)
    for n in nodes {
        #expect(n.served == n.diskLeaf, "\(context): node \(n.node) does not serve what is on its disk: \(n)",
                sourceLocation: sourceLocation)
        #expect(n.serviceStatus == 0, "\(context): node \(n.node) is not running: \(n)", sourceLocation: sourceLocation)
        #expect(!n.otcLeft, "\(context): an OTC file is left on node \(n.node)", sourceLocation: sourceLocation)
        #expect(!n.lockLeft, "\(context): a lock is left on node \(n.node)", sourceLocation: sourceLocation)
        #expect(n.stagedLeft.isEmpty, "\(context): staged files left on node \(n.node): \(n.stagedLeft)",
                sourceLocation: sourceLocation)
    }
    switch nodes.first?.served {
    case old?: return .old
    case new?: return .new
    default:
        Issue.record("\(context): serves neither the old nor the new leaf: \(nodes)", sourceLocation: sourceLocation)
        return nil
    }
}

extension Certroll.Result {
    /// Everything the binary said, for failure messages.
    var transcript: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    /// Killed by SIGKILL (the fault-injection hook).
    var wasKilled: Bool { status == SIGKILL }
}

/// Every sandbox suite of this target, one at a time: each brings up its own
/// sandbox, and two at once would share the machine's 2 cores.
@Suite(.serialized) enum SandboxFaults {}
