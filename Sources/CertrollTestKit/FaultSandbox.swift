import CertrollCore
public import CertrollPKI
public import Foundation

/// What one sandbox node holds and serves, read after a crash, a resume or a
/// race, to decide whether its pair ended consistent and clean.
public struct NodeSnapshot: Sendable, Equatable, CustomStringConvertible {
    public var node: Int
    /// Leaf fingerprint served on the HTTPS port (nil: nothing answered).
    public var served: String?
    /// SHA-256 of the leaf (DER) in `cert.pem` on disk.
    public var diskLeaf: String
    /// SHA-256 of the `cert.pem` and `cert.key` files.
    public var certSHA256: String
    public var keySHA256: String
    /// `/var/lib/demisto/otc.conf.json` exists.
    public var otcLeft: Bool
    /// `/var/lib/certroll/lock` exists.
    public var lockLeft: Bool
    /// `*.certroll-new` / `*.certroll-restore` files beside the live ones.
    public var stagedLeft: [String]
    /// `service demisto status` exit code (0 running).
    public var serviceStatus: Int

    public var description: String {
        "node \(node): served \(served.map { String($0.prefix(12)) } ?? "nothing"), disk leaf \(diskLeaf.prefix(12)), "
            + "cert \(certSHA256.prefix(12)), key \(keySHA256.prefix(12)), otc \(otcLeft), lock \(lockLeft), "
            + "staged \(stagedLeft), status \(serviceStatus)"
    }
}

/// A certificate chain and key as files a test installs directly on a node
/// (the "old" certificate a rollout replaces), with their fingerprints.
public struct InstalledCertificate: Sendable {
    public var chainPEM: String
    public var keyPEM: String
    public var leafFingerprint: String

    public init(chain: [Certificate], keyPEM: String) {
        chainPEM = TestPKI.pem(chain)
        self.keyPEM = keyPEM
        leafFingerprint = chain[0].fingerprintSHA256
    }
}

extension Sandbox {
    /// Reads node `index`'s files, lock, OTC, staged leftovers and service
    /// status from inside it, and what it serves from outside (TLS).
    public func snapshot(node index: Int) async throws -> NodeSnapshot {
        let script = """
            d=/usr/local/demisto
            echo "cert=$(sha256sum < $d/cert.pem | cut -d' ' -f1)"
            echo "key=$(sha256sum < $d/cert.key | cut -d' ' -f1)"
            echo "leaf=$(openssl x509 -in $d/cert.pem -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)"
            echo "otc=$(test -e /var/lib/demisto/otc.conf.json && echo 1 || echo 0)"
            echo "lock=$(test -e /var/lib/certroll/lock && echo 1 || echo 0)"
            echo "staged=$(ls -d $d/*.certroll-* /var/lib/demisto/*.certroll-* /etc/demisto.conf.certroll-* 2>/dev/null | tr '\\n' ' ')"
            service demisto status >/dev/null 2>&1; echo "status=$?"
            """
        let result = try await run(onNode: index, script)
        var fields: [String: String] = [:]
        for line in result.stdoutText.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        let node = nodes[index - 1]
        let served = try? await OpenSSLTLSProbe().probe(host: node.address, port: node.httpsPort, serverName: nil,
                                                        timeout: .seconds(5)).leafFingerprint
        return NodeSnapshot(
            node: index, served: served, diskLeaf: fields["leaf"] ?? "", certSHA256: fields["cert"] ?? "",
            keySHA256: fields["key"] ?? "", otcLeft: fields["otc"] == "1", lockLeft: fields["lock"] == "1",
            stagedLeft: (fields["staged"] ?? "").split(separator: " ").map(String.init),
            serviceStatus: Int(fields["status"] ?? "") ?? -1)
    }

    /// Snapshots of every node, in node order.
    public func snapshots() async throws -> [NodeSnapshot] {
        var result: [NodeSnapshot] = []
        for node in nodes { result.append(try await snapshot(node: node.index)) }
        return result
    }

