import CLibSSH2
import CertrollCore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One logged-in session to a jump host, and the tunnels through it: each
/// tunnel is a `direct-tcpip` channel to `host:port` behind the jump host,
/// handed to its user as one end of a socketpair.
///
/// libssh2 sessions are not thread-safe, so one thread of its own owns the
/// session: it logs in, opens the channels asked for, and pumps bytes between
/// every channel and its socketpair end (non-blocking libssh2 and `poll`).
/// Callers on other threads only queue requests and wait for the answer. When
/// the jump host's connection is lost, every tunnel's socket is closed, so the
/// sessions carried through it fail like a node whose link died.
final class JumpSession: @unchecked Sendable {
    /// The jump host as written (for messages).
    let name: String
    /// Whom errors speak of: a bastion, or the node itself when its own session
    /// carries a tunnel (a node reached through ProxyCommand).
    private let subject: SSHError.Subject
    private let lock = NSLock()
    private var queue: [TunnelRequest] = []
    private var failure: SSHError?
    private var finished = false
    private let wake: (read: Int32, write: Int32)
    /// How long the session stays up with no tunnel before it logs out.
    static let idleLimit = Duration.seconds(30)

    /// Starts logging in at once, on its own thread. `link` gives the connected
    /// socket to the jump host (TCP, or a tunnel through the previous hop).
    init(name: String, subject: SSHError.Subject = .bastion, settings: SSHSettings, secrets: SSHSecrets, timeouts: SSHTimeouts,
         logger: Logger, link: @escaping @Sendable () throws -> Link) {
        self.name = name
        self.subject = subject
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe failed")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wake = (fds[0], fds[1])
        let thread = Thread { [self] in
            run(settings: settings, secrets: secrets, timeouts: timeouts, logger: logger, link: link)
        }
        thread.name = "certroll.jump.\(name)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// True once the session ended (lost, refused, or idle); a new one must be made.
    var isFinished: Bool { lock.withLock { finished } }

    /// A connected socket whose bytes reach `host:port` from the jump host. Blocks
    /// the calling thread until the channel is open, refused, or `timeout` passed.
    func tunnel(to host: String, port: Int, timeout: Duration) throws -> Int32 {
        let request = TunnelRequest(host: host, port: port, deadline: .now + timeout, timeout: timeout)
        let refused: SSHError? = lock.withLock {
            if finished { return failure ?? said(SSHError.connect(node: name, reason: "the connection was closed")) }
            queue.append(request)
            return nil
        }
        if let refused { throw refused }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        return try request.wait().get()
    }

    // MARK: - The session's thread

    private func run(settings: SSHSettings, secrets: SSHSecrets, timeouts: SSHTimeouts, logger: Logger,
                     link makeLink: @Sendable () throws -> Link) {
        let session: Session
        let link: Link
        do {
            link = try makeLink()
            session = try Connection.establish(name: name, settings: settings, secrets: secrets, keepalive: timeouts.keepalive,
                                               socket: link.fd, logger: logger)
        } catch let error as SSHError {
            end(error.subject == .bastion || subject == .node ? error : error.onBastion())
            return
        } catch {
            end(said(SSHError.connect(node: name, reason: "\(error)")))
            return
        }
        defer { link.close() }
        logger.debug("jump host ready", metadata: [SSHLog.node: "\(name)"])
        let lost = pump(session, keepalive: timeouts.keepalive)
        end(lost)
        if lost == nil { session.disconnect(Deadline("logging out of \(name)", within: .seconds(2))) }
    }

    /// `error` said of this session's subject.
    private func said(_ error: SSHError) -> SSHError {
        subject == .bastion ? error.onBastion() : error
    }

    /// Marks the session finished and fails every request still waiting.
    private func end(_ error: SSHError?) {
        let waiting = lock.withLock {
            finished = true
            failure = error
            defer { queue = [] }
            return queue
        }
        let reason = error ?? said(SSHError.connect(node: name, reason: "the connection was closed"))
        for request in waiting { request.finish(.failure(reason)) }
    }

    /// The call that left part of a packet in libssh2's send buffer: libssh2 1.10
    /// refuses any other packet until the same call completes it, so only that one
    /// is retried until it has.
    private enum Owed: Equatable {
        case open
        case relay(ObjectIdentifier)
        case free(OpaquePointer)
    }

    /// Serves tunnels until the connection is lost (the error) or stays idle (nil).
    private func pump(_ session: Session, keepalive: Duration) -> SSHError? {
        var relays: [Relay] = []
        var opening: TunnelRequest?
        var closing: [OpaquePointer] = []
        var owed: Owed?
        var idleSince = ContinuousClock.now
        var nextKeepalive = ContinuousClock.now + keepalive
        defer {
            for relay in relays { close(relay.fd) }
            for channel in closing { libssh2_channel_free(channel) }
        }
        func lostError(_ e: LibSSH2Error) -> SSHError {
            said(e.sshError(node: name, step: "carrying tunnels", code: .connect))
        }
        func mayRun(_ candidate: Owed) -> Bool { owed == nil || owed == candidate }
        /// After a call that would block: it owes the rest of a packet, or it no longer does.
        func settle(_ candidate: Owed, blocked: Bool) {
            if blocked && session.sendPending {
                owed = candidate
            } else if owed == candidate {
                owed = nil
            }
        }

        while true {
            var progress = false
            var drained = [UInt8](repeating: 0, count: 64)
            while read(wake.read, &drained, drained.count) > 0 {}

            // One channel open at a time: libssh2 keeps a single open in flight per session.
            if opening == nil && owed == nil { opening = lock.withLock { queue.isEmpty ? nil : queue.removeFirst() } }
            if let request = opening, mayRun(.open) {
                if ContinuousClock.now >= request.deadline && owed == nil {
                    request.finish(.failure(said(SSHError.timeout(node: name, step: "opening a tunnel to \(request.host):\(request.port)",
                                                                  after: request.timeout))))
                    opening = nil
                    progress = true
                } else if let channel = libssh2_channel_direct_tcpip_ex(session.raw, request.host, Int32(request.port), "127.0.0.1", 22) {
                    settle(.open, blocked: false)
                    if let (ours, theirs) = Self.socketPair() {
                        relays.append(Relay(channel: channel, fd: ours))
                        request.finish(.success(theirs))
                    } else {
                        closing.append(channel)
                        request.finish(.failure(said(SSHError.channel(
                            node: name, reason: "no socketpair for a tunnel: \(String(cString: strerror(errno)))"))))
                    }
                    opening = nil
                    progress = true
                } else {
                    let rc = libssh2_session_last_errno(session.raw)
                    settle(.open, blocked: rc == LIBSSH2_ERROR_EAGAIN)
                    if rc != LIBSSH2_ERROR_EAGAIN {
                        let e = session.error(rc)
                        if e.isConnectionLoss { return lostError(e) }
                        request.finish(.failure(SSHError(
                            .connect, node: name, reason: "cannot reach \(request.host) port \(request.port) through it (\(e.message))",
                            fix: "check that the service is up and that sshd there may forward TCP (AllowTcpForwarding in its sshd_config)",
                            subject: subject)))
                        opening = nil
                        progress = true
                    }
                }
            }

            var remaining: [Relay] = []
            var ended: [Relay] = []
            for relay in relays {
                guard mayRun(.relay(ObjectIdentifier(relay))) else {
                    remaining.append(relay)
                    continue
                }
                switch relay.pump(sendPending: { session.sendPending }) {
                case .idle:
                    settle(.relay(ObjectIdentifier(relay)), blocked: false)
                    remaining.append(relay)
                case .progress:
                    settle(.relay(ObjectIdentifier(relay)), blocked: false)
                    progress = true
                    remaining.append(relay)
                case .owing:
                    owed = .relay(ObjectIdentifier(relay))
                    remaining.append(relay)
                case .done:
                    settle(.relay(ObjectIdentifier(relay)), blocked: false)
                    ended.append(relay)
                case .failed(let rc):
                    // `relays` is still the full list here: the defer closes every one.
                    let e = session.error(rc)
                    if e.breaksSession { return lostError(e) }
                    settle(.relay(ObjectIdentifier(relay)), blocked: false)
                    ended.append(relay)
                }
            }
            for relay in ended {
                progress = true
                close(relay.fd)
                closing.append(relay.channel)
            }
            relays = remaining
            closing = closing.filter { channel in
                guard mayRun(.free(channel)) else { return true }
                let again = libssh2_channel_free(channel) == LIBSSH2_ERROR_EAGAIN
                settle(.free(channel), blocked: again)
                return again
            }

            let now = ContinuousClock.now
            let idle = relays.isEmpty && opening == nil && closing.isEmpty && owed == nil
            // Only while idle: a keepalive that half-sends would owe its packet from a
            // buffer libssh2 does not keep. Busy tunnels carry their sessions' own keepalives.
            if idle && now >= nextKeepalive && !session.sendPending {
                var seconds: Int32 = 0
                let rc = libssh2_keepalive_send(session.raw, &seconds)
                if rc < 0 && rc != LIBSSH2_ERROR_EAGAIN, session.error(rc).isConnectionLoss { return lostError(session.error(rc)) }
                nextKeepalive = now + .seconds(max(1, Int(seconds)))
            }
            if !idle { idleSince = now }
            if idle && now - idleSince >= Self.idleLimit {
                let stillIdle = lock.withLock {
                    guard queue.isEmpty else { return false }
                    finished = true
                    return true
                }
                if stillIdle { return nil }
            }
            if progress { continue }

            // Nothing moved: sleep until a socket is ready, a request comes, or a timer is due.
            var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            var sessionEvents = Int16(POLLIN)
            if session.sendPending { sessionEvents |= Int16(POLLOUT) }
            // With no channel to read for, incoming packets wait for the next one.
            if !idle { fds.append(pollfd(fd: session.socket, events: sessionEvents, revents: 0)) }
            if owed == nil {
                for relay in relays { fds.append(pollfd(fd: relay.fd, events: relay.events, revents: 0)) }
            }
            var wait = min(Duration.milliseconds(500), max(.zero, nextKeepalive - now))
            if let request = opening { wait = min(wait, max(.zero, request.deadline - now)) }
            _ = poll(&fds, nfds_t(fds.count), Int32((wait.seconds * 1000).rounded(.up)))
        }
    }

    /// Both ends non-blocking, with room for a few SSH packets each way.
    private static func socketPair() -> (Int32, Int32)? {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return nil }
        var size: Int32 = 1 << 20
        for fd in pair {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        return (pair[0], pair[1])
    }
}

/// A caller waiting for a tunnel.
private final class TunnelRequest: @unchecked Sendable {
    let host: String
    let port: Int
    let deadline: ContinuousClock.Instant
    let timeout: Duration
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Int32, SSHError>?

