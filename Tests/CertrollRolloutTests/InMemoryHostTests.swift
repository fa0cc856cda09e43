import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// The in-memory host answers exactly the command values NodeCommands builds
/// for it; anything else, however similar, is "not understood" (exit 127).
@Suite struct InMemoryHostTests {
    let host = InMemoryHost.xsoarNode(name: "n", chainPEM: FakePKI.chain("old"), keyPEM: FakePKI.key(for: FakePKI.chain("old")))
    let commands = NodeCommands(.defaults)

    private func run(_ shell: String) async throws -> CommandResult {
        try await host.run(RemoteCommand(shell), stdin: nil, timeout: .seconds(1))
    }

    @Test func answersTheValuesNodeCommandsBuilds() async throws {
        let cert = "/usr/local/demisto/cert.pem"
        #expect(try await run(NodeCommands.sha256(cert).shell).stdoutText.hasPrefix(SHA256.hex(FakePKI.chain("old"))))
        #expect(try await run(NodeCommands.userExists("demisto").shell).succeeded)
        host.groups.remove("demisto")
        #expect(try await run(NodeCommands.groupExists("demisto").shell).exitStatus == 2)
        #expect(CommandOutput.freeBytes(try await run(NodeCommands.freeSpace("/usr/local/demisto").shell)) == 10_000_000 * 1024)
        let lock = LockRecord(runID: "R1", controller: "ctl", user: "ops", started: "2026-01-01T00:00:00Z")
        #expect(try await run(commands.takeLock(lock).shell).succeeded)
        #expect(host.file(commands.lockPath)?.data == Data((lock.json + "\n").utf8))
        #expect(try await run(commands.takeLock(lock).shell).exitStatus == 1, "noclobber: the lock is there")
        try await host.makeDirectory(commands.backupDirectory(runID: "R1"), mode: 0o700)
        let backup = commands.backupPath(role: "cert", of: cert, runID: "R1")
        #expect(try await run(NodeCommands.copyPreserving(cert, to: backup).shell).succeeded)
        #expect(CommandOutput.sha256s(try await run(NodeCommands.sha256([cert, backup]).shell), count: 2).allSatisfy { $0 != nil })
    }

    @Test func refusesLookAlikes() async throws {
        for shell in ["sha256sum  -- /usr/local/demisto/cert.pem", "sha256sum /usr/local/demisto/cert.pem",
                      "getent passwd 'demisto' x", "cp -p /usr/local/demisto/cert.pem /tmp/x",
                      #"mkdir -p -m 0700 -- /var/lib/certroll && (printf '%s\n' '{"controller":"c","runID":"R","started":"s","user":"u"}' > /var/lib/certroll/lock)"#] {
            #expect(try await run(shell).exitStatus == 127, "\(shell)")
        }
        #expect(host.file(commands.lockPath) == nil)
    }
}
