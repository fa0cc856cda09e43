public import Foundation

/// A step of the rollout as the journal, events and reports name it.
public enum Step: String, Sendable, Codable, Equatable, CaseIterable {
    case preflight, lock, stage, backup, stop, swap, start, verify, endpoints
    case afterSuccess = "after-success"
    case unlock, discard
    case rollbackStop = "rollback-stop"
    case restore
    case rollbackStart = "rollback-start"
}

/// How a cluster ended; `ExitStatus` ranks their exit codes.
public struct ClusterOutcome: Sendable, Codable, Equatable {
    /// The kinds of ending.
    public enum Kind: String, Sendable, Codable, Equatable {
        /// Every node serves the new certificate and was verified.
        case done
        /// Every node already served the new certificate with identical files.
        case skipped
        /// Not scheduled: `--max-failures` reached, or stopped by Ctrl-C before it began. Untouched.
        case notStarted = "not-started"
        /// Preflight (or the lock) refused it; nothing on its nodes changed.
        case preflightFailed = "preflight-failed"
        /// Its certificate source is unusable (missing file, a local check
        /// FAILed, no passphrase); no node was changed.
        case badSource = "bad-source"
        /// Something failed; every node is back on the old certificate (or was never stopped).
        case rolledBack = "rolled-back"
        /// A rollback could not finish; `manualSteps` says what a person must do.
        case needsPerson = "needs-person"
        /// The controller stopped mid-way; `certroll resume RUN_ID` finishes it.
        case interrupted
    }

    public var kind: Kind
    /// Why, as a sentence naming the node and step (nil for done/skipped).
    public var reason: String?
    /// Node name → the steps left for a person, in order.
    public var manualSteps: [String: [String]]
    /// Things worth knowing that did not fail the cluster (stray files, an endpoint on the old certificate…).
    public var warnings: [String]

    public init(_ kind: Kind, reason: String? = nil, manualSteps: [String: [String]] = [:], warnings: [String] = []) {
        self.kind = kind
        self.reason = reason
        self.manualSteps = manualSteps
        self.warnings = warnings
    }

    /// This cluster's own exit code.
    public var exitCode: Int32 {
        let status: ExitStatus = switch kind {
        case .done, .skipped, .notStarted: .ok
        case .rolledBack: .rolledBack
        case .preflightFailed: .preflightFailed
        case .badSource: .badInput
        case .needsPerson: .needsPerson
        case .interrupted: .interrupted
        }
        return status.rawValue
    }

    /// True when it counts towards `--max-failures`.
    public var isFailure: Bool {
        switch kind {
        case .rolledBack, .needsPerson: true
        case .done, .skipped, .notStarted, .preflightFailed, .badSource, .interrupted: false
        }
    }
}

/// The final report of a run (`report.json`), last event of `--json`.
public struct RunReport: Sendable, Codable, Equatable {
    public var runID: String
    /// apply, renew, resume or rollback.
    public var command: String
    public var started: Date
    public var finished: Date
    public var clusters: [ClusterReport]
    public var exitCode: Int32

    /// One cluster's line in the report.
    public struct ClusterReport: Sendable, Codable, Equatable {
        public var name: String
        public var outcome: ClusterOutcome
        public var exitCode: Int32
        /// Leaf fingerprint (SHA-256) of the certificate the run meant this cluster to serve.
        public var targetFingerprint: String?
    }
}
