import CertrollCore
import Foundation
import Testing

/// The commands that fold a step's round trips into one, run by a real
/// `/bin/sh` with stand-in templates: what they print is what the driver reads.
@Suite struct CombinedCommandTests {
    func sh(_ command: RemoteCommand) throws -> CommandResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command.shell]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CommandResult(exitStatus: p.terminationStatus, stdout: stdout, stderr: stderr)
    }

    func commands(stop: String, status: String, otc: String = "/nonexistent/otc.conf.json") -> NodeCommands {
        var s = XSOARSettings.defaults
        s.stopCommand = stop
        s.statusCommand = status
        s.otcPath = otc
        return NodeCommands(s)
    }

    @Test func stopThenStatusReportsTheStatusOnlyAfterAStopThatWorked() throws {
        let stopped = try sh(commands(stop: "echo demisto stopped", status: "echo noise; exit 3").stopThenStatus)
        #expect(stopped.succeeded)
        #expect(CommandOutput.status(stopped) == 3, "\(stopped.stdoutText)")

        let running = try sh(commands(stop: "printf 'no newline'", status: "true").stopThenStatus)
        #expect(CommandOutput.status(running) == 0, "the marker starts its own line: \(running.stdoutText)")

        let failed = try sh(commands(stop: "echo cannot stop >&2; false", status: "true").stopThenStatus)
        #expect(failed.exitStatus == 1)
        #expect(failed.stderrText == "cannot stop\n")
        #expect(CommandOutput.status(failed) == nil, "no status after a failed stop")
    }

    /// A template's own `exit` ends the whole command before the status: the
    /// driver then asks the status on its own.
    @Test func aTemplateThatExitsLeavesNoStatus() throws {
        let r = try sh(commands(stop: "exit 0", status: "true").stopThenStatus)
        #expect(r.succeeded)
        #expect(CommandOutput.status(r) == nil)
        let inStatus = try sh(commands(stop: "true", status: "exit 0").stopThenStatus)
        #expect(CommandOutput.status(inStatus) == 0, "the status runs in a subshell: its exit ends only that")
    }

    @Test func otcThenStatusSaysWhetherTheOTCIsStillThere() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-otc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let otc = dir.appendingPathComponent("otc conf's.json").path
        let c = commands(stop: "true", status: "exit 3", otc: otc)
        let gone = try sh(c.otcThenStatus)
        #expect(!CommandOutput.lines(gone).contains("otc=present"))
        #expect(CommandOutput.status(gone) == 3)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: otc))
        let there = try sh(c.otcThenStatus)
        #expect(CommandOutput.lines(there).contains("otc=present"))
    }

    @Test func moveIntoPlaceRenamesInOrderAndStopsAtTheFirstFailure() throws {
        #expect(NodeCommands.moveIntoPlace([("/a b/c.new", "/a b/c"), ("/k.new", "/k")]).shell
            == "mv -f -T -- '/a b/c.new' '/a b/c' && mv -f -T -- /k.new /k")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-mv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["cert.pem", "cert.pem.new", "key.new"] { try Data(name.utf8).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        let r = try sh(NodeCommands.moveIntoPlace([(dir + "/cert.pem.new", dir + "/cert.pem"), (dir + "/missing.new", dir + "/missing"),
                                                    (dir + "/key.new", dir + "/key")]))
        #expect(!r.succeeded)
        #expect(try String(contentsOfFile: dir + "/cert.pem", encoding: .utf8) == "cert.pem.new")
        #expect(FileManager.default.fileExists(atPath: dir + "/key.new"), "nothing after the failed rename ran")
    }
}
