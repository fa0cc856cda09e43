import CertrollCore
import Foundation
import Testing

@testable import CertrollSSH

#if canImport(Glibc)
    import Glibc
#endif

/// What a watcher saw of a file while it was being written.
final class StatWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [(mode: UInt32, size: Int)] = []
    private var running = true
    private let thread: Thread

    init(path: String) {
        let box = Box()
        thread = Thread {
            while box.watcher?.isRunning ?? false {
                var st = stat()
                if lstat(path, &st) == 0 { box.watcher?.record(UInt32(st.st_mode) & 0o7777, Int(st.st_size)) }
            }
        }
        box.watcher = self
        thread.start()
    }

    private final class Box: @unchecked Sendable { weak var watcher: StatWatcher? }

    var isRunning: Bool { lock.withLock { running } }
    func record(_ mode: UInt32, _ size: Int) { lock.withLock { seen.append((mode, size)) } }
    func stop() -> [(mode: UInt32, size: Int)] {
        lock.withLock { running = false }
        usleep(10_000)
        return lock.withLock { seen }
    }
}

func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

/// SFTP file operations as root, against a real sshd.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: rootOnly)))
struct FileTests {
    let keys = SSHTestKeys.shared

    @Test func fiveMegabyteUploadArrivesIntactAndIsNeverReadableByOthers() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts)
        let dir = try sh("mktemp -d /tmp/crssh-up.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        var rng = SystemRandomNumberGenerator()
        let payload = Data((0..<(5 * 1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        for (index, path) in [dir + "/cert.key", dir + "/existing.key"].enumerated() {
            if index == 1 { try sh("echo old > \(path) && chmod 644 \(path)") }
            let watcher = StatWatcher(path: path)
            let started = ContinuousClock.now
            try await host.writeFile(path, contents: payload, mode: 0o640, owner: keys.nopwUser, group: keys.nopwUser)
            let elapsed = ContinuousClock.now - started
            let seen = watcher.stop()
            print("5 MB upload: \(elapsed), \(seen.count) stat samples")
            #expect(seen.count > 10)
            // The old 4-byte file may be seen at 0644 before the upload opens it; once
            // any new byte is there, the file is never readable by others.
            let ours = index == 0 ? seen : seen.filter { $0.size > 4 }
            #expect(ours.allSatisfy { $0.mode & 0o007 == 0 }, "readable by others at some moment: \(Set(ours.map(\.mode)))")
            #expect(seen.filter { $0.size > 4 && $0.size < payload.count }.allSatisfy { $0.mode == 0o600 })
            let remoteSum = try await host.run(RemoteCommand("sha256sum \(path)"), stdin: nil, timeout: .seconds(10)).stdoutText
            #expect(remoteSum.hasPrefix(hex(Digest.sha256([UInt8](payload)))))
            let st = try await host.stat(path)
            #expect(st == RemoteFileStat(size: UInt64(payload.count), mode: 0o640, owner: keys.nopwUser, group: keys.nopwUser))
            #expect(try await host.readFile(path) == payload)
        }
        await host.close()
    }

    /// Counted by the SFTP server's own debug log: before the buffer was sized from
    /// the file, libssh2 sent ~36 READ requests for a 2 KB file.
    @Test func aSmallFileCostsAtMostTwoReadRequestsAndALargeOneArrivesWhole() async throws {
        let log = try sh("mktemp /tmp/crssh-sftp-log.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let sshd = try TestSSHD(sftpSubsystem: "/usr/lib/openssh/sftp-server -e -l DEBUG1 2>>\(log)")
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts)
        let dir = try sh("mktemp -d /tmp/crssh-read.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SystemRandomNumberGenerator()
        let small = Data((0..<2300).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let large = Data((0..<(700 * 1024)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try small.write(to: URL(fileURLWithPath: dir + "/cert.pem"))
        try large.write(to: URL(fileURLWithPath: dir + "/large.bin"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty"))

        func reads(of name: String) throws -> Int {
            // The server's log on stderr ends its lines with CRLF.
            try String(contentsOfFile: log, encoding: .utf8).split(whereSeparator: \.isNewline)
                .filter { $0.contains(": read \"\(dir)/\(name)\"") }.count
        }
        #expect(try await host.readFile(dir + "/cert.pem") == small)
        #expect(try await host.readFile(dir + "/empty") == Data())
        #expect(try await host.readFile(dir + "/large.bin") == large)
        await host.close()
        #expect(try reads(of: "cert.pem") >= 1)
        #expect(try reads(of: "cert.pem") <= 2)
        #expect(try reads(of: "empty") <= 2)
        let largeReads = try reads(of: "large.bin")
        #expect(largeReads > 2, "a large file still streams in several requests (\(largeReads))")
    }

    /// Writing a file as an owner looks the owner's ids and root's up in one
    /// command; reading back the attributes of files of either needs no other.
    @Test func oneLookupNamesTheOwnerAndRootBothWays() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let log = CapturedLog()
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts, logger: log.logger)
        let base = "/tmp/crssh-ids-\(UUID().uuidString.prefix(8))"
        try sh("mkdir -p \(base)")
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await host.writeFile(base + "/cert.pem", contents: Data("x".utf8), mode: 0o644, owner: "nobody", group: "nogroup")
        let st = try await host.stat(base + "/cert.pem")
        #expect(st?.owner == "nobody" && st?.group == "nogroup")
        try sh("echo '{}' > \(base)/demisto.conf && chown 0:0 \(base)/demisto.conf")
        let conf = try await host.stat(base + "/demisto.conf")
        #expect(conf?.owner == "root" && conf?.group == "root")
        var ran = log.text.split(separator: "\n").filter { $0.contains("ran") }
        #expect(ran.filter { $0.contains("getent") }.count == 1, "\(ran)")
        // An id with no name is shown as its number, and looked up once.
        try sh("touch \(base)/orphan && chown 54321:54321 \(base)/orphan")
        for _ in 0..<2 {
            let orphan = try await host.stat(base + "/orphan")
            #expect(orphan?.owner == "54321" && orphan?.group == "54321")
        }
        ran = log.text.split(separator: "\n").filter { $0.contains("ran") }
        #expect(ran.filter { $0.contains("getent") }.count == 2, "\(ran)")
        let error = await #expect(throws: SSHError.self) {
            try await host.writeFile(base + "/x", contents: Data(), mode: 0o600, owner: "no-such-user-\(getpid())", group: "root")
        }
        #expect(error?.description.contains("user no-such-user-\(getpid()) does not exist") == true, "\(String(describing: error))")
        await host.close()
    }

    @Test func directoriesRenameRemoveStat() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-a", settings: testSettings(sshd), timeouts: testTimeouts)
        let base = "/tmp/crssh-ops-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await host.makeDirectory(base + "/backups/run-1", mode: 0o700)
        try await host.makeDirectory(base + "/backups/run-1", mode: 0o700)
        let dirStat = try await host.stat(base + "/backups/run-1")
        #expect(dirStat?.isDirectory == true)
        #expect(dirStat?.mode == 0o700)
        #expect(dirStat?.owner == "root")
        try await host.writeFile(base + "/a", contents: Data("new".utf8), mode: 0o644, owner: "root", group: "root")
        try await host.writeFile(base + "/b", contents: Data("old".utf8), mode: 0o600, owner: "root", group: "root")
        try await host.rename(base + "/a", to: base + "/b")
        #expect(try await host.readFile(base + "/b") == Data("new".utf8))
        #expect(try await host.stat(base + "/a") == nil)
        #expect(try await host.stat(base + "/b")?.mode == 0o644)
        try await host.remove(base + "/b")
        try await host.remove(base + "/b")
        #expect(try await host.stat(base + "/b") == nil)
        let error = await #expect(throws: SSHError.self) { _ = try await host.readFile(base + "/missing") }
        #expect(error?.code == .sftp)
        #expect(error?.description.hasPrefix("node node-a: ") == true)
        #expect(error?.description.contains("no such file") == true)
        await host.close()
    }
}

/// The read buffer's size, without a server.
struct ReadBufferSizeTests {
    @Test func followsTheFileBetweenOneAndTwoHundredFiftySixKiB() {
        #expect(SFTPFile.readBufferSize(forFileSize: 0) == 1024)
        #expect(SFTPFile.readBufferSize(forFileSize: 2300) == 2300)
        #expect(SFTPFile.readBufferSize(forFileSize: 5 << 20) == 256 * 1024)
    }
}
