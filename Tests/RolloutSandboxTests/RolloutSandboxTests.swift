import CertrollCore
import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

/// Rollout scenarios on a real two-node sandbox (sshd + xsoar-sim
/// in namespaces), driving the built binary as an admin would. Every
/// scenario starts from the same baseline (`Scenario`), so the order does not
/// matter. Needs root.
@Suite(.serialized,
       .enabled(if: Sandbox.isRoot, "sandbox integration tests need root (network and mount namespaces); run them as root"),
       .scenarioSandbox(name: "crsa"))
struct RolloutSandboxTests {

    // MARK: 1. custom cert/key paths

    /// certroll does not create a missing cert folder (a typo would otherwise
    /// put the certificate where XSOAR never reads it): preflight refuses,
    /// naming the folder. Once the admin made it, the conf gets
    /// Security.CertFile/KeyFile and keeps every other key; rolling the run
    /// back restores the conf byte for byte and removes the new files.
    @Test func customCertAndKeyPathsEditTheConfAndKeepItsOtherKeys() async throws {
        let s = try await Scenario()
        let folder = "/usr/local/demisto/custom"
        let cert = folder + "/x.pem", key = folder + "/x.key"
        let inventory = try s.sandbox.writeInventory(to: s.dir, "custom.yaml", xsoar: ["cert_path: \(cert)", "key_path: \(key)"])
        let before = try await s.facts()
        let pids = try await s.pids()

        let missing = try await s.apply(inventory, cert: s.newChain, key: s.newKey)
        #expect(missing.status == 3, "\(missing.output)")
        #expect(missing.output.contains("folder \(folder) does not exist"), "\(missing.output)")
        #expect(try await s.pids() == pids, "nothing was stopped")
        #expect(try await s.facts() == before)

        for node in [1, 2] {
            #expect(try await s.sandbox.run(onNode: node, "install -d -o demisto -g demisto -m 0755 \(folder)").succeeded)
        }
        let applied = try await s.apply(inventory, cert: s.newChain, key: s.newKey)
        #expect(applied.status == 0, "\(applied.output)")
        #expect(try await s.served() == [s.newLeaf, s.newLeaf])
        let chainSHA = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: s.newChain)))
        let keySHA = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: s.newKey)))
        let after = try await s.facts([cert, key] + Scenario.livePaths)
        for node in [1, 2] {
            let f = try #require(after[node])
            #expect(f[cert] == "demisto:demisto 644 \(chainSHA)")
            #expect(f[key] == "demisto:demisto 600 \(keySHA)")
            #expect(f[Scenario.certPath] == before[node]?[Scenario.certPath], "the default files are left alone")
            #expect(f[Scenario.keyPath] == before[node]?[Scenario.keyPath])
            #expect(f[Scenario.confPath]?.hasPrefix("root:root 644 ") == true, "the conf keeps its owner and mode: \(f[Scenario.confPath] ?? "")")
            let text = try await s.sandbox.run(onNode: node, "cat \(Scenario.confPath)").stdout
            let conf = try #require(try JSONSerialization.jsonObject(with: text) as? [String: Any])
            let security = conf["Security"] as? [String: Any]
            #expect(security?["CertFile"] as? String == cert)
            #expect(security?["KeyFile"] as? String == key)
            #expect((conf["Server"] as? [String: Any])?["HttpsPort"] as? String == "443", "other keys kept")
            #expect((conf["Extra"] as? [String: Any])?["keep"] as? String == "me", "other keys kept")
            #expect(try await s.leftovers(node: node) == "")
        }

        let runID = try #require(s.lastRunID)
        let rollback = try await s.certroll(["rollback", runID, "--yes"])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf])
        let restored = try await s.facts([cert, key] + Scenario.livePaths)
        for node in [1, 2] {
            #expect(restored[node]?[cert] == "missing", "a file that did not exist before is removed")
            #expect(restored[node]?[key] == "missing")
            for path in Scenario.livePaths { #expect(restored[node]?[path] == before[node]?[path], "\(path) on node \(node)") }
        }
    }

    // MARK: 2. non-root login with sudo; secrets in no argv

    /// cradmin (sudo without a password), then cradminpw with the password from
    /// a file and from the environment, with an encrypted key in between. A
    /// sampler reads every process's argv on the host (the nodes share its PID
    /// namespace) throughout: neither the sudo password nor the key passphrase
    /// shows up, nor in any output, journal, report or log.
    @Test func nonRootLoginWithSudoWithAndWithoutPassword() async throws {
        let s = try await Scenario()
        let sudoPassword = try String(contentsOfFile: s.sandbox.becomePasswordFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!sudoPassword.isEmpty)

        // The sampler sees a process's argv (positive control).
        let control = "sampler-control-\(UUID().uuidString)"
        let probe = ArgvSampler(secrets: [control])
        _ = try await SandboxProcess.run("/bin/sh", ["-c", "sleep 0.3", control])
        #expect(!probe.stop().hits.isEmpty, "the sampler must see a short-lived process's argv")

        let sampler = ArgvSampler(secrets: [sudoPassword, s.passphrase])
        var results: [Certroll.Result] = []
        func expectFiles(_ chain: String, _ key: String) async throws {
            let chainSHA = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: chain)))
            let keySHA = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: key)))
            for (node, f) in try await s.facts() {
                #expect(f[Scenario.certPath] == "demisto:demisto 644 \(chainSHA)", "node \(node)")
                #expect(f[Scenario.keyPath] == "demisto:demisto 600 \(keySHA)", "node \(node)")
                #expect(try await s.leftovers(node: node) == "", "node \(node)")
            }
        }

        // sudo without a password.
        let free = try await s.apply(s.sandbox.inventorySudoFile, cert: s.newChain, key: s.newKey)
        results.append(free)
        #expect(free.status == 0, "\(free.output)")
        #expect(try await s.served() == [s.newLeaf, s.newLeaf])
        try await expectFiles(s.newChain, s.newKey)

        // sudo with a password, none given: refused at preflight.
        let noPassword = try await s.apply(s.sandbox.inventorySudoPasswordFile, cert: s.oldChain, key: s.oldKey)
        results.append(noPassword)
        #expect(noPassword.status == 3, "\(noPassword.output)")
        #expect(try await s.served() == [s.newLeaf, s.newLeaf])

        // Password from a file; an encrypted key (OTC).
        let fromFile = try await s.apply(s.sandbox.inventorySudoPasswordFile, cert: s.oldChain, key: s.oldLockedKey,
                                         ["--become-password-file", s.sandbox.becomePasswordFile],
                                         environment: ["CERTROLL_KEY_PASSPHRASE": s.passphrase])
        results.append(fromFile)
        #expect(fromFile.status == 0, "\(fromFile.output)")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf])
        try await expectFiles(s.oldChain, s.oldLockedKey)

        // Password from the environment; the current key is encrypted, so its passphrase too.
        let fromEnvironment = try await s.apply(s.sandbox.inventorySudoPasswordFile, cert: s.newChain, key: s.newKey,
                                                environment: ["CERTROLL_BECOME_PASSWORD": sudoPassword,
                                                              "CERTROLL_CURRENT_KEY_PASSPHRASE": s.passphrase])
        results.append(fromEnvironment)
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.output)")
        #expect(try await s.served() == [s.newLeaf, s.newLeaf])
        try await expectFiles(s.newChain, s.newKey)

        let (hits, samples) = sampler.stop()
        #expect(hits.isEmpty, "secrets in argv: \(hits)")
        #expect(samples > 20, "the sampler ran (\(samples) scans)")
        let texts = try results.flatMap { [$0.stdout, $0.stderr] } + s.everythingWritten()
        for secret in [sudoPassword, s.passphrase] {
            #expect(!texts.contains { $0.contains(secret) }, "a secret was written or printed")
        }
    }

    // MARK: 3. the backup fails to start

    @Test func backupFailsToStartBothNodesServeTheOldCertificateWithIdenticalFiles() async throws {
        let s = try await Scenario()
        let before = try await s.facts()
        #expect(try await s.sandbox.run(onNode: 2, "touch /var/lib/demisto/sim/fail-next-start").succeeded)

        let r = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey)
        #expect(r.status == 1, "\(r.output)")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf])
        #expect(try await s.facts() == before, "cert, key and conf byte-identical with the same owners and modes")
        #expect(try await !s.exists(node: 2, "/var/lib/demisto/sim/fail-next-start"), "the failed start happened")
        for node in [1, 2] { #expect(try await s.leftovers(node: node) == "", "node \(node)") }
        #expect(try s.lastOutcome()["kind"] as? String == "rolled-back")
    }

    // MARK: 4. a node's sshd dies after the stop

    /// Node 2's init script kills the node's sshd right after stopping the
    /// server (`sim/sshd-dies-after-stop`): node 1 is rolled back and serves
    /// again; the report names node 2 and the exact steps left; exit 4. Once
    /// sshd is back, `resume` finishes the rollback (exit 1: rolled back cleanly).
    @Test func sshdDiesAfterTheStopReachableNodeRolledBackReportNamesTheSteps() async throws {
        let s = try await Scenario()
        let before = try await s.facts()
        let (first, second) = (s.nodeNames[0], s.nodeNames[1])
        #expect(try await s.sandbox.run(onNode: 2, "touch /var/lib/demisto/sim/sshd-dies-after-stop").succeeded)

        let r = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey)
        #expect(r.status == 4, "\(r.output)")
        #expect(try await s.served()[0] == s.oldLeaf, "the reachable primary serves the old certificate again")
        #expect(try await s.sandbox.serverPID(onNode: 2) == nil, "node 2 was stopped")
        #expect(try await s.facts()[1] == before[1], "node 1's files are restored")

        let outcome = try s.lastOutcome()
        #expect(outcome["kind"] as? String == "needs-person")
        let steps = try #require(outcome["manualSteps"] as? [String: [String]])
        #expect(Array(steps.keys) == [second], "only the unreachable node needs a person: \(steps)")
        let left = steps[second] ?? []
        #expect(left.first?.hasPrefix("stop the service") == true, "\(left)")
        #expect(left.contains { $0.hasPrefix("restore \(Scenario.certPath): cp -p ") }, "\(left)")
        #expect(left.contains { $0.hasPrefix("restore \(Scenario.keyPath): cp -p ") }, "\(left)")
        #expect(left.contains { $0.contains("start the service") }, "\(left)")
        #expect(left.contains { $0.hasPrefix("release the lock") }, "\(left)")
        #expect((outcome["reason"] as? String)?.contains(second) == true)
        #expect(!(outcome["reason"] as? String ?? "").contains("on \(first)"))
        #expect(r.stderr.contains("node \(second) needs a person"), "stderr names the node: \(r.stderr)")
        for step in left { #expect(r.stderr.contains(step), "stderr lists \(step)") }

        // A person brings sshd back; resume finishes the rollback.
        try await s.sandbox.restartSSHD(onNode: 2)
        let runID = try #require(s.lastRunID)
        let resume = try await s.certroll(["resume", runID, "--yes"])
        #expect(resume.status == 1, "the failed apply ends rolled back cleanly: \(resume.output)")
        #expect(try s.lastOutcome()["kind"] as? String == "rolled-back")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf])
        #expect(try await s.facts() == before)
        for node in [1, 2] { #expect(try await s.leftovers(node: node) == "", "node \(node)") }
    }

    // MARK: 5. preflight fails on one node

    /// Each fault is made on node 2 only: apply refuses with exit 3 naming the
    /// node, and no node was stopped (same server pids), nothing changed.
    @Test(arguments: PreflightFault.allCases)
    func preflightFailureOnOneNodeStopsNothing(_ fault: PreflightFault) async throws {
        let s = try await Scenario()
        let node2 = s.nodeNames[1]
        var inventory = s.sandbox.inventoryFile
        var environment: [String: String] = [:]
        switch fault {
        case .missingGroup:
            inventory = try s.sandbox.writeInventory(to: s.dir, "group.yaml", perNode: [2: "xsoar: { group: nosuchgroup }"])
        case .fullDisk:
            // The cert folder's filesystem is full: a 1 MiB tmpfs holding the node's files, filled up.
            let full = try await s.sandbox.run(onNode: 2, """
                set -e
                cp -a /usr/local/demisto /tmp/.crsa-demisto-$$
                mount -t tmpfs -o size=1m,mode=0755 tmpfs /usr/local/demisto
                cp -a /tmp/.crsa-demisto-$$/. /usr/local/demisto/ && rm -rf /tmp/.crsa-demisto-$$
                dd if=/dev/zero of=/usr/local/demisto/filler bs=64k 2>/dev/null || true
                df -Pk /usr/local/demisto | tail -n 1
                """)
            #expect(full.succeeded, "\(full.stderrText)")
        case .fullWorkDir:
            // work_dir is a full filesystem of its own: a 1 MiB tmpfs over /var/lib/certroll, filled up.
            let full = try await s.sandbox.run(onNode: 2, """
                set -e
                mount -t tmpfs -o size=1m,mode=0700 tmpfs /var/lib/certroll
                dd if=/dev/zero of=/var/lib/certroll/filler bs=64k 2>/dev/null || true
                """)
            #expect(full.succeeded, "\(full.stderrText)")
        case .sudoDenied:
            inventory = try s.sandbox.writeInventory(to: s.dir, "nosudo.yaml",
                                                     perNode: [2: "ssh: { user: \(ScenarioScope.noSudoUser), become: sudo }"])
            environment["CERTROLL_BECOME_PASSWORD"] = ScenarioScope.noSudoPassword
        case .brokenConf:
            #expect(try await s.sandbox.run(onNode: 2, "printf '{broken' > \(Scenario.confPath)").succeeded)
        }
        let before = try await s.facts()
        let pids = try await s.pids()
        #expect(pids.allSatisfy { $0 != nil })

        let r = try await s.apply(inventory, cert: s.newChain, key: s.newKey, environment: environment)
        #expect(r.status == 3, "\(r.output)")
        #expect(r.output.contains("node \(node2): \(fault.message)"), "names the node and the reason: \(r.output)")
        #expect(try await s.pids() == pids, "no node was stopped")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf])
        #expect(try await s.facts() == before, "nothing changed")
        for node in [1, 2] { #expect(try await s.leftovers(node: node) == "", "node \(node)") }
        #expect(try s.lastOutcome()["kind"] as? String == "preflight-failed")
        if fault == .fullDisk {
            #expect(try await s.sandbox.run(onNode: 2, "umount /usr/local/demisto").succeeded)
        }
        if fault == .fullWorkDir {
            #expect(try await s.sandbox.run(onNode: 2, "umount /var/lib/certroll").succeeded)
        }
    }

    enum PreflightFault: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case missingGroup, fullDisk, fullWorkDir, sudoDenied, brokenConf
        var testDescription: String { rawValue }

        /// What the refusal says after `node NAME: `.
        var message: String {
            switch self {
            case .missingGroup: "group nosuchgroup does not exist"
            case .fullDisk: "only "
            case .fullWorkDir: "only "
            case .sudoDenied: "sudo refused the password of \(ScenarioScope.noSudoUser)"
            case .brokenConf: "\(Scenario.confPath) cannot be used"
            }
        }
    }

    // MARK: 6. the current key is encrypted

    /// First an encrypted key is rolled in. Then, without its passphrase, apply
    /// refuses before anything stops, naming the nodes. With it and a failed
    /// start on node 2, the rollback restores the old encrypted key and writes
    /// an OTC with the old passphrase, which both servers consume: the kept
    /// keypass is removed first, so only that OTC can open the key.
    @Test func encryptedCurrentKeyRefusedWithoutItsPassphraseRolledBackWithIt() async throws {
        let s = try await Scenario()
        let sampler = ArgvSampler(secrets: [s.passphrase])
        let locked = try await s.apply(s.sandbox.inventoryFile, cert: s.oldChain, key: s.oldLockedKey,
                                       environment: ["CERTROLL_KEY_PASSPHRASE": s.passphrase])
        #expect(locked.status == 0, "\(locked.output)")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf])
        for node in [1, 2] {
            #expect(try await s.sandbox.run(onNode: node, "rm /var/lib/demisto/sim/keypass").succeeded, "xsoar-sim kept the keypass")
        }
        let before = try await s.facts()
        let pids = try await s.pids()

        let refused = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey)
        #expect(refused.status == 3, "\(refused.output)")
        for name in s.nodeNames {
            #expect(refused.output.contains("node \(name): the current key \(Scenario.keyPath) is encrypted"), "\(refused.output)")
        }
        #expect(try await s.pids() == pids, "nothing was stopped")

        #expect(try await s.sandbox.run(onNode: 2, "touch /var/lib/demisto/sim/fail-next-start").succeeded)
        let rolledBack = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey,
                                           ["--current-key-passphrase-file", s.passphraseFile])
        #expect(rolledBack.status == 1, "\(rolledBack.output)")
        #expect(try await s.served() == [s.oldLeaf, s.oldLeaf], "both nodes started on the old encrypted key")
        #expect(try await s.facts() == before)
        for node in [1, 2] {
            #expect(try await !s.exists(node: node, Scenario.otcPath), "node \(node): the OTC was consumed")
            #expect(try await s.leftovers(node: node) == "", "node \(node)")
        }
        let restoredWithOTC = Set(try s.lastJournal().compactMap { entry -> String? in
            guard entry["step"] as? String == "restore", entry["phase"] as? String == "end",
                  entry["otcWritten"] as? Bool == true else { return nil }
            return entry["node"] as? String
        })
        #expect(restoredWithOTC == Set(s.nodeNames), "the rollback wrote an OTC on both nodes")

        let (hits, _) = sampler.stop()
        #expect(hits.isEmpty, "the passphrase in argv: \(hits)")
        let texts = try [locked, refused, rolledBack].flatMap { [$0.stdout, $0.stderr] } + s.everythingWritten()
        #expect(!texts.contains { $0.contains(s.passphrase) })
    }

    // MARK: 7. a node's clock is behind the certificate's not-before

    /// The certificate is valid by the controller's clock (so the local checks
    /// pass), but node 2's `date` runs 60 days behind: inside its mount
    /// namespace a wrapper is bound over /usr/bin/date. Preflight refuses
    /// before anything stops.
    @Test func nodeClockBehindNotBeforeIsRefusedAtPreflight() async throws {
        let s = try await Scenario()
        let nodeDir = s.sandbox.nodes[1].nodeDir
        let shift = 60 * 86_400
        try Data("#!/bin/sh\nexec \(nodeDir)/date.real -d \"@$(( $(\(nodeDir)/date.real +%s) - \(shift) ))\" \"$@\"\n".utf8)
            .write(to: URL(fileURLWithPath: nodeDir + "/date.fake"))
        let fake = try await s.sandbox.run(onNode: 2, """
            set -e
            cp /usr/bin/date \(nodeDir)/date.real
            chmod 0755 \(nodeDir)/date.fake
            mount --bind \(nodeDir)/date.fake /usr/bin/date
            date +%s
            """)
        #expect(fake.succeeded, "\(fake.stderrText)")
        let nodeNow = try #require(Int(fake.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(abs(Int(Date().timeIntervalSince1970) - shift - nodeNow) < 60, "node 2's clock is 60 days behind")
        let pids = try await s.pids()
        let before = try await s.facts()

        let r = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey)
        #expect(r.status == 3, "\(r.output)")
        #expect(r.output.contains("node \(s.nodeNames[1]): by its clock"), "\(r.output)")
        #expect(!r.output.contains("node \(s.nodeNames[0]): by its clock"))
        #expect(try await s.pids() == pids, "nothing was stopped")
        #expect(try await s.facts() == before)
        #expect(try await s.sandbox.run(onNode: 2, "umount /usr/bin/date").succeeded)
    }

    // MARK: 8. a second apply restarts nothing; --force does

    @Test func secondApplyWithTheSameFilesRestartsNothingUnlessForced() async throws {
        let s = try await Scenario()
        let first = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey)
        #expect(first.status == 0, "\(first.output)")
        let pids = try await s.pids()
        #expect(pids.allSatisfy { $0 != nil })

        let again = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey)
        #expect(again.status == 0, "\(again.output)")
        #expect(try await s.pids() == pids, "no restart")
        #expect(try s.lastOutcome()["kind"] as? String == "skipped")
        #expect(try !s.lastJournal().contains { $0["step"] as? String == "stop" }, "no stop was even begun")

        let forced = try await s.apply(s.sandbox.inventoryFile, cert: s.newChain, key: s.newKey, ["--force"])
        #expect(forced.status == 0, "\(forced.output)")
        let restarted = try await s.pids()
        #expect(restarted.allSatisfy { $0 != nil })
        #expect(zip(restarted, pids).allSatisfy { $0 != $1 }, "--force restarts both nodes")
        #expect(try s.lastOutcome()["kind"] as? String == "done")
        #expect(try await s.served() == [s.newLeaf, s.newLeaf])
    }
}
