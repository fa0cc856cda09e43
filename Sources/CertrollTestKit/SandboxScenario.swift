import CertrollCore
import CertrollPKI
public import Foundation

/// What acceptance scenarios on the sandbox look at and change on a node:
/// files with owner, mode and digest, the server's pid, sshd, inventories.
extension Sandbox {
    /// `user:group mode sha256` of each path on node `index` (`missing` when absent),
    /// read with `stat -c '%U:%G %a'` and `sha256sum` inside the node.
    public func fileFacts(onNode index: Int, _ paths: [String]) async throws -> [String: String] {
        let script = paths.map { p in
            let q = ShellQuote.quote(p)
            return "if [ -e \(q) ]; then printf '%s\\n' \"$(stat -c '%U:%G %a' \(q)) $(sha256sum < \(q) | cut -d' ' -f1)\"; else echo missing; fi"
        }.joined(separator: "; ")
        let result = try await run(onNode: index, script)
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard result.succeeded, lines.count >= paths.count else {
            throw SandboxError(.spawnFailed, "node \(index): could not stat \(paths) (\(result.stderrText))")
        }
        return Dictionary(uniqueKeysWithValues: zip(paths, lines))
    }

    /// The leaf each node serves now (SHA-256 of its DER), in node order; `none` where nothing answers.
    public func servedLeaves() async -> [String] {
        var result: [String] = []
        for node in nodes {
            let chain = try? await OpenSSLTLSProbe().probe(host: node.address, port: node.httpsPort, serverName: nil,
                                                           timeout: .seconds(5))
            result.append(chain?.leafFingerprint ?? "none")
        }
        return result
    }

    /// The pid of node `index`'s running xsoar-sim; nil when the service is not running.
    public func serverPID(onNode index: Int) async throws -> Int? {
        let result = try await run(onNode: index, "service demisto status >/dev/null 2>&1 && cat /var/lib/demisto/sim/demisto.pid")
        return result.succeeded ? Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    /// Starts node `index`'s sshd again (after `sim/sshd-dies-after-stop` killed it).
    public func restartSSHD(onNode index: Int) async throws {
        guard let node = nodes.first(where: { $0.index == index }) else {
            throw SandboxError(.noSuchNode, "sandbox \(prefix) has no node \(index)")
        }
        let result = try await SandboxProcess.run("/usr/bin/nsenter", [
            "--mount=\(node.mountNamespacePath)", "--net=\(node.netnsPath)", "/usr/sbin/sshd",
            "-f", "\(node.nodeDir)/sshd_config", "-E", "\(node.nodeDir)/sshd.log",
        ])
        guard result.succeeded else {
            throw SandboxError(.spawnFailed, "node \(index): sshd did not start again (\(result.stderrText))")
        }
    }

    /// An inventory for this sandbox as one cluster named `prefix` (node 1 primary),
    /// logging in as `user`; `xsoar` lines go under `defaults.xsoar`, and
    /// `perNode[i]` is a flow mapping of overrides for node `i` (e.g.
    /// `xsoar: { group: nosuchgroup }`). Written to `directory/name`; returns the path.
    public func writeInventory(to directory: URL, _ name: String, user: String = "root", become: String = "none",
                               xsoar: [String] = [], perNode: [Int: String] = [:]) throws -> String {
        var lines = [
            "defaults:", "  ssh:", "    user: \(user)", "    identity: \(identityFile)", "    known_hosts: \(knownHostsFile)",
            "    host_key_policy: strict", "    connect_timeout: 5s", "    become: \(become)", "  xsoar:", "    start_timeout: 30s",
        ]
        lines += xsoar.map { "    " + $0 }
        lines += ["clusters:", "  - name: \(prefix)", "    nodes:"]
        for node in nodes {
            let extra = perNode[node.index].map { ", " + $0 } ?? ""
            lines.append("      - { host: \(node.address), role: \(node.role)\(extra) }")
        }
        let url = directory.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }
}

/// Samples every process's argv on this host (`/proc/*/cmdline`) from a thread
/// of its own until stopped, recording those that contain a secret. The
/// sandbox nodes share the host's PID namespace, so this sees every command
/// sshd runs on every node.
public final class ArgvSampler: @unchecked Sendable {
    private let secrets: [String]
    private let lock = NSLock()
    private var running = true
    private var hits: [String] = []
    private var samples = 0
    private let done = DispatchSemaphore(value: 0)

    /// Starts sampling at once.
    public init(secrets: [String]) {
        self.secrets = secrets.filter { !$0.isEmpty }
        Thread.detachNewThread { [self] in loop() }
    }

    /// Stops and returns the argv seen holding a secret (with the secret redacted)
    /// and how many full scans of `/proc` were made.
    public func stop() -> (hits: [String], samples: Int) {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { (hits, samples) }
    }

    private func loop() {
        let me = getpid()
        while lock.withLock({ running }) {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            var found: [String] = []
            for pid in pids where pid.first?.isNumber == true && pid != String(me) {
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { continue }
                let argv = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
                for secret in secrets where argv.contains(secret) {
                    found.append("pid \(pid): " + argv.replacingOccurrences(of: secret, with: "<secret>"))
                }
            }
            lock.withLock {
                hits += found
                samples += 1
            }
            usleep(2_000)
        }
        done.signal()
    }
}
