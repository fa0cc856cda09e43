import CertrollCore
import CertrollTestKit
import Foundation
import Testing

@testable import CertrollSSH

#if canImport(Glibc)
    import Glibc
#endif

/// True when the integration tests can run (they start sshd, create users, netns).
let isRoot = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
let rootOnly = "integration tests need root and /usr/sbin/sshd: they start a real sshd and create test users"

/// Runs `sh -c command` to completion (posix_spawn: Foundation's Process hangs
/// in waitUntilExit while another Process child is alive); returns stdout.
/// Throws on non-zero exit.
@discardableResult
func sh(_ command: String, stdin: String? = nil) throws -> String {
    let dir = NSTemporaryDirectory() + "crssh-sh-\(UUID().uuidString)"
    let input = dir + ".in", output = dir + ".out", errors = dir + ".err"
    defer { for f in [input, output, errors] { unlink(f) } }
    try (stdin ?? "").write(toFile: input, atomically: false, encoding: .utf8)
    let pid = try spawn(["/bin/sh", "-c", "{ \(command)\n} <\(input) >\(output) 2>\(errors)"])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let out = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    guard status == 0 else {
        let err = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        throw FixtureError("`\(command)` exited \(status >> 8): \(err)")
    }
    return out
}

/// Starts a program; returns its pid. The caller kills and reaps it by pid.
func spawn(_ argv: [String]) throws -> pid_t {
    var pid: pid_t = 0
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    // The calling (dispatch) thread blocks signals; give the child a clean mask
    // and default handlers so SIGTERM stops it.
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &empty)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let rc = posix_spawn(&pid, argv[0], nil, &attr, &cArgs, environ)
    guard rc == 0 else { throw FixtureError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    return pid
}

