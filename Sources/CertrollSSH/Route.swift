public import CertrollCore
import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What carries a session's bytes: a socket, and what must end with it (a
/// ProxyCommand's process). Used by the one thread that owns the session.
final class Link: @unchecked Sendable {
    let fd: Int32
    private var process: Process?

    init(fd: Int32, process: Process? = nil) {
        self.fd = fd
        self.process = process
    }

    /// Ends the ProxyCommand, if any (the session closes the socket itself).
    func close() {
        guard let process else { return }
        self.process = nil
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { close() }
}

/// The jump host sessions of a run, shared by every node behind the same hops:
/// 50 nodes behind one bastion are one login to it and 50 channels.
public final class JumpHosts: @unchecked Sendable {
    /// The process's own: one run per process, so one login per bastion per run.
    public static let shared = JumpHosts()

    private struct Key: Hashable {
        var hops: [JumpHost]
        var knownHosts: String
        var policy: HostKeyPolicy
        /// Set for a node's own session over its ProxyCommand (`hops` is then empty).
        var proxyCommand: String?
    }

    private let lock = NSLock()
    private var sessions: [Key: JumpSession] = [:]
    private var started = 0

    public init() {}

    /// Jump sessions started so far (each one login to its jump host).
    public var logins: Int { lock.withLock { started } }

    /// A socket that reaches `host:port` through `settings.proxyJump`, every hop
    /// checked and logged in with the node's known_hosts, policy and secrets.
    func tunnel(for settings: SSHSettings, to host: String, port: Int, secrets: SSHSecrets, timeouts: SSHTimeouts,
                logger: Logger) throws -> Int32 {
        let (last, reused) = session(for: settings, secrets: secrets, timeouts: timeouts, logger: logger)
        do {
            return try last.tunnel(to: host, port: port, timeout: settings.connectTimeout)
        } catch let error as SSHError where reused && last.isFinished && error.code == .connect {
            // A kept session found dead (the bastion restarted meanwhile): log in again once.
            let (fresh, _) = session(for: settings, secrets: secrets, timeouts: timeouts, logger: logger)
            return try fresh.tunnel(to: host, port: port, timeout: settings.connectTimeout)
        }
    }

    /// A socket that reaches `host:port` from the node itself, through a session
    /// to the node over its ProxyCommand (kept and shared like a jump host's).
    func tunnelThroughNode(_ node: String, settings: SSHSettings, to host: String, port: Int, secrets: SSHSecrets,
                           timeouts: SSHTimeouts, logger: Logger) throws -> Int32 {
        guard let command = settings.proxyCommand else { preconditionFailure("a node without ProxyCommand") }
        let key = Key(hops: [], knownHosts: settings.knownHosts, policy: settings.hostKeyPolicy, proxyCommand: command)
        let session: JumpSession = lock.withLock {
            if let existing = sessions[key], !existing.isFinished { return existing }
            let created = JumpSession(name: node, subject: .node, settings: settings, secrets: secrets, timeouts: timeouts,
                                      logger: logger) { try ProxyCommand.start(command, node: node, settings: settings, logger: logger) }
            sessions[key] = created
            started += 1
            return created
        }
        return try session.tunnel(to: host, port: port, timeout: settings.connectTimeout)
    }

