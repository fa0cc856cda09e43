import CertrollCore
public import Foundation

/// The state directory: `runs/RUN_ID/{journal.jsonl,report.json,log}`.
public struct RunStore: Sendable {
    public var root: String

    public init(root: String) { self.root = root }

    /// `--state-dir`, else `$XDG_STATE_HOME/certroll`, else `~/.local/state/certroll`.
    public static func resolve(stateDir: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               home: String = NSHomeDirectory()) -> RunStore {
        if let stateDir { return RunStore(root: stateDir) }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return RunStore(root: xdg + "/certroll") }
        return RunStore(root: home + "/.local/state/certroll")
    }

    public func runDirectory(_ runID: String) -> String { root + "/runs/" + runID }
    public func journalPath(_ runID: String) -> String { runDirectory(runID) + "/journal.jsonl" }
    public func reportPath(_ runID: String) -> String { runDirectory(runID) + "/report.json" }
    public func logPath(_ runID: String) -> String { runDirectory(runID) + "/log" }

    /// A new run id: UTC timestamp then random hex, so ids sort by start time.
    public static func newRunID(now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let random = Hex.encode((0..<3).map { _ in UInt8.random(in: 0...255) })
        return f.string(from: now) + "-" + random
    }

    /// Creates `runs/RUN_ID/` (0700).
    public func create(_ runID: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: runDirectory(runID), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw RolloutError.stateDir("cannot create \(runDirectory(runID)): \(error.localizedDescription); pass --state-dir to a writable place.")
        }
    }

    public func exists(_ runID: String) -> Bool {
        FileManager.default.fileExists(atPath: journalPath(runID))
    }

    public func readJournal(_ runID: String) throws -> [JournalEntry] {
        guard exists(runID) else { throw RolloutError.unknownRun(runID) }
        return try FileJournal.read(path: journalPath(runID))
    }

    public func writeReport(_ report: RunReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = JSONTime.encoding
        try encoder.encode(report).write(to: URL(fileURLWithPath: reportPath(report.runID)), options: .atomic)
    }

    public func readReport(_ runID: String) -> RunReport? {
        guard let data = FileManager.default.contents(atPath: reportPath(runID)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = JSONTime.decoding
        return try? decoder.decode(RunReport.self, from: data)
    }

    /// Appends a line to the run's human log.
    public func log(_ runID: String, _ line: String) {
        let path = logPath(runID)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let h = FileHandle(forWritingAtPath: path) else { return }
        h.seekToEndOfFile()
        h.write(Data((line + "\n").utf8))
        try? h.close()
    }

    /// One row of `certroll runs`.
    public struct RunSummary: Sendable, Equatable {
        public var runID: String
        public var command: String
        public var clusters: [String]
        /// The report's exit code, or nil when the run never finished (resume it).
        public var exitCode: Int32?
        /// `done`, `rolled-back`, … per cluster; "unfinished" when there is no report.
        public var outcome: String
    }

    /// Every run, oldest first: by the time its journal began (milliseconds),
    /// since run ids order only to the second.
    public func list() -> [RunSummary] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: root + "/runs")) ?? []
        let runs = ids.compactMap { id -> (started: Date, summary: RunSummary)? in
            guard let entries = try? readJournal(id), let first = entries.first(where: { $0.kind == .run }),
                  let header = first.header else { return nil }
            let report = readReport(id)
            let outcome = report.map { r in
                Set(r.clusters.map(\.outcome.kind.rawValue)).sorted().joined(separator: ",")
            } ?? "unfinished"
            return (first.time, RunSummary(runID: id, command: header.command, clusters: header.clusters.map(\.name),
                                           exitCode: report?.exitCode, outcome: outcome))
        }
        return runs.sorted { ($0.started, $0.summary.runID) < ($1.started, $1.summary.runID) }.map(\.summary)
    }
}