    init(host: String, port: Int, deadline: ContinuousClock.Instant, timeout: Duration) {
        self.host = host
        self.port = port
        self.deadline = deadline
        self.timeout = timeout
    }

    func finish(_ result: Result<Int32, SSHError>) {
        self.result = result
        done.signal()
    }

    func wait() -> Result<Int32, SSHError> {
        done.wait()
        return result!
    }
}

/// One tunnel: a `direct-tcpip` channel and our end of its socketpair, with a
/// buffer each way. Used only on its jump session's thread.
private final class Relay {
    let channel: OpaquePointer
    let fd: Int32
    private var up = [UInt8](repeating: 0, count: 64 * 1024)
    private var upRange = 0..<0
    private var down = [UInt8](repeating: 0, count: 64 * 1024)
    private var downRange = 0..<0
    private var localEOF = false
    private var remoteEOF = false
    private var shutDown = false
    /// The channel call that must be repeated before any other (see `JumpSession.Owed`).
    private var owed: Call?

    private enum Call { case write, read }

    enum Outcome {
        case idle, progress, done
        /// A call left part of a packet unsent: only this relay may run until it is out.
        case owing
        /// A libssh2 error on the channel (the caller decides whether it broke the session).
        case failed(Int32)
    }

    /// What a channel call did.
    private enum Step {
        case moved, wouldBlock
        case failed(Int32)
    }

