import CertrollCore
import Foundation

/// Renders a `FleetStatus`: an aligned table plus one line per finding
/// (colored on a terminal), or one JSON object.
enum StatusRenderer {
    static func table(_ status: FleetStatus, color: Bool) -> [String] {
        func paint(_ severity: Severity, _ text: String) -> String {
            guard color else { return text }
            let code = switch severity {
            case .ok: "32"
            case .warning: "33"
            case .error: "1;31"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        let header = ["CLUSTER", "NODE", "ROLE", "TLS", "DAYS", "NOT AFTER", "SHA-256", "ON DISK", "KEY", "STATE"]
        var rows: [[String]] = []
        for n in status.nodes {
            let disk: String
            switch (n.sshOK, n.stored, n.served) {
            case (nil, _, _): disk = "-"
            case (false?, _, _): disk = "unreadable"
            case (_, let stored?, let served?) where stored.leafFingerprint == served.leafFingerprint: disk = "same"
            case (_, let stored?, _): disk = String(stored.leafFingerprint.prefix(12))
            default: disk = "-"
            }
            rows.append([
                n.cluster, n.node, n.role, n.up ? "up" : "DOWN",
                n.daysLeft.map(String.init) ?? "-",
                n.served.map { $0.notAfter.formatted(.iso8601.year().month().day()) } ?? "-",
                n.served.map { String($0.leafFingerprint.prefix(12)) } ?? "-",
                disk,
                n.stored.map { shortKeyFormat($0.keyFormat) } ?? "-",
                n.severity.rawValue,
            ])
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], severity: Severity?) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let padded = index == cells.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
                text += index == cells.count - 1 && severity != nil ? paint(severity!, padded) : padded
            }
            return text
        }
        var lines = [line(header, severity: nil)]
        for (row, node) in zip(rows, status.nodes) { lines.append(line(row, severity: node.severity)) }
        if !status.findings.isEmpty { lines.append("") }
        for finding in status.findings {
            lines.append("\(paint(finding.severity, finding.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)))\(finding.message)")
        }
        let count = { (s: Severity) in status.findings.filter { $0.severity == s }.count }
        lines.append("")
        lines.append("\(status.nodes.count) node(s) in \(status.clusters.count) cluster(s): \(count(.error)) error(s), \(count(.warning)) warning(s).")
        return lines
    }

    /// "unencrypted PKCS#1 (BEGIN RSA PRIVATE KEY)" → "unencrypted PKCS#1".
    static func shortKeyFormat(_ format: String) -> String {
        format.range(of: " (").map { String(format[..<$0.lowerBound]) } ?? format
    }

    /// The `--json` object (docs/status.md shows its shape).
    struct Report: Encodable {
        var generatedAt: Date
        var warnDays: Int
        var worst: Severity
        var exitCode: Int32
        var clusters: [ClusterStatus]
        var nodes: [NodeStatus]
        var findings: [StatusFinding]
    }

    static func json(_ status: FleetStatus) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let report = Report(
            generatedAt: status.generatedAt, warnDays: status.warnDays, worst: status.worst, exitCode: status.worst.exitCode,
            clusters: status.clusters, nodes: status.nodes, findings: status.findings)
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}
