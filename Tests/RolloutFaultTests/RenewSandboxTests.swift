import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// `certroll renew` on two sandbox pairs with different FQDNs, each from its
/// own `certificate:` source (`live/{fqdn}/…`, relative to the inventory),
/// built binary: cluster 1 has a legacy-encrypted key (its passphrase in a
/// file), cluster 2 an unencrypted one.
extension SandboxFaults {
    @Suite(.serialized) struct Renew {
        static let name = "crrw"
        let pki = LivePKI.shared

        /// The inventory, sources and state of one scenario.
        struct Fleet {
            let dir: URL
            let state: String
            let inventory: String
            let passphrase = "renew-\(UUID().uuidString)"
            let clusters = ["\(Renew.name)-c1", "\(Renew.name)-c2"]
            let fqdns = ["c1.renew.test", "c2.renew.test"]

            init(_ sandbox: Sandbox) throws {
                dir = try TestPKI.temporaryDirectory()
                state = dir.appendingPathComponent("state").path
                var yaml = """
                    defaults:
                      ssh: { user: root, identity: \(sandbox.identityFile), known_hosts: \(sandbox.knownHostsFile), connect_timeout: 5s }
                      xsoar: { start_timeout: 65s }
                      certificate:
                        cert: live/{fqdn}/fullchain.pem
                        key: live/{fqdn}/privkey.pem
                    clusters:

                    """
                for (i, cluster) in clusters.enumerated() {
                    yaml += """
                          - name: \(cluster)
                            fqdn: [\(fqdns[i])]
                        \(i == 0 ? "    certificate: { key_passphrase_file: \"secrets/{cluster}.pass\" }\n" : "")\
                            nodes:
                              - { host: \(sandbox.nodes[2 * i].address), role: primary }
                              - { host: \(sandbox.nodes[2 * i + 1].address), role: backup }

                        """
                }
                inventory = try TestPKI.write(yaml, to: dir, "inventory.yaml", mode: 0o644)
                try FileManager.default.createDirectory(at: dir.appendingPathComponent("secrets"), withIntermediateDirectories: true)
            }

            func liveFile(_ cluster: Int, _ name: String) -> String {
                dir.appendingPathComponent("live/\(fqdns[cluster])/\(name)").path
            }
            var passphraseFile: String { dir.appendingPathComponent("secrets/\(clusters[0]).pass").path }

            func writePassphrase() throws { _ = try TestPKI.write(passphrase + "\n", to: dir, "secrets/\(clusters[0]).pass") }
            func removePassphrase() throws { try FileManager.default.removeItem(atPath: passphraseFile) }

            func renew(_ extra: [String] = [], environment: [String: String] = [:]) async throws -> Certroll.Result {
                try await Certroll.runAsync(["renew", "-i", inventory, "--state-dir", state] + extra, environment: environment)
            }
        }

        /// A leaf for cluster `i`'s FQDN issued at `notBefore`, written as its source. Issued
        /// now by default: later than what the nodes serve (the sandbox's own certificates
        /// were made when it came up), so renew does not take it for an older one.
        @discardableResult
        func issue(_ fleet: Fleet, cluster i: Int, notBefore: Date = Date()) throws -> String {
            let now = Date()
            let key = i == 0 ? pki.leafKey : pki.wrongKey
            let leaf = try pki.intermediate.issue(
                .tlsServer(try CertificateSubject(commonName: fleet.fqdns[i], subject: "/O=certroll tests", sans: [fleet.fqdns[i]]),
                           notBefore: notBefore, notAfter: now.addingTimeInterval(60 * 86_400)),
                for: key)
            let folder = fleet.dir.appendingPathComponent("live/\(fleet.fqdns[i])")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            _ = try TestPKI.write(TestPKI.pem([leaf, pki.intermediate.certificate, pki.root.certificate]), to: folder, "fullchain.pem", mode: 0o644)
            let keyPEM = i == 0 ? try key.traditionalPEM(encryption: (.aes256, Secret(fleet.passphrase))) : try key.traditionalPEM()
            _ = try TestPKI.write(keyPEM, to: folder, "privkey.pem")
            return leaf.fingerprintSHA256
        }

        /// The xsoar-sim process id of each node (its ready file), to tell a restart.
        func serverPIDs(_ sandbox: Sandbox) async throws -> [String] {
            var pids: [String] = []
            for node in sandbox.nodes {
                pids.append(try await sandbox.run(onNode: node.index, "cat /var/lib/demisto/sim/ready").stdoutText)
            }
            return pids
        }

        func outcomes(_ fleet: Fleet, _ result: Certroll.Result) throws -> [String] {
            let id = try #require(Certroll.runID(fromJSON: result) ?? Certroll.newestRunID(stateDir: fleet.state))
            return try Certroll.clusterOutcomes(stateDir: fleet.state, runID: id).map(\.outcome)
        }

