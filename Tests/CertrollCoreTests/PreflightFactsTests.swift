import CertrollCore
import Foundation
import Testing

@Suite struct PreflightFactsTests {
    /// Odd but legal settings: spaces, a quote, an `=` in paths and names.
    static let odd: XSOARSettings = {
        var s = XSOARSettings.defaults
        s.service = "my svc"
        s.owner = "x y"
        s.group = "it's"
        s.certPath = "/opt/x s/it's.pem"
        s.keyPath = "/opt/x s/a=b.key"
        s.otcPath = "/var/lib/demisto/otc.conf.json"
        s.confPath = "/etc/demisto.conf"
        s.workDir = "/var/lib/cert roll"
        return s
    }()

    @Test func commandForDefaults() {
        let c = NodeCommands(.defaults)
        #expect(c.preflightFolders == ["/etc", "/usr/local/demisto", "/var/lib/demisto"])
        #expect(c.preflightFiles == ["/usr/local/demisto/cert.pem", "/usr/local/demisto/cert.key", "/etc/demisto.conf", "/var/lib/certroll/lock"])
        #expect(c.preflightFacts.shell == #"""
            echo uid=$(id -u)
            if systemctl cat -- demisto >/dev/null 2>&1 || test -x /etc/init.d/demisto; then echo service=yes; else echo service=no; fi
            if getent passwd demisto >/dev/null 2>&1; then echo owner=yes; else echo owner=no; fi
            if getent group demisto >/dev/null 2>&1; then echo group=yes; else echo group=no; fi
            for p in /etc /usr/local/demisto /var/lib/demisto; do if [ -d "$p" ]; then printf 'dir=%s\n' "$p"; fi; done
            for p in /usr/local/demisto/cert.pem /usr/local/demisto/cert.key /etc/demisto.conf /var/lib/certroll/lock; do if [ -e "$p" ]; then printf 'file=%s\n' "$p"; fi; done
            if [ -d /var/lib/certroll ]; then echo workdir=yes; w=/var/lib/certroll; else echo workdir=no; w=/var/lib; fi
            for p in /usr/local/demisto "$w"; do df -Pk -- "$p" 2>/dev/null | { read -r _; read -r _ _ _ a _ && printf 'free=%s %s\n' "$a" "$p"; }; done
            date +clock=%s
            find /usr/local/demisto -maxdepth 1 -type f \( -name '*.pem' -o -name '*.key' -o -name '*.crt' \) | sed 's/^/stray=/'
            echo end
            """#)
    }

    @Test func commandQuotesOddPathsAndNames() {
        let c = NodeCommands(Self.odd)
        #expect(c.preflightFolders == ["/etc", "/opt/x s", "/var/lib/demisto"])
        #expect(c.preflightFacts.shell == #"""
            echo uid=$(id -u)
            if systemctl cat -- 'my svc' >/dev/null 2>&1 || test -x '/etc/init.d/my svc'; then echo service=yes; else echo service=no; fi
            if getent passwd 'x y' >/dev/null 2>&1; then echo owner=yes; else echo owner=no; fi
            if getent group 'it'\''s' >/dev/null 2>&1; then echo group=yes; else echo group=no; fi
            for p in /etc '/opt/x s' /var/lib/demisto; do if [ -d "$p" ]; then printf 'dir=%s\n' "$p"; fi; done
            for p in '/opt/x s/it'\''s.pem' '/opt/x s/a=b.key' /etc/demisto.conf '/var/lib/cert roll/lock'; do if [ -e "$p" ]; then printf 'file=%s\n' "$p"; fi; done
            if [ -d '/var/lib/cert roll' ]; then echo workdir=yes; w='/var/lib/cert roll'; else echo workdir=no; w=/var/lib; fi
            for p in '/opt/x s' "$w"; do df -Pk -- "$p" 2>/dev/null | { read -r _; read -r _ _ _ a _ && printf 'free=%s %s\n' "$a" "$p"; }; done
            date +clock=%s
            find '/opt/x s' -maxdepth 1 -type f \( -name '*.pem' -o -name '*.key' -o -name '*.crt' \) | sed 's/^/stray=/'
            echo end
            """#)
    }

    @Test func pathsWithLineBreaksAreAskedOneByOne() {
        #expect(NodeCommands(.defaults).preflightFactsFitInLines)
        #expect(NodeCommands(Self.odd).preflightFactsFitInLines)
        var s = Self.odd
        s.certPath = "/opt/x\ny/cert.pem"
        #expect(!NodeCommands(s).preflightFactsFitInLines)
    }

    @Test func outputIsParsedWithOddPaths() {
        let out = """
            service=yes
            owner=no
            group=yes
            dir=/etc
            dir=/opt/x s
            file=/opt/x s/it's.pem
            file=/opt/x s/a=b.key
            workdir=no
            free=42 /opt/x s
            free=7 /var/lib
            clock=1700000000
            stray=/opt/x s/it's.pem
            stray=/opt/x s/old = copy.crt
            something new=ignored
            end

            """
        let facts = CommandOutput.preflightFacts(CommandResult(exitStatus: 0, stdout: Data(out.utf8)))
        #expect(facts == PreflightFacts(
            serviceExists: true, ownerExists: false, groupExists: true,
            directories: ["/etc", "/opt/x s"], files: ["/opt/x s/it's.pem", "/opt/x s/a=b.key"], workDirExists: false,
            freeBytes: ["/opt/x s": 42 * 1024, "/var/lib": 7 * 1024], clock: 1_700_000_000,
            strayFiles: ["/opt/x s/it's.pem", "/opt/x s/old = copy.crt"]))
    }

    /// Anything short of a full answer is no answer: preflight then asks one by one.
    @Test func partialOrFailedOutputIsNoAnswer() {
        let full = "service=no\nowner=yes\ngroup=yes\nworkdir=yes\nend\n"
        #expect(CommandOutput.preflightFacts(CommandResult(exitStatus: 0, stdout: Data(full.utf8)))
            == PreflightFacts(serviceExists: false, ownerExists: true, groupExists: true, workDirExists: true))
        #expect(CommandOutput.preflightFacts(CommandResult(exitStatus: 0, stdout: Data(full.replacingOccurrences(of: "end\n", with: "").utf8))) == nil)
        #expect(CommandOutput.preflightFacts(CommandResult(exitStatus: 0, stdout: Data(full.replacingOccurrences(of: "group=yes\n", with: "").utf8))) == nil)
        #expect(CommandOutput.preflightFacts(CommandResult(exitStatus: 0, stdout: Data(full.replacingOccurrences(of: "owner=yes", with: "owner=maybe").utf8))) == nil)
        #expect(CommandOutput.preflightFacts(CommandResult(exitStatus: 1, stdout: Data(full.utf8))) == nil)
        // A df answer that is not a number is left out (preflight runs df itself).
        let odd = CommandOutput.preflightFacts(CommandResult(exitStatus: 0, stdout: Data((full + "free= /x\nfree=12\nclock=soon\n").utf8)))
        #expect(odd?.freeBytes == [:])
        #expect(odd?.clock == nil)
    }

    /// The shell text really answers like that, run by a local `sh` on a
    /// folder laid out with odd names.
    @Test func commandRunsInARealShell() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pf facts \(UUID().uuidString)/x s").path
        defer { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var s = Self.odd
        s.certPath = root + "/it's.pem"
        s.keyPath = root + "/a=b.key"
        s.otcPath = root + "/otc.json"
        s.confPath = root + "/missing/demisto.conf"
        s.workDir = root + "/work dir"
        for f in ["it's.pem", "old = copy.crt", "notes.txt"] {
            _ = FileManager.default.createFile(atPath: root + "/" + f, contents: Data("x".utf8))
        }
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", NodeCommands(s).preflightFacts.shell]
        let pipe = Pipe()
        sh.standardOutput = pipe
        sh.standardError = FileHandle.nullDevice
        try sh.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        sh.waitUntilExit()
        let facts = try #require(CommandOutput.preflightFacts(CommandResult(exitStatus: sh.terminationStatus, stdout: out)),
                                 "\(String(decoding: out, as: UTF8.self))")
        #expect(facts.serviceExists == false && facts.ownerExists == false && facts.groupExists == false)
        #expect(facts.directories == [root])
        #expect(facts.files == [root + "/it's.pem"])
        #expect(facts.workDirExists == false)
        #expect(Set(facts.freeBytes.keys) == [root])
        #expect(facts.clock.map { abs($0 - Int(Date().timeIntervalSince1970)) < 60 } == true)
        #expect(Set(facts.strayFiles) == [root + "/it's.pem", root + "/old = copy.crt"])
    }
}
