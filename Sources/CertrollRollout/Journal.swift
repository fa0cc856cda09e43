public import CertrollCore
public import Foundation

/// One line of `journal.jsonl`. Written before and after every remote step and
/// fsync'd, so `resume` can tell exactly how far a run got. Never holds a secret:
/// an OTC is recorded only as `otcWritten`.
public struct JournalEntry: Sendable, Codable, Equatable {
    /// The kinds of line.
    public enum Kind: String, Sendable, Codable, Equatable {
        /// First line: what the run is about (`header`).
        case run
        /// A node's preflight facts.
        case facts
        /// A step on a node (or the cluster) began, ended or failed.
        case step
        /// A cluster's final outcome.
        case outcome
        /// `resume` or `rollback` picked this run up again.
        case reopened
        case note
    }

    /// Whether a step is beginning, done or failed, or was never run because a
    /// second Ctrl-C stopped the run before it began (`resume` decides what's next;
    /// a step that was not run is not a failure).
    public enum Phase: String, Sendable, Codable, Equatable {
        case begin, end, failed
        case notRun = "not-run"
    }

    public var time: Date
    public var kind: Kind
    public var cluster: String?
    public var node: String?
    public var step: Step?
    public var phase: Phase?
    public var message: String?
    public var header: RunHeader?
    public var facts: NodeFacts?
    public var backups: [BackupFile]?
    public var otcWritten: Bool?
    public var confStaged: Bool?
    public var outcome: ClusterOutcome?

    public init(kind: Kind, cluster: String? = nil, node: String? = nil, step: Step? = nil, phase: Phase? = nil,
                message: String? = nil, time: Date = Date()) {
        self.time = time
        self.kind = kind
        self.cluster = cluster
        self.node = node
        self.step = step
        self.phase = phase
        self.message = message
    }
}

/// What a run set out to do: enough to resume or roll it back later.
public struct RunHeader: Sendable, Codable, Equatable {
    public var runID: String
    public var command: String
    public var controller: String
    public var user: String
    /// The selected clusters, settings resolved (no secrets live there).
    public var clusters: [Cluster]
    /// Each cluster's own certificate (none for a cluster whose source was unusable).
    public var certificates: [CertificateRecord]?
    /// The one certificate of a run written before clusters had their own
    /// (journals of older versions); nil in newer journals.
    public var chainFingerprints: [String]?
    public var chainSHA256: String?
    public var keySHA256: String?
    public var keyEncrypted: Bool?
    public var notAfter: Date?

    public init(runID: String, command: String, controller: String, user: String, clusters: [Cluster],
                certificates: [CertificateRecord]) {
        self.runID = runID
        self.command = command
        self.controller = controller
        self.user = user
        self.clusters = clusters
        self.certificates = certificates
    }

    /// The leaf-first fingerprints of the chain the run installs on `cluster`.
    public func chainFingerprints(of cluster: String) -> [String] {
        certificates?.first { $0.cluster == cluster }?.chainFingerprints ?? chainFingerprints ?? []
    }
}

/// What preflight learnt about a node, journaled so rollback knows what "old" is.
public struct NodeFacts: Sendable, Codable, Equatable {
    public var node: String
    /// Leaf fingerprint served now on `https_port`, nil when nothing answered.
    public var servedFingerprint: String?
    public var servedNotAfter: Date?
    /// Leaf fingerprint of the cert file on disk (nil when absent).
    public var diskFingerprint: String?
    public var diskNotAfter: Date?
    public var certSHA256: String?
    public var keySHA256: String?
    /// The current key is encrypted: a rollback needs an OTC for it.
    public var currentKeyEncrypted: Bool
    /// A passphrase that opens the current key was supplied.
    public var currentKeyOpens: Bool
    /// Which one opened it (nil in journals written before this was recorded:
    /// the current-key passphrase).
    public var currentKeyOpenedWith: KeyPassphraseSource? = nil
    /// The conf must be edited to point at cert_path/key_path.
    public var confNeedsEdit: Bool
    public var strayFiles: [String]
    /// Node clock minus controller clock, seconds.
    public var clockSkewSeconds: Int?
    /// When the served leaf was issued: `renew` never goes back to an older one.
    public var servedNotBefore: Date? = nil
}

/// One file saved under `{work_dir}/backups/RUN_ID/` before the swap.
public struct BackupFile: Sendable, Codable, Equatable {
    /// cert, key or conf.
    public var role: String
    public var path: String
    /// nil when there was no file to save (a rollback then removes the new one).
    public var backupPath: String?
    public var sha256: String?
    public var mode: UInt32?
    public var owner: String?
    public var group: String?
}

/// Appends journal entries durably.
public protocol JournalWriter: Sendable {
    /// Returns once the line is on disk. A throw means the run cannot continue safely.
    func append(_ entry: JournalEntry) throws
    /// Returns once every line is on disk, in order: the lines of a step that
    /// runs on several nodes at once, made durable together.
    func append(contentsOf entries: [JournalEntry]) throws
}

extension JournalWriter {
    public func append(contentsOf entries: [JournalEntry]) throws {
        for e in entries { try append(e) }
    }
}

/// `runs/RUN_ID/journal.jsonl`, one JSON object a line, fsync'd after each.
public final class FileJournal: JournalWriter, @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    private let encoder: JSONEncoder

    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw RolloutError.stateDir("cannot create the journal \(path); check that the state directory is writable.")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw RolloutError.stateDir("cannot open the journal \(path) for writing; check its permissions.")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = JSONTime.encoding
    }

    deinit { try? handle.close() }

    public func append(_ entry: JournalEntry) throws {
        try append(contentsOf: [entry])
    }

    /// One write and one fsync for all the lines.
    public func append(contentsOf entries: [JournalEntry]) throws {
        var lines = Data()
        for e in entries {
            lines.append(try encoder.encode(e))
            lines.append(0x0A)
        }
        lock.lock()
        defer { lock.unlock() }
        try handle.write(contentsOf: lines)
        try handle.synchronize()
    }

    /// Every entry of a journal file, in order. A torn last line (crash mid-write) is ignored.
    public static func read(path: String) throws -> [JournalEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RolloutError.stateDir("cannot read the journal \(path); check the run id with `certroll runs`.")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = JSONTime.decoding
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(JournalEntry.self, from: Data($0)) }
    }
}

/// Errors of the engine itself (not of a node): state dir, unknown run, bad input.
public struct RolloutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of engine error.
    public enum Code: String, Sendable, Equatable {
        case stateDir, unknownRun, badInput
    }
    public var code: Code
    public var reason: String
    public var runID: String?

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    public var description: String { reason }

    static func stateDir(_ reason: String) -> Self { .init(code: .stateDir, reason: reason) }
    static func unknownRun(_ id: String) -> Self {
        .init(code: .unknownRun, reason: "there is no run \(id) in the state directory; `certroll runs` lists them.", runID: id)
    }
    static func badInput(_ reason: String) -> Self { .init(code: .badInput, reason: reason) }
}
