import CertrollCore
import Foundation
import Logging
import CertrollTestKit
import Testing

@testable import CertrollSSH

/// Collects every log line (message and metadata) so tests can search them for secrets.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }
}

/// A non-root login with `become: sudo`, with and without a sudo password.
@Suite(.serialized, .enabled(if: isRoot && FileManager.default.fileExists(atPath: "/usr/bin/sudo"),
                            Comment(rawValue: rootOnly + ", and /usr/bin/sudo")))
struct SudoTests {
    let keys = SSHTestKeys.shared

    @Test func sudoWithPasswordKeepsThePasswordOutOfArgvAndLogs() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        var settings = try testSettings(sshd, user: keys.sudoUser)
        settings.become = .sudo
        let secrets = SSHSecrets(becomePassword: Secret(keys.userPassword))
        let log = CapturedLog()
        let watcher = ArgvSampler(secrets: [keys.userPassword])
        let host = try await SSHHost.connect(name: "node-s", settings: settings, secrets: secrets, timeouts: testTimeouts, logger: log.logger)
        let whoami = try await host.run(RemoteCommand("id -u; sleep 1"), stdin: nil, timeout: .seconds(10))
        let (hits, samples) = watcher.stop()
        #expect(whoami.stdoutText == "0\n")
        #expect(whoami.stderrText == "")
        #expect(samples > 5)
        #expect(hits.isEmpty, "password seen in argv: \(hits)")
        // The caller's stdin reaches the command; the password line never does.
        let echoed = try await host.run(RemoteCommand("cat"), stdin: Secret("payload"), timeout: .seconds(10))
        #expect(echoed.stdoutText == "payload")
        #expect(!log.text.contains(keys.userPassword))
        #expect(log.text.contains("id -u; sleep 1"))
        try await fileOperationsThroughSudo(host)
        await host.close()
    }

    @Test func sudoWithoutPassword() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        var settings = try testSettings(sshd, user: keys.nopwUser)
        settings.become = .sudo
        let secrets = SSHSecrets()
        let host = try await SSHHost.connect(name: "node-n", settings: settings, secrets: secrets, timeouts: testTimeouts)
        #expect(try await host.run(RemoteCommand("id -u"), stdin: nil, timeout: .seconds(10)).stdoutText == "0\n")
        try await fileOperationsThroughSudo(host)
        await host.close()
    }

    @Test func sudoThatNeedsAMissingOrWrongPasswordIsExplained() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        var settings = try testSettings(sshd, user: keys.sudoUser)
        settings.become = .sudo
        var secrets = SSHSecrets()
        let host = try await SSHHost.connect(name: "node-s", settings: settings, secrets: secrets, timeouts: testTimeouts)
        let missing = await #expect(throws: SSHError.self) {
            _ = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(10))
        }
        #expect(missing?.code == .become)
        #expect(missing?.description.contains("--become-password-file") == true)
        await host.close()

        secrets.becomePassword = Secret("not-the-password")
        let wrongHost = try await SSHHost.connect(name: "node-s", settings: settings, secrets: secrets, timeouts: testTimeouts)
        let wrong = await #expect(throws: SSHError.self) {
            _ = try await wrongHost.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(10))
        }
        #expect(wrong?.code == .become)
        #expect(wrong?.description.contains("not-the-password") == false)
        await wrongHost.close()
    }

    /// Upload through the private staging folder + sudo install; owner, mode and content land exactly.
    func fileOperationsThroughSudo(_ host: SSHHost) async throws {
        let base = "/tmp/crssh-sudo-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await host.makeDirectory(base + "/work", mode: 0o700)
        #expect(try await host.stat(base + "/work") == RemoteFileStat(size: 4096, mode: 0o700, owner: "root", group: "root", isDirectory: true))
        let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try await host.writeFile(base + "/work/cert.key.new", contents: payload, mode: 0o640, owner: keys.nopwUser, group: "root")
        #expect(try await host.stat(base + "/work/cert.key.new")
                == RemoteFileStat(size: UInt64(payload.count), mode: 0o640, owner: keys.nopwUser, group: "root"))
        try await host.rename(base + "/work/cert.key.new", to: base + "/work/cert.key")
        #expect(try await host.readFile(base + "/work/cert.key") == payload)
        var st = stat()
        #expect(lstat(base + "/work/cert.key", &st) == 0 && st.st_mode & 0o7777 == 0o640 && st.st_gid == 0)
        try await host.remove(base + "/work/cert.key")
        try await host.remove(base + "/work/cert.key")
        #expect(try await host.stat(base + "/work/cert.key") == nil)
    }
}
