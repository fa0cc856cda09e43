import CertrollCore
import Foundation
import Testing

@Suite struct CommandTests {
    let custom: NodeCommands = {
        var s = XSOARSettings.defaults
        s.service = "my svc"
        s.workDir = "/var/lib/cert roll"
        s.stopCommand = "systemctl stop 'my svc'"
        return NodeCommands(s)
    }()

    @Test func serviceCommandsComeFromTemplates() {
        let c = NodeCommands(.defaults)
        #expect(c.stop.shell == "service demisto stop")
        #expect(c.start.shell == "service demisto start")
        #expect(c.status.shell == "service demisto status")
        #expect(custom.stop.shell == "systemctl stop 'my svc'")
    }

    @Test func probesAreQuoted() {
        #expect(NodeCommands.effectiveUser.shell == "id -u")
        #expect(NodeCommands.clock.shell == "date +%s")
        #expect(NodeCommands(.defaults).serviceExists.shell == "systemctl cat -- demisto >/dev/null 2>&1 || test -x /etc/init.d/demisto")
        #expect(custom.serviceExists.shell == "systemctl cat -- 'my svc' >/dev/null 2>&1 || test -x '/etc/init.d/my svc'")
        #expect(NodeCommands.sha256("/usr/local/demisto/cert.pem").shell == "sha256sum -- /usr/local/demisto/cert.pem")
        #expect(NodeCommands.sha256("/a b/it's").shell == #"sha256sum -- '/a b/it'\''s'"#)
        #expect(NodeCommands.sha256(["/etc/demisto.conf", "/var/lib/cert roll/backups/R1/conf-demisto.conf"]).shell
            == "sha256sum -- /etc/demisto.conf '/var/lib/cert roll/backups/R1/conf-demisto.conf'")
        #expect(NodeCommands.freeSpace("/usr/local/demisto").shell == "df -Pk -- /usr/local/demisto")
        #expect(NodeCommands.groupExists("demisto").shell == "getent group demisto")
        #expect(NodeCommands.userExists("x y").shell == "getent passwd 'x y'")
        #expect(NodeCommands.certificateLikeFiles(in: "/usr/local/demisto").shell
            == #"find /usr/local/demisto -maxdepth 1 -type f \( -name '*.pem' -o -name '*.key' -o -name '*.crt' \)"#)
    }

    @Test func lockIsTakenAtomicallyWithoutSecrets() {
        let lock = LockRecord(runID: "20250101T000000Z-ab12", controller: "ctl", user: "ops", started: "2025-01-01T00:00:00Z")
        #expect(lock.json == #"{"controller":"ctl","runID":"20250101T000000Z-ab12","started":"2025-01-01T00:00:00Z","user":"ops"}"#)
        #expect(NodeCommands(.defaults).takeLock(lock).shell
            == #"mkdir -p -m 0700 -- /var/lib/certroll && (set -C && printf '%s\n' '{"controller":"ctl","runID":"20250101T000000Z-ab12","started":"2025-01-01T00:00:00Z","user":"ops"}' > /var/lib/certroll/lock)"#)
        #expect(custom.lockPath == "/var/lib/cert roll/lock")
        #expect(custom.takeLock(lock).shell.hasPrefix("mkdir -p -m 0700 -- '/var/lib/cert roll' && "))
        #expect(LockRecord(lockFile: Data(lock.json.utf8)) == lock)
        #expect(NodeCommands(.defaults).backupDirectory(runID: "R1") == "/var/lib/certroll/backups/R1")
    }

    @Test func stagedBackupAndRestorePathsAreValues() {
        let c = NodeCommands(.defaults)
        #expect(NodeCommands.staged("/etc/demisto.conf") == "/etc/demisto.conf.certroll-new")
        #expect(NodeCommands.restoring("/etc/demisto.conf") == "/etc/demisto.conf.certroll-restore")
        #expect(c.stagedFiles == ["/usr/local/demisto/cert.pem.certroll-new", "/usr/local/demisto/cert.key.certroll-new",
                                  "/etc/demisto.conf.certroll-new", "/var/lib/demisto/otc.conf.json.certroll-new"])
        #expect(c.leftoverFiles == ["/usr/local/demisto/cert.pem.certroll-new", "/usr/local/demisto/cert.pem.certroll-restore",
                                    "/usr/local/demisto/cert.key.certroll-new", "/usr/local/demisto/cert.key.certroll-restore",
                                    "/etc/demisto.conf.certroll-new", "/etc/demisto.conf.certroll-restore",
                                    "/var/lib/demisto/otc.conf.json.certroll-new", "/var/lib/demisto/otc.conf.json.certroll-restore"])
        #expect(c.backedUpFiles.map { "\($0.role) \($0.path)" }
            == ["cert /usr/local/demisto/cert.pem", "key /usr/local/demisto/cert.key", "conf /etc/demisto.conf"])
        #expect(c.backupPath(role: "conf", of: "/etc/demisto.conf", runID: "R1") == "/var/lib/certroll/backups/R1/conf-demisto.conf")
        #expect(custom.backupPath(role: "cert", of: "/usr/local/demisto/cert.pem", runID: "R1")
            == "/var/lib/cert roll/backups/R1/cert-cert.pem")
    }

    @Test func filesAreMovedPreservingOwnership() {
        #expect(NodeCommands.copyPreserving("/a", to: "/b c").shell == "cp -p -- /a '/b c'")
        #expect(NodeCommands.rewriteInPlace("/etc/demisto.conf.certroll-new", to: "/etc/demisto.conf").shell
            == "test -r /etc/demisto.conf.certroll-new && cat -- /etc/demisto.conf.certroll-new > /etc/demisto.conf && rm -f -- /etc/demisto.conf.certroll-new")
    }

    @Test func theWholeBackupIsOneCommandThatCopiesThenChecksumsEachPair() {
        #expect(NodeCommands.backUp([("/usr/local/demisto/cert.pem", "/var/lib/certroll/backups/R1/cert-cert.pem"),
                                     ("/etc/demisto.conf", "/var/lib/cert roll/backups/R1/conf-demisto.conf")]).shell
            == "cp -p -- /usr/local/demisto/cert.pem /var/lib/certroll/backups/R1/cert-cert.pem"
            + " && cp -p -- /etc/demisto.conf '/var/lib/cert roll/backups/R1/conf-demisto.conf'"
            + " && sha256sum -- /usr/local/demisto/cert.pem /var/lib/certroll/backups/R1/cert-cert.pem"
            + " /etc/demisto.conf '/var/lib/cert roll/backups/R1/conf-demisto.conf'")
        #expect(NodeCommands.backUp([("/a", "/b")]).shell == "cp -p -- /a /b && sha256sum -- /a /b")
    }

    @Test func outputsAreRead() {
        let sum = CommandResult(exitStatus: 0, stdout: Data("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855  /x\n".utf8))
        #expect(CommandOutput.sha256(sum) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let df = CommandResult(exitStatus: 0, stdout: Data("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 50 42 55% /\n".utf8))
        #expect(CommandOutput.freeBytes(df) == 42 * 1024)
        #expect(CommandOutput.integer(CommandResult(exitStatus: 0, stdout: Data("1700000000\n".utf8))) == 1_700_000_000)
        #expect(CommandOutput.sha256(CommandResult(exitStatus: 1)) == nil)
        let a = String(repeating: "a", count: 64), b = String(repeating: "B", count: 64)
        let two = CommandResult(exitStatus: 0, stdout: Data("\(a)  /x\n\(b)  /y z\n".utf8))
        #expect(CommandOutput.sha256s(two, count: 2) == [a, b.lowercased()])
        let oneMissing = CommandResult(exitStatus: 1, stdout: Data("\(b)  /y z\n".utf8), stderr: Data("sha256sum: /x: No such file".utf8))
        #expect(CommandOutput.sha256s(oneMissing, count: 2) == [nil, nil])
        #expect(CommandOutput.sha256s(CommandResult(exitStatus: 0, stdout: Data("\(a)  /x\n".utf8)), count: 2) == [nil, nil])
    }

    @Test func confEditKeepsOtherKeys() throws {
        let conf = Data(#"{"Server":{"HttpsPort":"443"},"Security":{"Other":true},"db":{"x":1.5}}"#.utf8)
        #expect(try DemistoConf.pointing(conf, certPath: XSOARSettings.defaultCertPath, keyPath: XSOARSettings.defaultKeyPath) == nil)
        let edited = try #require(try DemistoConf.pointing(conf, certPath: "/opt/c.pem", keyPath: "/opt/c.key"))
        let obj = try DemistoConf.parse(edited)
        #expect((obj["Server"] as? [String: Any])?["HttpsPort"] as? String == "443")
        let security = obj["Security"] as? [String: Any]
        #expect(security?["CertFile"] as? String == "/opt/c.pem")
        #expect(security?["KeyFile"] as? String == "/opt/c.key")
        #expect(security?["Other"] as? Bool == true)
        #expect(DemistoConf.configuredPaths(obj) == ("/opt/c.pem", "/opt/c.key"))
        #expect(try DemistoConf.pointing(edited, certPath: "/opt/c.pem", keyPath: "/opt/c.key") == nil)
        #expect(throws: DemistoConf.ParseError.self) { try DemistoConf.parse(Data("{oops".utf8)) }
    }

    @Test func otcEscapesThePassphrase() {
        #expect(OTCFile.content(keyPassphrase: Secret("pa\"ss\\w\n")).utf8String == #"{"keypass":"pa\"ss\\w\n"}"#)
        let round = try? JSONSerialization.jsonObject(with: Data(OTCFile.content(keyPassphrase: Secret("é\u{1}\"x")).bytes)) as? [String: String]
        #expect(round?["keypass"] == "é\u{1}\"x")
    }
}