    /// Puts `certificate` in place on node `index` as an admin would by hand
    /// (owner demisto, 0644 chain, 0600 key), clears certroll's lock, backups,
    /// staged files and any OTC, and restarts the service on it.
    public func install(_ certificate: InstalledCertificate, onNode index: Int) async throws {
        let script = """
            set -e
            d=/usr/local/demisto
            service demisto stop >/dev/null
            rm -rf /var/lib/certroll/lock /var/lib/certroll/backups /var/lib/demisto/otc.conf.json \
              $d/*.certroll-* /var/lib/demisto/*.certroll-* /etc/demisto.conf.certroll-*
            rm -f /var/lib/demisto/sim/fail-next-start /var/lib/demisto/sim/hang-next-start /var/lib/demisto/sim/exit-after
            umask 077
            cat > $d/cert.key.tmp <<'CERTROLL_KEY'
            \(certificate.keyPEM)CERTROLL_KEY
            cat > $d/cert.pem.tmp <<'CERTROLL_CHAIN'
            \(certificate.chainPEM)CERTROLL_CHAIN
            chmod 0600 $d/cert.key.tmp
            chmod 0644 $d/cert.pem.tmp
            chown demisto:demisto $d/cert.key.tmp $d/cert.pem.tmp
            mv $d/cert.key.tmp $d/cert.key
            mv $d/cert.pem.tmp $d/cert.pem
            service demisto start >/dev/null
            """
        let result = try await run(onNode: index, script)
        guard result.exitStatus == 0 else {
            throw SandboxError(.upFailed, "installing a certificate on node \(index) failed (exit \(result.exitStatus)): \(result.stderrText)")
        }
    }

    /// Arms one of xsoar-sim's fault switches on node `index` (consumed by its next start).
    public func arm(_ fault: SimFault, onNode index: Int) async throws {
        let result = try await run(onNode: index, "install -o demisto -g demisto -m 0644 /dev/null /var/lib/demisto/sim/\(fault.rawValue)")
        guard result.exitStatus == 0 else {
            throw SandboxError(.upFailed, "arming \(fault.rawValue) on node \(index) failed: \(result.stderrText)")
        }
    }
}

/// xsoar-sim's fault switches in `/var/lib/demisto/sim/`.
public enum SimFault: String, Sendable {
    case failNextStart = "fail-next-start"
    case hangNextStart = "hang-next-start"
}

/// One line of a run's `journal.jsonl`, as the tests and benchmarks read it
/// (without linking the rollout engine).
public struct JournalLine: Sendable, Equatable {
    public var time: Date
    public var kind: String
    public var cluster: String?
    public var node: String?
    public var step: String?
    public var phase: String?
    public var outcome: String?

    /// Every line of `runs/RUN_ID/journal.jsonl` under `stateDir`.
    public static func read(stateDir: String, runID: String) throws -> [JournalLine] {
        let text = try String(contentsOfFile: "\(stateDir)/runs/\(runID)/journal.jsonl", encoding: .utf8)
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let timeText = object["time"] as? String,
                  let time = (try? style.parse(timeText)) ?? (try? Date.ISO8601FormatStyle().parse(timeText))
            else { return nil }
            return JournalLine(time: time, kind: object["kind"] as? String ?? "", cluster: object["cluster"] as? String,
                               node: object["node"] as? String, step: object["step"] as? String,
                               phase: object["phase"] as? String,
                               outcome: (object["outcome"] as? [String: Any])?["kind"] as? String)
        }
    }
}

extension Certroll {
    /// `run` off the cooperative pool (the binary may take seconds).
    public static func runAsync(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await Blocking.run("certroll.test-binary") { () throws -> Result in try run(arguments, environment: environment) }
    }

    /// The `runID` of the final report in `--json` output.
    public static func runID(fromJSON result: Result) -> String? {
        result.stdoutLines.reversed().lazy.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["runID"] as? String
        }.first
    }

    /// The newest run id under `stateDir`. Run ids carry whole seconds, so two runs of one second sort by their
    /// random suffix: the time of each journal's first line (milliseconds)
    /// decides, then the id.
    public static func newestRunID(stateDir: String) -> String? {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "\(stateDir)/runs")) ?? []
        func started(_ id: String) -> String {
            guard let data = FileManager.default.contents(atPath: "\(stateDir)/runs/\(id)/journal.jsonl"),
                  let first = data.split(separator: 0x0A).first,
                  let header = try? JSONSerialization.jsonObject(with: Data(first)) as? [String: Any] else { return "" }
            return header["time"] as? String ?? ""
        }
        return ids.map { (started($0), $0) }.max { $0 < $1 }?.1
    }

    /// Each cluster's outcome in `report.json` of run `runID`, in report order.
    public static func clusterOutcomes(stateDir: String, runID: String) throws -> [(cluster: String, outcome: String, reason: String?)] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(stateDir)/runs/\(runID)/report.json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let clusters = object?["clusters"] as? [[String: Any]] ?? []
        return clusters.map { c in
            let outcome = c["outcome"] as? [String: Any]
            return (c["name"] as? String ?? "", outcome?["kind"] as? String ?? "", outcome?["reason"] as? String)
        }
    }
}
