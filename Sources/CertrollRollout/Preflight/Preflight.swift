import CertrollCore
import Foundation

/// One preflight check's verdict on a node.
public struct PreflightFinding: Sendable, Codable, Equatable {
    public var check: PreflightCheck
    public var verdict: RolloutEvent.Verdict
    /// A sentence naming the node and, for a failure, the fix.
    public var message: String

    public init(check: PreflightCheck, verdict: RolloutEvent.Verdict, message: String) {
        self.check = check
        self.verdict = verdict
        self.message = message
    }
}

/// Everything preflight found on one node.
public struct NodePreflight: Sendable, Equatable {
    public var node: String
    public var findings: [PreflightFinding]
    /// nil when the node could not be examined at all.
    public var facts: NodeFacts?

    public init(node: String, findings: [PreflightFinding], facts: NodeFacts?) {
        self.node = node
        self.findings = findings
        self.facts = facts
    }

    public var failures: [PreflightFinding] { findings.filter { $0.verdict == .fail } }
}

/// Which passphrase opened a node's encrypted current key: recorded (never the
/// secret itself) so a rollback writes its OTC with the same one.
public enum KeyPassphraseSource: String, Sendable, Codable, Equatable {
    /// `--current-key-passphrase-file` (or its variable or prompt).
    case currentKey = "current-key-passphrase"
    /// The passphrase of the certificate being installed.
    case newKey = "new-key-passphrase"
}

/// The first rollout step for one node: read-only checks before anything stops.
/// The gatherer reads the facts once; each policy in `preflightPolicies` judges them.
struct Preflight {
    var gatherer: NodeFactGatherer
    /// The run doing the check: its own lock is not "held by another run".
    var runID: String?

    func run() async -> NodePreflight {
        let node = gatherer.node
        let facts: GatheredFacts
        do {
            facts = try await gatherer.gather()
        } catch {
            return NodePreflight(node: node.host, findings: [PreflightFinding(check: error.check, verdict: .fail, message: error.message)],
                                 facts: nil)
        }
        let input = PreflightInput(node: node, certificate: gatherer.certificate, options: gatherer.options, runID: runID, facts: facts)
        let findings = preflightPolicies.flatMap { policy in
            policy.evaluate(input).map { PreflightFinding(policy.check, $0, node: node.host) }
        }
        let key = facts.key
        let nodeFacts = NodeFacts(
            node: node.host, servedFingerprint: facts.served?.leafFingerprint, servedNotAfter: facts.servedNotAfter,
            diskFingerprint: facts.diskFingerprint, diskNotAfter: facts.diskNotAfter,
            certSHA256: facts.certData.map { SHA256.hex($0) }, keySHA256: facts.keyData.map { SHA256.hex($0) },
            currentKeyEncrypted: key == .encryptedOpened || key == .encryptedLocked, currentKeyOpens: key == .encryptedOpened,
            currentKeyOpenedWith: facts.keyOpenedWith, confNeedsEdit: input.confNeedsEdit, strayFiles: facts.strayFiles,
            clockSkewSeconds: facts.clock.map { $0.node - Int($0.controller.timeIntervalSince1970) },
            servedNotBefore: facts.servedNotBefore)
        return NodePreflight(node: node.host, findings: findings, facts: nodeFacts)
    }
}

extension PreflightFinding {
    /// A policy's verdict as a sentence about the node.
    init(_ check: PreflightCheck, _ verdict: PreflightVerdict, node: String) {
        switch verdict {
        case .pass(let text): self.init(check: check, verdict: .pass, message: "node \(node): \(text)")
        case .warn(let text): self.init(check: check, verdict: .warn, message: "node \(node): \(text)")
        case .fail(let text, let fix):
            self.init(check: check, verdict: .fail, message: "node \(node): \(text)" + (fix.map { "; \($0)" } ?? ""))
        }
    }
}