    init(channel: OpaquePointer, fd: Int32) {
        self.channel = channel
        self.fd = fd
    }

    /// What to wait for on our end.
    var events: Int16 {
        var events: Int16 = 0
        if upRange.isEmpty && !localEOF { events |= Int16(POLLIN) }
        if !downRange.isEmpty { events |= Int16(POLLOUT) }
        return events
    }

    /// Moves what it can both ways without blocking.
    func pump(sendPending: () -> Bool) -> Outcome {
        var progress = false
        if let call = owed {
            owed = nil
            switch call == .write ? write() : read() {
            case .failed(let rc): return .failed(rc)
            case .wouldBlock where sendPending():
                owed = call
                return .owing
            case .wouldBlock: break
            case .moved: progress = true
            }
        }
        // Ours → the channel.
        if upRange.isEmpty && !localEOF {
            let n = up.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                upRange = 0..<n
                progress = true
            } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                localEOF = true
                progress = true
            }
        }
        if !upRange.isEmpty {
            switch write() {
            case .failed(let rc): return .failed(rc)
            case .wouldBlock where sendPending():
                owed = .write
                return .owing
            case .wouldBlock: break
            case .moved: progress = true
            }
        }
        // Our user closed its end: nothing more will be asked of this tunnel (neither
        // an SSH session nor a TLS probe half-closes), so the channel is closed.
        if localEOF && upRange.isEmpty { return .done }

