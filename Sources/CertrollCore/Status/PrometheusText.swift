import Foundation

/// Renders a `FleetStatus` in the Prometheus text exposition format (0.0.4),
/// as the node_exporter textfile collector reads it. Every family is a gauge;
/// per-node families carry `cluster`, `node` and `role` labels.
public enum PrometheusText {
    private struct Sample {
        var labels: [(String, String)]
        var value: String
    }

    public static func render(_ status: FleetStatus) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [Sample]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for s in samples {
                if s.labels.isEmpty {
                    out += "\(name) \(s.value)\n"
                } else {
                    let labels = s.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                    out += "\(name){\(labels)} \(s.value)\n"
                }
            }
        }
        func labels(_ n: NodeStatus) -> [(String, String)] {
            [("cluster", n.cluster), ("node", n.node), ("role", n.role)]
        }
        func flag(_ value: Bool) -> String { value ? "1" : "0" }
        func perNode(_ value: (NodeStatus) -> String?) -> [Sample] {
            status.nodes.compactMap { n in value(n).map { Sample(labels: labels(n), value: $0) } }
        }

        family("certroll_node_up", "1 when the node's HTTPS port completed a TLS handshake.",
               perNode { flag($0.up) })
        family("certroll_ssh_up", "1 when cert_path and key_path were read over SSH (absent with --no-ssh).",
               perNode { $0.sshOK.map(flag) })
        family("certroll_certificate_expiry_timestamp_seconds", "Not-after of the served leaf certificate, Unix time.",
               perNode { $0.served.map { String(Int64($0.notAfter.timeIntervalSince1970)) } })
        family("certroll_certificate_days_left", "Whole days until the served leaf expires (negative once expired).",
               perNode { $0.daysLeft.map(String.init) })
        family("certroll_certificate_info", "The served leaf: SHA-256 fingerprint and subject (always 1).",
               status.nodes.compactMap { n in
                   n.served.map { Sample(labels: labels(n) + [("sha256", $0.leafFingerprint), ("subject", $0.subject)], value: "1") }
               })
        family("certroll_chain_valid", "1 when the served chain is complete, ordered and its signatures verify.",
               perNode { $0.served.map { flag($0.chainProblem == nil) } })
        family("certroll_names_covered", "1 when the served leaf covers every fqdn of the cluster.",
               perNode { $0.served.map { flag($0.uncoveredNames.isEmpty) } })
        family("certroll_served_matches_disk", "1 when the served leaf is the first certificate in cert_path on disk.",
               perNode { n in
                   guard let served = n.served, let stored = n.stored else { return nil }
                   return flag(served.leafFingerprint == stored.leafFingerprint)
               })
        family("certroll_key_loadable", "1 when the key on disk is in a format XSOAR loads (not PKCS#8-encrypted).",
               perNode { $0.stored.map { flag(!$0.keyIsPKCS8Encrypted) } })
        family("certroll_node_severity", "Worst finding on the node: 0 ok, 1 warning, 2 error.",
               perNode { String($0.severity.exitCode) })
        family("certroll_pair_consistent", "1 when every reachable node of the cluster serves the same leaf.",
               status.clusters.map { Sample(labels: [("cluster", $0.name)], value: flag($0.consistent)) })
        family("certroll_findings", "Findings of the last status run, by severity.",
               [Severity.warning, .error].map { severity in
                   Sample(labels: [("severity", severity.rawValue)],
                          value: String(status.findings.filter { $0.severity == severity }.count))
               })
        family("certroll_status_timestamp_seconds", "When this status was taken, Unix time.",
               [Sample(labels: [], value: String(Int64(status.generatedAt.timeIntervalSince1970)))])
        return out
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Why the metrics file could not be written; names the file.
    public struct WriteError: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String {
            "cannot write the metrics file \(file): \(reason); check that its folder exists and is writable."
        }
    }

    /// Writes `text` to `path` atomically, as the textfile collector needs: a
    /// hidden temp file in the same folder (the collector reads only `*.prom`),
    /// mode 0644, fsync, rename. A reader sees the old file or the new one.
    public static func writeAtomically(_ text: String, to path: String) throws(WriteError) {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        func failure(_ step: String) -> WriteError {
            WriteError(file: path, reason: "\(step): \(String(cString: strerror(errno)))")
        }
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create \(temp)") }
        var error: WriteError?
        if fchmod(fd, 0o644) != 0 { error = failure("chmod") }
        let bytes = Array(text.utf8)
        var offset = 0
        while error == nil && offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno != EINTR { error = failure("write") }
            } else {
                offset += n
            }
        }
        if error == nil && fsync(fd) != 0 { error = failure("fsync") }
        close(fd)
        if error == nil && rename(temp, path) != 0 { error = failure("rename") }
        if let error {
            unlink(temp)
            throw error
        }
    }
}
