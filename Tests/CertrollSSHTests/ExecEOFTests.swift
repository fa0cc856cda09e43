import CertrollCore
import Foundation
import Testing

@testable import CertrollSSH

/// Found by the crash sweep on the sandbox: about one silent command in a few
/// thousand (`mkdir … && printf … > lock`, `service … status`) ran on the
/// node but the call waited out its whole timeout. The stderr read had taken
/// the channel's EOF off the socket, EOF did not count as progress, and the
/// loop polled a socket with nothing more to come (libssh2 1.10 returns 0 from
/// a read once EOF was drained for the channel). A guard, not a reproduction:
/// on loopback the packets rarely arrive in that order (3000 commands did not
/// hit it without the fix); the sandbox crash sweep did, twice in ~8000.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: rootOnly)))
struct ExecEOFTests {
    @Test func manySilentCommandsNeverWaitForTheTimeout() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts)
        // A call that misses its EOF waits out its whole timeout and throws `.timeout`; one
        // that sees it returns in milliseconds. Half the timeout separates the two cases
        // by a margin no load on the machine reaches.
        let timeout = Duration.seconds(30)
        for i in 0..<400 {
            let started = ContinuousClock.now
            let r = try await host.run(RemoteCommand(i % 2 == 0 ? "true" : "echo x >/dev/null"), stdin: nil, timeout: timeout)
            #expect(r.succeeded)
            #expect(ContinuousClock.now - started < timeout / 2, "command \(i) waited for its timeout")
        }
        await host.close()
    }
}
