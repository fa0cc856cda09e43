import Foundation

/// Renders a `FleetStatus` in the Prometheus text exposition format, as the
/// node_exporter textfile collector reads it.
public enum PrometheusText {
    public static func render(_ status: FleetStatus) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for s in samples {
                let labels = s.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += "\(name){\(labels)} \(s.value)\n"
            }
        }
        func nodeLabels(_ n: NodeStatus) -> [(String, String)] {
            [("cluster", n.cluster), ("node", n.node), ("role", n.role)]
        }
        family(
            "certroll_node_up", "1 when the node's HTTPS port completed a TLS handshake.",
            status.nodes.map { (nodeLabels($0), $0.up ? "1" : "0") })
        family(
            "certroll_certificate_expiry_timestamp_seconds", "Not-after of the served leaf certificate, Unix time.",
            status.nodes.compactMap { n in
                n.served.map { (nodeLabels(n), String(Int64($0.notAfter.timeIntervalSince1970))) }
            })
        family(
            "certroll_certificate_days_left", "Whole days until the served leaf expires.",
            status.nodes.compactMap { n in n.daysLeft.map { (nodeLabels(n), String($0)) } })
        family(
            "certroll_served_matches_disk", "1 when the served leaf is the one in cert_path on disk.",
            status.nodes.compactMap { n in
                guard let served = n.served, let stored = n.stored else { return nil }
                return (nodeLabels(n), served.leafFingerprint == stored.leafFingerprint ? "1" : "0")
            })
        family(
            "certroll_pair_consistent", "1 when every reachable node of the cluster serves the same leaf.",
            status.consistentClusters.keys.sorted().map { ([("cluster", $0)], status.consistentClusters[$0]! ? "1" : "0") })
        family(
            "certroll_findings", "Findings of the last status run by severity.",
            [Severity.warning, .error].map { sev in
                ([("severity", sev.rawValue)], String(status.findings.filter { $0.severity == sev }.count))
            })
        family(
            "certroll_status_timestamp_seconds", "When this status was taken, Unix time.",
            [([], String(Int64(status.generatedAt.timeIntervalSince1970)))])
        return out.replacingOccurrences(of: "{}", with: "")
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Writes `text` to `path` atomically: a temp file in the same folder, fsync, rename.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: tmp.path]) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(tmp.path, url.path) == 0 else {
            unlink(tmp.path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
