import CertrollRollout
import Foundation

/// Turns the engine's events into output text. Pure (no I/O), so golden tests
/// feed a fixed event sequence and compare the whole output.
protocol EventRenderer {
    /// The text to write for `event` (whole lines, or terminal control for live progress).
    mutating func render(_ event: RolloutEvent) -> String

    /// A message that is no event (Ctrl-C acknowledged) placed among the
    /// output; nil when the caller should write it to stderr on its own line.
    mutating func note(_ line: String) -> String?
}

extension EventRenderer {
    mutating func note(_ line: String) -> String? { nil }
}

/// No terminal: one plain line per event (`HH:MM:SS tag message`, UTC), then the report summary.
struct PlainEventRenderer: EventRenderer {
    /// Preflight checks that passed get a line too (`renew` leaves them out:
    /// cron mails only what matters).
    var showsPassingChecks = true

    mutating func render(_ event: RolloutEvent) -> String {
        if !showsPassingChecks, event.kind == .check, event.verdict == .pass { return "" }
        var text = "\(EventText.clock(event.time)) \(EventText.padded(EventText.tag(event), 6)) \(event.message)\n"
        if event.kind == .runFinished, let report = event.report {
            text += ReportText.lines(report).map { $0 + "\n" }.joined()
        }
        return text
    }
}

/// `--json`: one JSON object per event, keys sorted, dates ISO 8601. The last
/// line is the `run-finished` event, which carries the final report.
struct JSONEventRenderer: EventRenderer {
    mutating func render(_ event: RolloutEvent) -> String {
        EventText.json(event) + "\n"
    }
}

/// A terminal: one live line per node (its current step), redrawn in place;
/// findings, failures, warnings and cluster outcomes scroll above it.
struct TTYEventRenderer: EventRenderer {
    private var rows: [(key: String, text: String)] = []
    private var drawn = 0

    mutating func render(_ event: RolloutEvent) -> String {
        let out = clear()
        var permanent: [String] = []
        let key = "\(event.cluster ?? "")/\(event.node ?? "")"
        switch event.kind {
        case .runStarted:
            permanent.append(event.message)
        case .check:
            if event.verdict != .pass { permanent.append("\(EventText.padded(EventText.tag(event), 5)) \(event.message)") }
            if event.node != nil { update(key, event, state: "preflight \(event.verdict == .fail ? "FAILED" : "…")") }
        case .stepBegan:
            if event.node != nil { update(key, event, state: "\(event.step?.rawValue ?? "") …") }
        case .stepEnded:
            if event.node != nil { update(key, event, state: "\(event.step?.rawValue ?? "") ok") }
        case .stepFailed:
            permanent.append("FAIL  \(event.message)")
            if event.node != nil { update(key, event, state: "\(event.step?.rawValue ?? "") FAILED") }
        case .warning:
            permanent.append("warn  \(event.message)")
        case .clusterFinished:
            rows.removeAll { $0.key.hasPrefix("\(event.cluster ?? "")/") }
            permanent.append("\(EventText.tag(event)): \(event.message)")
        case .runFinished:
            rows.removeAll()
            permanent.append(event.message)
            if let report = event.report { permanent += ReportText.lines(report) }
        }
        return out + redraw(below: permanent)
    }

    /// The note scrolls above the live lines like a finding, so the next
    /// redraw does not wipe it (or leave stale rows behind).
    mutating func note(_ line: String) -> String? {
        clear() + redraw(below: [line])
    }

    /// Moves to the first live line and erases the live lines. Starts with a
    /// carriage return: the terminal may have echoed `^C` after them.
    private func clear() -> String {
        drawn > 0 ? "\r\u{1B}[\(drawn)A\u{1B}[J" : ""
    }

    /// `permanent` lines, then the live lines again.
    private mutating func redraw(below permanent: [String]) -> String {
        drawn = rows.count
        return permanent.map { $0 + "\n" }.joined() + rows.map { $0.text + "\n" }.joined()
    }

    private mutating func update(_ key: String, _ event: RolloutEvent, state: String) {
        let text = "  \(event.cluster ?? "-")  \(event.node ?? "-")  \(state)"
        if let i = rows.firstIndex(where: { $0.key == key }) {
            rows[i].text = text
        } else {
            rows.append((key, text))
        }
    }
}

/// Shared pieces of event text.
enum EventText {
    /// `HH:MM:SS` in UTC.
    static func clock(_ time: Date) -> String {
        let seconds = Int(time.timeIntervalSince1970.rounded(.down)) % 86_400
        return String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    /// `text` then spaces up to `width` (never cut short).
    static func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    /// A short word for what kind of event this is.
    static func tag(_ event: RolloutEvent) -> String {
        switch event.kind {
        case .runStarted, .runFinished: "run"
        case .check:
            switch event.verdict ?? .pass {
            case .pass: "ok"
            case .warn: "warn"
            case .fail: "FAIL"
            }
        case .stepBegan: "..."
        case .stepEnded: "done"
        case .stepFailed: "FAILED"
        case .warning: "warn"
        case .clusterFinished: event.outcome?.kind.rawValue ?? "end"
        }
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = JSONTime.encoding
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The end-of-run summary: each cluster's outcome, the steps left for a
/// person, and warnings.
enum ReportText {
    /// What also goes to stderr at the end of a run: the whole summary when a
    /// node needs a person (cron and CI mail stderr; `--json` and plain lines
    /// keep stdout for machines), nothing otherwise or when stdout is the
    /// terminal that already shows it.
    static func standardError(_ report: RunReport, stdoutIsTerminal: Bool) -> [String] {
        let needsPerson = report.clusters.contains { $0.outcome.kind == .needsPerson || !$0.outcome.manualSteps.isEmpty }
        return needsPerson && !stdoutIsTerminal ? lines(report) : []
    }

    static func lines(_ report: RunReport) -> [String] {
        var lines = ["\(report.command) \(report.runID): exit \(report.exitCode)"]
        for cluster in report.clusters {
            let outcome = cluster.outcome
            lines.append("  cluster \(cluster.name): \(outcome.kind.rawValue) (exit \(cluster.exitCode))")
            if let reason = outcome.reason { lines.append("    \(reason)") }
            for node in outcome.manualSteps.keys.sorted() {
                lines.append("    node \(node) needs a person; steps left, in order:")
                lines += (outcome.manualSteps[node] ?? []).map { "      - \($0)" }
            }
            lines += outcome.warnings.map { "    warning: \($0)" }
        }
        return lines
    }
}