        // The channel → ours.
        if downRange.isEmpty && !remoteEOF {
            switch read() {
            case .failed(let rc): return .failed(rc)
            case .wouldBlock where sendPending():
                owed = .read
                return .owing
            case .wouldBlock: break
            case .moved: progress = true
            }
        }
        if !downRange.isEmpty {
            let n = down.withUnsafeBytes { b in
                send(fd, b.baseAddress!.advanced(by: downRange.lowerBound), downRange.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if n > 0 {
                downRange = (downRange.lowerBound + n)..<downRange.upperBound
                progress = true
            } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                return .done
            }
        }
        if remoteEOF && downRange.isEmpty && !shutDown {
            shutdown(fd, Int32(SHUT_WR))
            shutDown = true
            progress = true
        }
        return progress ? .progress : .idle
    }

    private func write() -> Step {
        let n = up.withUnsafeBytes { b in
            certroll_channel_write(channel, b.baseAddress!.advanced(by: upRange.lowerBound).assumingMemoryBound(to: CChar.self), upRange.count)
        }
        if n >= 0 {
            upRange = (upRange.lowerBound + n)..<upRange.upperBound
            return n > 0 ? .moved : .wouldBlock
        }
        return n == Int(LIBSSH2_ERROR_EAGAIN) ? .wouldBlock : .failed(Int32(n))
    }

    private func read() -> Step {
        let n = down.withUnsafeMutableBytes { b in
            certroll_channel_read(channel, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
        }
        if n > 0 {
            downRange = 0..<n
            return .moved
        }
        if n == 0 || n == Int(LIBSSH2_ERROR_EAGAIN) {
            if libssh2_channel_eof(channel) == 1 {
                remoteEOF = true
                return .moved
            }
            return .wouldBlock
        }
        return .failed(Int32(n))
    }
}