        /// Each cluster's `targetFingerprint` in the final `--json` report.
        func targets(_ result: Certroll.Result) throws -> [String: String] {
            let last = try #require(result.stdoutLines.last)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            let clusters = (report["report"] as? [String: Any])?["clusters"] as? [[String: Any]] ?? report["clusters"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: clusters.compactMap { c in
                (c["name"] as? String).flatMap { name in (c["targetFingerprint"] as? String).map { (name, $0) } }
            })
        }

        @Test(.enabled(if: Sandbox.isRoot, "the sandbox needs root"))
        func renewAFleetOfTwoPairs() async throws {
            try await withSandbox(nodes: 4, name: Self.name, clusterSize: 2) { sandbox in
                let fleet = try Fleet(sandbox)
                var transcripts: [Certroll.Result] = []

                // 1. Each pair gets its own leaf; cluster 1's OTC is written and consumed.
                let leaf1 = try issue(fleet, cluster: 0)
                let leaf2 = try issue(fleet, cluster: 1)
                try fleet.writePassphrase()
                let first = try await fleet.renew(["--json"])
                transcripts.append(first)
                #expect(first.status == 0, "\(first.transcript)")
                #expect(try outcomes(fleet, first) == ["done", "done"])
                #expect(try targets(first) == [fleet.clusters[0]: leaf1, fleet.clusters[1]: leaf2], "\(first.stdoutLines.last ?? "")")
                var snapshots = try await sandbox.snapshots()
                #expect(expectConsistent(Array(snapshots[0...1]), old: "", new: leaf1, "cluster 1") == .new)
                #expect(expectConsistent(Array(snapshots[2...3]), old: "", new: leaf2, "cluster 2") == .new)
                let firstID = try #require(Certroll.runID(fromJSON: first))
                let journal = try String(contentsOfFile: "\(fleet.state)/runs/\(firstID)/journal.jsonl", encoding: .utf8)
                let otcNodes = Set(journal.split(separator: "\n").compactMap { line -> String? in
                    guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                          entry["otcWritten"] as? Bool == true else { return nil }
                    return entry["node"] as? String
                })
                #expect(otcNodes == [sandbox.nodes[0].address, sandbox.nodes[1].address],
                        "cluster 1's two nodes got an OTC, cluster 2's unencrypted key none")

                // 2. Nothing to do, and no passphrase anywhere: exit 0, no restart, one line per cluster.
                try fleet.removePassphrase()
                var pids = try await serverPIDs(sandbox)
                let prom = fleet.dir.appendingPathComponent("certroll.prom").path
                let idle = try await fleet.renew(["--prometheus", prom])
                transcripts.append(idle)
                #expect(idle.status == 0, "\(idle.transcript)")
                #expect(try outcomes(fleet, idle) == ["skipped", "skipped"])
                for cluster in fleet.clusters {
                    #expect(idle.stdoutLines.contains { $0.contains("cluster \(cluster): every node already serves its certificate") }, "\(idle.transcript)")
                }
                let idleSteps = try JournalLine.read(stateDir: fleet.state, runID: try #require(Certroll.newestRunID(stateDir: fleet.state)))
                    .filter { $0.kind == "step" }
                #expect(idleSteps.isEmpty, "nothing was locked, staged or restarted: \(idleSteps)")
                #expect(try await serverPIDs(sandbox) == pids)
                let metrics = try String(contentsOfFile: prom, encoding: .utf8)
                #expect(metrics.contains("certroll_certificate_expiry_timestamp_seconds") && metrics.contains(sandbox.nodes[3].address))

                // 3. The same legacy-encrypted certificate applied again: skipped, no current-key passphrase needed.
                let again = try await Certroll.runAsync(
                    ["apply", "--yes", "--json", "-i", fleet.inventory, "--state-dir", fleet.state, "--cluster", fleet.clusters[0],
                     "--cert", fleet.liveFile(0, "fullchain.pem"), "--key", fleet.liveFile(0, "privkey.pem")],
                    environment: ["CERTROLL_KEY_PASSPHRASE": fleet.passphrase])
                transcripts.append(again)
                #expect(again.status == 0, "\(again.transcript)")
                #expect(try outcomes(fleet, again) == ["skipped"])
                #expect(try await serverPIDs(sandbox) == pids)

                // 4. Only the cluster whose source changed restarts.
                let leaf2b = try issue(fleet, cluster: 1)
                let changed = try await fleet.renew(["--json"])
                transcripts.append(changed)
                #expect(changed.status == 0, "\(changed.transcript)")
                #expect(try outcomes(fleet, changed) == ["skipped", "done"])
                let after = try await serverPIDs(sandbox)
                #expect(Array(after[0...1]) == Array(pids[0...1]), "cluster 1's servers were not restarted")
                #expect(after[2] != pids[2] && after[3] != pids[3], "cluster 2's servers were restarted")
                snapshots = try await sandbox.snapshots()
                #expect(expectConsistent(Array(snapshots[2...3]), old: leaf2, new: leaf2b, "cluster 2") == .new)

                // 5. Back to the older certificate: refused (exit 3), untouched; --force rolls it out.
                let older = try issue(fleet, cluster: 1, notBefore: Date().addingTimeInterval(-3600))
                pids = try await serverPIDs(sandbox)
                let refused = try await fleet.renew(["--json"])
                transcripts.append(refused)
                #expect(refused.status == 3, "\(refused.transcript)")
                let refusedID = try #require(Certroll.runID(fromJSON: refused))
                let report = try Certroll.clusterOutcomes(stateDir: fleet.state, runID: refusedID)
                #expect(report.map(\.outcome) == ["skipped", "preflight-failed"])
                #expect(report[1].reason?.contains("never goes back to an older certificate") == true, "\(report)")
                #expect(try await serverPIDs(sandbox) == pids)
                let forced = try await fleet.renew(["--force", "--cluster", fleet.clusters[1]])
                transcripts.append(forced)
                #expect(forced.status == 0, "\(forced.transcript)")
                snapshots = try await sandbox.snapshots()
                #expect(expectConsistent(Array(snapshots[2...3]), old: leaf2b, new: older, "cluster 2") == .new)

                // 6. Cluster 1's key file is missing: exit 2 for it, cluster 2 still renewed.
                try FileManager.default.removeItem(atPath: fleet.liveFile(0, "privkey.pem"))
                let leaf2c = try issue(fleet, cluster: 1)
                let partial = try await fleet.renew(["--json"])
                transcripts.append(partial)
                #expect(partial.status == 2, "\(partial.transcript)")
                #expect(try outcomes(fleet, partial) == ["bad-source", "done"])
                snapshots = try await sandbox.snapshots()
                #expect(expectConsistent(Array(snapshots[0...1]), old: "", new: leaf1, "cluster 1") == .new)
                #expect(expectConsistent(Array(snapshots[2...3]), old: older, new: leaf2c, "cluster 2") == .new)

                // 7. A run that changed both clusters, rolled back: each is back on its own previous files.
                //    (Cluster 1's current key is encrypted: its passphrase lets a rollback write an OTC.)
                let current = ["--current-key-passphrase-file", fleet.passphraseFile]
                let leaf1b = try issue(fleet, cluster: 0)
                let leaf2d = try issue(fleet, cluster: 1)
                try fleet.writePassphrase()
                let before = try await sandbox.snapshots()
                let both = try await fleet.renew(["--json", "--parallel", "1"] + current)
                transcripts.append(both)
                #expect(both.status == 0, "\(both.transcript)")
                snapshots = try await sandbox.snapshots()
                #expect(snapshots.map(\.served) == [leaf1b, leaf1b, leaf2d, leaf2d])
                let bothID = try #require(Certroll.runID(fromJSON: both))
                let rollback = try await Certroll.runAsync(["rollback", bothID, "--yes", "--state-dir", fleet.state] + current)
                transcripts.append(rollback)
                #expect(rollback.status == 0, "\(rollback.transcript)")
                snapshots = try await sandbox.snapshots()
                #expect(snapshots.map(\.certSHA256) == before.map(\.certSHA256) && snapshots.map(\.keySHA256) == before.map(\.keySHA256))
                #expect(expectConsistent(Array(snapshots[0...1]), old: leaf1, new: leaf1b, "cluster 1") == .old)
                #expect(expectConsistent(Array(snapshots[2...3]), old: leaf2c, new: leaf2d, "cluster 2") == .old)

                // 8. The same run killed mid-swap in cluster 2 (cluster 1 done), then resumed:
                //    cluster 1 stays on its new leaf, cluster 2 is back on its own previous one.
                let labels = try JournalLine.read(stateDir: fleet.state, runID: bothID).prefix { $0.kind != "reopened" }
                let swapLine = try #require(labels.firstIndex { $0.cluster == fleet.clusters[1] && $0.step == "swap" && $0.phase == "end" })
                let killed = try await fleet.renew(["--json", "--parallel", "1"] + current,
                                                   environment: ["CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES": String(swapLine + 1)])
                transcripts.append(killed)
                #expect(killed.wasKilled, "\(killed.transcript)")
                let killedID = try #require(Certroll.newestRunID(stateDir: fleet.state))
                let resume = try await Certroll.runAsync(["resume", killedID, "--yes", "--state-dir", fleet.state] + current)
                transcripts.append(resume)
                #expect(resume.status == 1, "cluster 2 was rolled back: \(resume.transcript)")
                snapshots = try await sandbox.snapshots()
                #expect(expectConsistent(Array(snapshots[0...1]), old: leaf1, new: leaf1b, "cluster 1") == .new)
                #expect(expectConsistent(Array(snapshots[2...3]), old: leaf2c, new: leaf2d, "cluster 2") == .old)
                #expect(Array(snapshots[2...3].map(\.certSHA256)) == Array(before[2...3].map(\.certSHA256)))

                // The passphrase is nowhere: output, journals, reports, logs.
                var texts = transcripts.flatMap { [$0.stdout, $0.stderr] }
                for id in (try? FileManager.default.contentsOfDirectory(atPath: "\(fleet.state)/runs")) ?? [] {
                    for file in ["journal.jsonl", "report.json", "log"] {
                        texts.append((try? String(contentsOfFile: "\(fleet.state)/runs/\(id)/\(file)", encoding: .utf8)) ?? "")
                    }
                }
                #expect(!texts.contains { $0.contains(fleet.passphrase) })
            }
        }
    }
}
