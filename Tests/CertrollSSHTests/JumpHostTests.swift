import CertrollCore
import Foundation
import Testing

@testable import CertrollSSH

#if canImport(Glibc)
    import Glibc
#endif

/// Nodes behind jump hosts, all real sshd on 127.0.0.1: a second (and third)
/// sshd serves as the bastion, and the node is reached by a direct-tcpip
/// channel through it.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: rootOnly)))
struct JumpHostTests {
    let keys = SSHTestKeys.shared

    /// A node's settings with `hops` in front, and a known_hosts with every host key.
    func settings(node: TestSSHD, hops: [TestSSHD], hopKeys: [String]? = nil) throws -> SSHSettings {
        let lines = try [node.knownHostsLine()] + zip(hops, hopKeys ?? hops.map { _ in keys.hostKey }).map { try $0.knownHostsLine(hostKey: $1) }
        var settings = try testSettings(node, knownHosts: node.writeKnownHosts(lines))
        settings.proxyJump = hops.enumerated().map { index, hop in
            JumpHost(name: "jump\(index + 1)", hostName: hop.address, user: "root", port: hop.port, identity: keys.ed25519)
        }
        return settings
    }

    func acceptedLogins(_ sshd: TestSSHD) -> Int {
        let log = (try? String(contentsOfFile: sshd.dir + "/sshd.log", encoding: .utf8)) ?? ""
        return log.components(separatedBy: "Accepted ").count - 1
    }