    /// The session to the last hop, creating the missing ones hop by hop; `reused`
    /// when the last one was already up.
    private func session(for settings: SSHSettings, secrets: SSHSecrets, timeouts: SSHTimeouts,
                         logger: Logger) -> (JumpSession, reused: Bool) {
        lock.withLock {
            var previous: JumpSession?
            var reused = false
            for index in settings.proxyJump.indices {
                let hop = settings.proxyJump[index]
                let key = Key(hops: Array(settings.proxyJump[...index]), knownHosts: settings.knownHosts, policy: settings.hostKeyPolicy,
                              proxyCommand: nil)
                if let existing = sessions[key], !existing.isFinished {
                    previous = existing
                    reused = true
                    continue
                }
                let hopSettings = SSHSettings(
                    hostName: hop.hostName, user: hop.user, port: hop.port, identity: hop.identity,
                    knownHosts: settings.knownHosts, hostKeyPolicy: settings.hostKeyPolicy, connectTimeout: settings.connectTimeout)
                let timeout = settings.connectTimeout
                let link: @Sendable () throws -> Link = if let before = previous {
                    { Link(fd: try before.tunnel(to: hop.hostName, port: hop.port, timeout: timeout)) }
                } else {
                    { Link(fd: try TCPConnect.open(node: hop.name, host: hop.hostName, port: hop.port, timeout: timeout)) }
                }
                let created = JumpSession(name: hop.name, settings: hopSettings, secrets: secrets, timeouts: timeouts,
                                          logger: logger, link: link)
                sessions[key] = created
                started += 1
                previous = created
                reused = false
            }
            return (previous!, reused)
        }
    }
}

/// How a node (or its HTTPS port) is reached: directly, through jump hosts, or
/// through a ProxyCommand.
public enum SSHRoute {
    /// The connected link to the node's sshd.
    static func link(node: String, settings: SSHSettings, secrets: SSHSecrets, timeouts: SSHTimeouts, jumps: JumpHosts,
                     logger: Logger) throws -> Link {
        if let command = settings.proxyCommand {
            return try ProxyCommand.start(command, node: node, settings: settings, logger: logger)
        }
        if !settings.proxyJump.isEmpty {
            return Link(fd: try jumps.tunnel(for: settings, to: settings.hostName, port: settings.port, secrets: secrets,
                                             timeouts: timeouts, logger: logger))
        }
        return Link(fd: try TCPConnect.open(node: node, host: settings.hostName, port: settings.port, timeout: settings.connectTimeout))
    }

    /// A connected socket to `settings.hostName:port` the way SSH reaches the node:
    /// through its jump hosts, or with a ProxyCommand through the node's own sshd
    /// (to its own `hostName`); nil when it is reached directly (connect yourself).
    /// Blocking: call it off the cooperative pool.
    public static func tunnel(
        to port: Int, of settings: SSHSettings, node: String, secrets: SSHSecrets, timeouts: SSHTimeouts = SSHTimeouts(),
        jumps: JumpHosts = .shared, logger: Logger = Logger(label: "certroll.ssh")
    ) throws -> Int32? {
        if settings.proxyCommand != nil {
            return try jumps.tunnelThroughNode(node, settings: settings, to: settings.hostName, port: port, secrets: secrets,
                                               timeouts: timeouts, logger: logger)
        }
        guard !settings.proxyJump.isEmpty else { return nil }
        return try jumps.tunnel(for: settings, to: settings.hostName, port: port, secrets: secrets, timeouts: timeouts, logger: logger)
    }
}

/// ssh_config `ProxyCommand`, run as OpenSSH does: `/bin/sh -c` with `%h`, `%p`,
/// `%r`, `%%` substituted, SSH spoken over its stdin/stdout, its stderr logged.
enum ProxyCommand {
    /// The command line with OpenSSH's tokens substituted.
    static func expand(_ command: String, host: String, port: Int, user: String) -> String {
        var out = ""
        var percent = false
        for c in command {
            if percent {
                switch c {
                case "h": out += host
                case "p": out += String(port)
                case "r": out += user
                case "%": out += "%"
                default: out += "%" + String(c)
                }
                percent = false
            } else if c == "%" {
                percent = true
            } else {
                out.append(c)
            }
        }
        return percent ? out + "%" : out
    }

    static func start(_ command: String, node: String, settings: SSHSettings, logger: Logger) throws -> Link {
        let line = expand(command, host: settings.hostName, port: settings.port, user: settings.user)
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SSHError.connect(node: node, reason: "no socketpair for ProxyCommand: \(String(cString: strerror(errno)))")
        }
        let theirs = FileHandle(fileDescriptor: pair[1], closeOnDealloc: true)
        let errors = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        process.standardInput = theirs
        process.standardOutput = theirs
        process.standardError = errors
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            for text in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                logger.warning("ProxyCommand stderr", metadata: [SSHLog.node: "\(node)", SSHLog.command: "\(line)", "stderr": "\(text)"])
            }
        }
        do {
            try process.run()
        } catch {
            close(pair[0])
            throw SSHError.connect(node: node, reason: "cannot run ProxyCommand `\(line)`: \(error.localizedDescription)",
                                   fix: "check the ProxyCommand in ssh_config")
        }
        try? theirs.close()
        _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
        return Link(fd: pair[0], process: process)
    }
}