/// Kills `pid` and reaps it.
func stopProcess(_ pid: pid_t, signal: Int32 = SIGTERM) {
    kill(pid, signal)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Client keys, host keys and test users, made once per test process.
final class SSHTestKeys: Sendable {
    static let shared: SSHTestKeys = {
        do { return try SSHTestKeys() } catch { fatalError("cannot make test keys: \(error)") }
    }()

    let dir: String
    let ed25519: String
    let ed25519Encrypted: String
    let ecdsa: String
    let rsa: String
    let keyPassphrase = "correct horse battery"
    let hostKey: String
    let otherHostKey: String
    /// A user whose sudo asks for a password (also used for password/keyboard-interactive login).
    let sudoUser = "crssh-sudo"
    /// A user with NOPASSWD sudo.
    let nopwUser = "crssh-nopw"
    let userPassword: String

    private init() throws {
        dir = try Scratch.directory("ssh-keys").path
        chmod(dir, 0o755)
        ed25519 = dir + "/id_ed25519"
        ed25519Encrypted = dir + "/id_ed25519_enc"
        ecdsa = dir + "/id_ecdsa"
        rsa = dir + "/id_rsa"
        hostKey = dir + "/host_ed25519"
        otherHostKey = dir + "/host_ed25519_other"
        try sh("ssh-keygen -q -t ed25519 -N '' -f \(ed25519)")
        try sh("ssh-keygen -q -t ed25519 -N '\(keyPassphrase)' -f \(ed25519Encrypted)")
        try sh("ssh-keygen -q -t ecdsa -b 256 -N '' -f \(ecdsa)")
        try sh("ssh-keygen -q -t rsa -b 2048 -N '' -f \(rsa)")
        try sh("ssh-keygen -q -t ed25519 -N '' -f \(hostKey)")
        try sh("ssh-keygen -q -t ed25519 -N '' -f \(otherHostKey)")
        try sh("cat \(ed25519).pub \(ed25519Encrypted).pub \(ecdsa).pub \(rsa).pub > \(dir)/authorized_keys && chmod 644 \(dir)/authorized_keys")
        userPassword = "pw-" + UUID().uuidString.prefix(12)
        // Idempotent: create when missing, (re)set password and sudoers every run.
        for user in [sudoUser, nopwUser] {
            try sh("id -u \(user) >/dev/null 2>&1 || useradd -m -s /bin/sh \(user)")
        }
        try sh("chpasswd", stdin: "\(sudoUser):\(userPassword)\n\(nopwUser):\(userPassword)\n")
        try sh("""
            printf '%s\\n' '\(sudoUser) ALL=(ALL) ALL' '\(nopwUser) ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/crssh-test \
            && chmod 440 /etc/sudoers.d/crssh-test
            """)
    }

    func publicKey(_ path: String) throws -> String {
        try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A real `/usr/sbin/sshd -D` on a free port, killed by pid in `stop()`.
final class TestSSHD: @unchecked Sendable {
    let dir: String
    let address: String
    let port: Int
    let pid: pid_t
    private let netns: String?
    private var stopped = false

    /// - Parameters:
    ///   - extra: sshd_config lines appended (they win over the defaults only where sshd lets later lines win; put them first).
    ///   - netns: run inside this network namespace (`ip netns exec`).
    ///   - sftpSubsystem: the `Subsystem sftp` command (sshd refuses a second one in `extra`).
    init(address: String = "127.0.0.1", netns: String? = nil, extra: [String] = [],
         sftpSubsystem: String = "internal-sftp") throws {
        let keys = SSHTestKeys.shared
        self.address = address
        self.netns = netns
        dir = try sh("mktemp -d /tmp/crssh-sshd.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
        port = netns == nil ? LoopbackPort.free() : 2222
        let config = extra + [
            "Port \(port)",
            "ListenAddress \(address)",
            "HostKey \(keys.hostKey)",
            "PidFile \(dir)/sshd.pid",
            "AuthorizedKeysFile \(keys.dir)/authorized_keys",
            "StrictModes no",
            "PermitRootLogin yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication yes",
            "UsePAM yes",
            "MaxStartups 200",
            "MaxSessions 100",
            "LogLevel ERROR",
            "Subsystem sftp \(sftpSubsystem)",
        ]
        try (config.joined(separator: "\n") + "\n").write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
        // sshd refuses to start without its privilege separation folder, which only
        // an init system creates: a fresh machine without one has none.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        // In a private mount namespace with Debian's stock .bashrc over root's, so
        // the machine's own shell start-up (pyenv here, whose rehash lock can stall
        // for a minute) is not part of every remote command. Each exec keeps the pid.
        let sshd = [
            "/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
            "mount --bind /usr/share/base-files/dot.bashrc /root/.bashrc && exec \"$@\"", "sh",
            "/usr/sbin/sshd", "-D", "-f", dir + "/sshd_config", "-E", dir + "/sshd.log",
        ]
        pid = try spawn(netns.map { ["/usr/sbin/ip", "netns", "exec", $0] + sshd } ?? sshd)
        try waitListening()
    }

    /// Kills sshd (and any per-connection children it forked) by pid.
    func stop() {
        guard !stopped else { return }
        stopped = true
        for child in children() { kill(child, SIGKILL) }
        stopProcess(pid)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Pids of the per-connection sshd processes (children of our sshd, recursively).
    func children() -> [Int32] {
        var result: [Int32] = []
        var frontier = [pid]
        while let p = frontier.popLast() {
            let out = (try? sh("pgrep -P \(p) || true")) ?? ""
            let kids = out.split(separator: "\n").compactMap { Int32($0) }
            result += kids
            frontier += kids
        }
        return result
    }

    /// A known_hosts line for this server's host key (or another key).
    func knownHostsLine(hostKey: String = SSHTestKeys.shared.hostKey) throws -> String {
        let pub = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ")
        return "[\(address)]:\(port) \(pub[0]) \(pub[1])"
    }

    /// Writes a known_hosts file holding `lines`; returns its path.
    func writeKnownHosts(_ lines: [String]) throws -> String {
        let path = dir + "/known_hosts-\(UUID().uuidString.prefix(8))"
        try (lines.map { $0 + "\n" }.joined()).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func waitListening() throws {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let probe = netns.map { "ip netns exec \($0) " } ?? ""
            if (try? sh("\(probe)ss -Hltn 'sport = :\(port)' | grep -q LISTEN")) != nil { return }
            if kill(pid, 0) != 0 { break }
            usleep(20_000)
        }
        let log = (try? String(contentsOfFile: dir + "/sshd.log", encoding: .utf8)) ?? ""
        stop()
        throw FixtureError("sshd did not start: \(log)")
    }
}

/// Settings for a test sshd: explicit key, its known_hosts, and a connect timeout
/// (a failed password costs sshd a few seconds) that suites running together cannot reach.
func testSettings(_ sshd: TestSSHD, user: String = "root", identity: String? = SSHTestKeys.shared.ed25519,
                  knownHosts: String? = nil) throws -> SSHSettings {
    SSHSettings(
        hostName: sshd.address, user: user, port: sshd.port, identity: identity,
        knownHosts: try knownHosts ?? sshd.writeKnownHosts([sshd.knownHostsLine()]),
        connectTimeout: .seconds(20))
}

/// The fixture's silence limit: generous, so only a real hang reaches it.
let testTimeouts = SSHTimeouts(io: .seconds(20))
