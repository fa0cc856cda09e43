/// Why a rollout step failed on a node (or the cluster): a code to match on and
/// a sentence naming the node, file or command and the next action. Equal by
/// code. It becomes the cluster outcome's reason; it never reaches the CLI.
struct StepError: Error, Equatable, CustomStringConvertible {
    /// The kinds of step failure.
    enum Code: String, Sendable, Equatable {
        /// The node could not be reached, so the step did not run.
        case unreachable
        /// Another run holds the node's lock.
        case locked
        /// A staged file's SHA-256 differs from what was sent.
        case stagedMismatch
        /// demisto.conf cannot be read or rewritten.
        case confUnusable
        /// A `cp -p` of a file (backup or restore) failed.
        case copyFailed
        /// A backup's SHA-256 differs from the file it saved.
        case backupMismatch
        /// The stop or start command failed.
        case commandFailed
        /// The service was still running when `start_timeout` ran out after stop.
        case stillRunning
        /// The node did not serve the expected certificate within `start_timeout`.
        case notServing
        /// verify: the served leaf or chain is not the new one, the OTC was not read, or the service is not active.
        case verifyFailed
        /// No backup of this run is recorded for the node.
        case noBackup
        /// A restored file does not match its backup.
        case restoreMismatch
        /// The old key is encrypted and no passphrase that opens it is at hand.
        case noPassphrase
        /// after_success is missing its runner or failed.
        case hookFailed
    }

    var code: Code
    var reason: String

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    var description: String { reason }
}

/// The journal could not be written: the run stops at once (resumable).
struct JournalUnavailable: Error {}