    @Test func nodesBehindOneJumpHostShareOneLoginToIt() async throws {
        let node = try TestSSHD()
        defer { node.stop() }
        let jump = try TestSSHD(extra: ["LogLevel INFO"])
        defer { jump.stop() }
        let jumps = JumpHosts()
        let settings = try settings(node: node, hops: [jump])
        let results = await Fleet.forEachNode(Array(0..<6), parallel: 6) { i in
            let host = try await SSHHost.connect(name: "node-\(i)", settings: settings, timeouts: testTimeouts, jumps: jumps)
            let small = try await host.run(RemoteCommand("echo hi-\(i)"), stdin: nil, timeout: .seconds(20))
            // Both directions at once, larger than the relay's buffers and the channel window.
            let big = try await host.run(RemoteCommand("cat; head -c 3000000 /dev/zero | tr '\\\\0' e >&2"),
                                         stdin: Secret(String(repeating: "x", count: 2_000_000)), timeout: .seconds(60))
            await host.close()
            return (small.stdoutText, big.stdout.count, big.stderr.count)
        }
        for (i, result) in results.enumerated() {
            let (text, out, err) = try result.get()
            #expect(text == "hi-\(i)\n")
            #expect(out == 2_000_000)
            #expect(err == 3_000_000)
        }
        #expect(jumps.logins == 1)
        #expect(acceptedLogins(jump) == 1, "one login to the jump host for six nodes")

        // Any port behind the jump host: here the node's sshd answers with its banner.
        let fd = try #require(try SSHRoute.tunnel(to: node.port, of: settings, node: "node-t", secrets: SSHSecrets(), jumps: jumps))
        defer { close(fd) }
        var banner = [UInt8](repeating: 0, count: 64)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 10_000)
        let n = recv(fd, &banner, banner.count, 0)
        #expect(n > 0 && String(decoding: banner[0..<max(0, n)], as: UTF8.self).hasPrefix("SSH-2.0-"))
    }

    @Test func twoHops() async throws {
        let node = try TestSSHD()
        defer { node.stop() }
        let first = try TestSSHD(extra: ["LogLevel INFO"])
        defer { first.stop() }
        let second = try TestSSHD(extra: ["LogLevel INFO"])
        defer { second.stop() }
        let jumps = JumpHosts()
        let settings = try settings(node: node, hops: [first, second])
        for i in 0..<2 {
            let host = try await SSHHost.connect(name: "node-\(i)", settings: settings, timeouts: testTimeouts, jumps: jumps)
            #expect(try await host.run(RemoteCommand("echo two"), stdin: nil, timeout: .seconds(20)).stdoutText == "two\n")
            await host.close()
        }
        #expect(jumps.logins == 2)
        #expect(acceptedLogins(first) == 1)
        #expect(acceptedLogins(second) == 1)
    }

    @Test func aChangedJumpHostKeyIsRefusedNamingTheBastion() async throws {
        let node = try TestSSHD()
        defer { node.stop() }
        let jump = try TestSSHD()
        defer { jump.stop() }
        let settings = try settings(node: node, hops: [jump], hopKeys: [keys.otherHostKey])
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-a", settings: settings, timeouts: testTimeouts, jumps: JumpHosts())
        }
        #expect(error?.code == .hostKey)
        #expect(error?.subject == .bastion)
        #expect(error?.description.hasPrefix("bastion jump1: the host key of [127.0.0.1]:\(jump.port) has CHANGED") == true,
                "\(error.map(String.init(describing:)) ?? "-")")
    }

    @Test func anUnreachableJumpHostIsAConnectErrorNamingIt() async throws {
        let node = try TestSSHD()
        defer { node.stop() }
        let jump = try TestSSHD()
        let settings = try settings(node: node, hops: [jump])
        jump.stop()
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-a", settings: settings, timeouts: testTimeouts, jumps: JumpHosts())
        }
        #expect(error?.code == .connect)
        #expect(error?.description.hasPrefix("bastion jump1: cannot connect") == true, "\(error.map(String.init(describing:)) ?? "-")")
    }

    @Test func aJumpHostThatDiesEndsTheNodesCallsAndALaterCallLogsInAgain() async throws {
        let node = try TestSSHD()
        defer { node.stop() }
        let jump = try TestSSHD()
        let jumps = JumpHosts()
        let settings = try settings(node: node, hops: [jump])
        let host = try await SSHHost.connect(name: "node-a", settings: settings, timeouts: testTimeouts, jumps: jumps)
        let call = Task { try await host.run(RemoteCommand("sleep 600"), stdin: nil, timeout: .seconds(120)) }
        try await Task.sleep(for: .milliseconds(500))
        jump.stop()
        let error = await #expect(throws: SSHError.self) { _ = try await call.value }
        // The lost link ended it (not the 120 s timeout, not the 600 s command).
        #expect(error?.code == .connect)
        let again = await #expect(throws: SSHError.self) {
            _ = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(10))
        }
        #expect(again?.subject == .bastion, "\(again.map(String.init(describing:)) ?? "-")")
        #expect(jumps.logins == 2, "the dead session was replaced by a new login attempt")
        await host.close()
    }

    @Test func proxyCommandCarriesTheSession() async throws {
        let node = try TestSSHD()
        defer { node.stop() }
        let jump = try TestSSHD(extra: ["LogLevel INFO"])
        defer { jump.stop() }
        var settings = try testSettings(node)
        let known = try node.writeKnownHosts([try node.knownHostsLine(), try jump.knownHostsLine()])
        settings.knownHosts = known
        // As a user would write it in ssh_config: the OpenSSH client through the jump host.
        settings.proxyCommand = "exec ssh -F /dev/null -i \(keys.ed25519) -o IdentitiesOnly=yes -o BatchMode=yes "
            + "-o UserKnownHostsFile=\(known) -p \(jump.port) -W %h:%p %r@\(jump.address)"
        let host = try await SSHHost.connect(name: "node-p", settings: settings, timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("echo proxied"), stdin: nil, timeout: .seconds(20)).stdoutText == "proxied\n")
        await host.close()
        #expect(acceptedLogins(jump) == 1)
        #expect(ProxyCommand.expand("a %h %p %r %% %x%", host: "h", port: 2, user: "u") == "a h 2 u % %x%")
    }
}
