import CertrollCore
import Foundation
import Testing

@testable import CertrollSSH

/// Host key policy against a real sshd: strict, accept-new, re-keyed, hashed entries.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: rootOnly)))
struct HostKeyTests {
    let keys = SSHTestKeys.shared
    let unrelated = "other.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

    func fingerprint(_ pubFile: String) throws -> String {
        String(try sh("ssh-keygen -l -E sha256 -f \(pubFile)").split(separator: " ")[1])
    }

    @Test func strictRefusesAnUnknownKeyAndNeverWrites() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let file = try sshd.writeKnownHosts([unrelated])
        let before = try Data(contentsOf: URL(fileURLWithPath: file))
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-new", settings: testSettings(sshd, knownHosts: file), timeouts: testTimeouts)
        }
        #expect(error?.code == .hostKey)
        #expect(error?.description.contains(try fingerprint(keys.hostKey + ".pub")) == true)
        #expect(error?.description.contains("accept-new") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == before)
    }

    @Test func acceptNewAddsExactlyOneLineOnce() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let file = try sshd.writeKnownHosts([unrelated])
        var settings = try testSettings(sshd, knownHosts: file)
        settings.hostKeyPolicy = .acceptNew
        for _ in 0..<2 {
            let host = try await SSHHost.connect(name: "node-new", settings: settings, timeouts: testTimeouts)
            await host.close()
        }
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == [unrelated, try sshd.knownHostsLine()])
        // strict now accepts what accept-new recorded.
        settings.hostKeyPolicy = .strict
        let host = try await SSHHost.connect(name: "node-new", settings: settings, timeouts: testTimeouts)
        await host.close()
    }

    @Test func acceptNewCreatesAMissingFile0600() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let file = sshd.dir + "/sub/known_hosts"
        var settings = try testSettings(sshd, knownHosts: file)
        settings.hostKeyPolicy = .acceptNew
        let host = try await SSHHost.connect(name: "node-new", settings: settings, timeouts: testTimeouts)
        await host.close()
        #expect(try String(contentsOfFile: file, encoding: .utf8) == (try sshd.knownHostsLine()) + "\n")
        let attrs = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test(arguments: [HostKeyPolicy.strict, .acceptNew])
    func aReKeyedNodeIsRefused(policy: HostKeyPolicy) async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let file = try sshd.writeKnownHosts(["# fleet", try sshd.knownHostsLine(hostKey: keys.otherHostKey)])
        let before = try Data(contentsOf: URL(fileURLWithPath: file))
        var settings = try testSettings(sshd, knownHosts: file)
        settings.hostKeyPolicy = policy
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHHost.connect(name: "node-b", settings: settings, timeouts: testTimeouts)
        }
        #expect(error?.code == .hostKey)
        let text = error?.description ?? ""
        #expect(text.hasPrefix("node node-b: the host key of [127.0.0.1]:\(sshd.port) has CHANGED"))
        #expect(text.contains(try fingerprint(keys.hostKey + ".pub")))
        #expect(text.contains("\(file):2"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == before)
    }

    @Test func hashedEntryIsRecognised() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let file = try sshd.writeKnownHosts([unrelated, try sshd.knownHostsLine()])
        try sh("ssh-keygen -q -H -f \(file) && rm -f \(file).old")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("|1|"))
        let host = try await SSHHost.connect(name: "node-h", settings: testSettings(sshd, knownHosts: file), timeouts: testTimeouts)
        await host.close()
    }
}

/// known_hosts parsing and digests, no server needed.
@Suite struct KnownHostsUnitTests {
    @Test func digestsMatchKnownVectors() {
        #expect(hex(Digest.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(Digest.sha256([UInt8](repeating: 0x61, count: 1_000))) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(hex(Digest.hmacSHA1(key: Array("key".utf8), message: Array("The quick brown fox jumps over the lazy dog".utf8)))
                == "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9")
    }

    @Test func patternsPortsAndNegation() {
        #expect(KnownHosts.matches("a.example.com,b.example.com", "b.example.com"))
        #expect(KnownHosts.matches("*.example.com,!bad.example.com", "ok.example.com"))
        #expect(!KnownHosts.matches("*.example.com,!bad.example.com", "bad.example.com"))
        #expect(KnownHosts.matches("[10.0.0.?]:2222", "[10.0.0.5]:2222"))
        #expect(!KnownHosts.matches("node", "[node]:2222"))
        #expect(KnownHosts.hostToken(host: "node", port: 22) == "node")
        #expect(KnownHosts.hostToken(host: "node", port: 2222) == "[node]:2222")
    }

    @Test func verdicts() {
        let a: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [1, 2, 3]
        let b: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [4, 5, 6]
        let b64 = { (x: [UInt8]) in Data(x).base64EncodedString() }
        let file = KnownHosts(displayPath: "kh", path: "kh", entries: KnownHosts.parse("""
            # comment
            @cert-authority *.example.com ssh-ed25519 \(b64(b))
            node ssh-ed25519 \(b64(a))
            @revoked * ssh-ed25519 \(b64(b))
            """))
        #expect(file.verify(host: "node", port: 22, keyType: "ssh-ed25519", blob: a) == .known(line: 3))
        #expect(file.verify(host: "node", port: 22, keyType: "ssh-ed25519", blob: b) == .revoked(line: 4))
        #expect(file.verify(host: "node", port: 2222, keyType: "ssh-ed25519", blob: a) == .unknown)
        #expect(file.keyTypes(host: "node", port: 22) == ["ssh-ed25519"])
        #expect(KnownHosts.keyType(ofBlob: a) == "ssh-ed25519")
        #expect(KnownHosts.hostKeyPreference(recordedTypes: ["ssh-rsa"]) == "rsa-sha2-512,rsa-sha2-256,ssh-rsa")
    }
}
