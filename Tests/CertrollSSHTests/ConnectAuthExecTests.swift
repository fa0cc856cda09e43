import CertrollCore
import Foundation
import Testing

@testable import CertrollSSH

/// Against a real sshd on 127.0.0.1: each auth method, RSA refusal, exec streams.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: rootOnly)))
struct ConnectAuthExecTests {
    let keys = SSHTestKeys.shared

    @Test func ed25519KeyAndExactExecResults() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts)
        let r = try await host.run(RemoteCommand("printf out; printf err >&2; exit 3"), stdin: nil, timeout: .seconds(10))
        #expect(r.exitStatus == 3)
        #expect(r.signal == nil)
        #expect(r.stdoutText == "out")
        #expect(r.stderrText == "err")
        let ok = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(10))
        #expect(ok.succeeded)
        let killed = try await host.run(RemoteCommand("kill -KILL $$"), stdin: nil, timeout: .seconds(10))
        #expect(killed.signal == "KILL")
        #expect(!killed.succeeded)
        let echoed = try await host.run(RemoteCommand("cat"), stdin: Secret("from stdin"), timeout: .seconds(10))
        #expect(echoed.stdoutText == "from stdin")
        await host.close()
    }

    @Test func encryptedKeyWithPassphraseAndWrongPassphrase() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let settings = try testSettings(sshd, identity: keys.ed25519Encrypted)
        var secrets = SSHSecrets(keyPassphrase: Secret(keys.keyPassphrase))
        let host = try await SSHHost.connect(name: "node-a", settings: settings, secrets: secrets, timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("echo hi"), stdin: nil, timeout: .seconds(5)).stdoutText == "hi\n")
        await host.close()

        secrets.keyPassphrase = Secret("wrong")
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-a", settings: settings, secrets: secrets, timeouts: testTimeouts)
        }
        #expect(error?.code == .auth)
        #expect(error?.description.contains("wrong passphrase") == true)
        #expect(error?.description.contains("wrong\"") == false)

        secrets.keyPassphrase = nil
        let missing = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-a", settings: settings, secrets: secrets, timeouts: testTimeouts)
        }
        // The SSH identity's own option, not the TLS key's --key-passphrase-file.
        #expect(missing?.description.contains("--ssh-key-passphrase-file or CERTROLL_SSH_KEY_PASSPHRASE") == true)
        #expect(missing?.description.contains(" --key-passphrase-file") == false)
    }

    @Test func ecdsaKey() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd, identity: keys.ecdsa), timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("id -u"), stdin: nil, timeout: .seconds(5)).stdoutText == "0\n")
        await host.close()
    }

    @Test func sshAgent() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let socket = sshd.dir + "/agent.sock"
        let agent = try spawn(["/usr/bin/ssh-agent", "-D", "-a", socket])
        defer { stopProcess(agent) }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        try sh("SSH_AUTH_SOCK=\(socket) ssh-add -q \(keys.ecdsa)")
        setenv("SSH_AUTH_SOCK", socket, 1)
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd, identity: nil), timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("echo agent"), stdin: nil, timeout: .seconds(5)).stdoutText == "agent\n")
        await host.close()
    }

    @Test func passwordLogin() async throws {
        let sshd = try TestSSHD(extra: ["KbdInteractiveAuthentication no"])
        defer { sshd.stop() }
        let settings = try testSettings(sshd, user: keys.sudoUser, identity: nil)
        var secrets = SSHSecrets(password: Secret(keys.userPassword))
        let host = try await SSHHost.connect(name: "node-a", settings: settings, secrets: secrets, timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("id -un"), stdin: nil, timeout: .seconds(5)).stdoutText == "\(keys.sudoUser)\n")
        await host.close()

        secrets.password = Secret("not-it")
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-a", settings: settings, secrets: secrets, timeouts: testTimeouts)
        }
        #expect(error?.code == .auth)
        #expect(error?.description.contains("not-it") == false)
    }

    @Test func keyboardInteractiveLogin() async throws {
        let sshd = try TestSSHD(extra: ["PasswordAuthentication no"])
        defer { sshd.stop() }
        let settings = try testSettings(sshd, user: keys.sudoUser, identity: nil)
        let secrets = SSHSecrets(password: Secret(keys.userPassword))
        let host = try await SSHHost.connect(name: "node-a", settings: settings, secrets: secrets, timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("id -un"), stdin: nil, timeout: .seconds(5)).stdoutText == "\(keys.sudoUser)\n")
        await host.close()
    }

    @Test func rsaKeyIsRefusedWithTheSHA1Explanation() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-rsa", settings: testSettings(sshd, identity: keys.rsa), timeouts: testTimeouts)
        }
        #expect(error?.code == .auth)
        let text = error?.description ?? ""
        #expect(text.hasPrefix("node node-rsa: "))
        #expect(text.contains("SHA-1"))
        #expect(text.contains("ssh-keygen -t ed25519"))
    }

    @Test func tenMegabytesOnBothStreamsAtOnce() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts)
        let size = 10 * 1024 * 1024
        let started = ContinuousClock.now
        let r = try await host.run(
            RemoteCommand("head -c \(size) /dev/zero | tr '\\0' o & head -c \(size) /dev/zero | tr '\\0' e >&2 & wait"),
            stdin: nil, timeout: .seconds(60))
        print("10 MB on stdout and stderr at once: \(ContinuousClock.now - started)")
        #expect(r.exitStatus == 0)
        #expect(r.stdout.count == size)
        #expect(r.stderr.count == size)
        #expect(r.stdout.allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(r.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
        await host.close()
    }

    @Test func unreachablePortIsAConnectError() async throws {
        let sshd = try TestSSHD()
        var settings = try testSettings(sshd)
        sshd.stop()
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-down", settings: settings, timeouts: testTimeouts)
        }
        #expect(error?.code == .connect)
        #expect(error?.description.hasPrefix("node node-down: cannot connect") == true)
        settings.hostName = "no-such-host.invalid"
        let unresolvable = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-x", settings: settings, timeouts: testTimeouts)
        }
        #expect(unresolvable?.code == .resolve)
    }
}
