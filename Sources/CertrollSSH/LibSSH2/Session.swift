import CLibSSH2
import CertrollCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one `LIBSSH2_SESSION` and its TCP socket, in non-blocking mode: every
/// call that would block returns EAGAIN and we `poll` the socket ourselves, so
/// every step has a deadline and a dead link ends in an error, never a hang.
/// Used by one thread at a time (its connection's `ThreadExecutor`).
final class Session {
    let node: String
    /// For the handle classes of this folder only.
    let raw: OpaquePointer
    let socket: Int32
    /// The jump hosts this session's bytes pass through ("bastion NAME"), for messages.
    var via: [String] = []
    /// Set once the socket or the protocol state is unusable.
    private(set) var broken = false
    private var keepaliveEnabled = false
    private var nextKeepalive = ContinuousClock.now

    init(node: String, socket: Int32) throws {
        precondition(LibSSH2.initialized, "libssh2_init failed")
        guard let raw = certroll_session_init() else {
            close(socket)
            throw SSHError.connect(node: node, reason: "libssh2 could not allocate a session", fix: "retry")
        }
        self.node = node
        self.raw = raw
        self.socket = socket
        libssh2_session_set_blocking(raw, 0)
    }

    deinit {
        // Free in blocking mode with a short cap: channels are closed politely
        // when the link is up, and a dead link cannot hold us longer than 1 s.
        libssh2_session_set_timeout(raw, 1000)
        libssh2_session_set_blocking(raw, 1)
        libssh2_session_free(raw)
        close(socket)
    }

    func lastErrorMessage() -> String {
        var msg: UnsafeMutablePointer<CChar>?
        var len: Int32 = 0
        libssh2_session_last_error(raw, &msg, &len, 0)
        guard let msg, len > 0 else { return "unknown error" }
        return String(decoding: UnsafeRawBufferPointer(start: msg, count: Int(len)), as: UTF8.self)
    }

    // MARK: - Waiting

    /// libssh2 holds part of a packet it could not send yet: only the call that
    /// began it may be made next, to finish it.
    var sendPending: Bool {
        libssh2_session_block_directions(raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on,
    /// sending keepalives while it waits. Throws at the deadline or on cancellation.
    func wait(_ deadline: Deadline) throws {
        let dirs = libssh2_session_block_directions(raw)
        var events: Int16 = 0
        if dirs & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        while true {
            if Task.isCancelled {
                broken = true
                throw CancellationError()
            }
            let now = ContinuousClock.now
            guard now < deadline.instant else {
                broken = true
                throw SSHError.timeout(node: node, step: deadline.step, after: deadline.limit)
            }
            if keepaliveEnabled && dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND == 0 && now >= nextKeepalive {
                var seconds: Int32 = 0
                libssh2_keepalive_send(raw, &seconds)
                nextKeepalive = now + .seconds(max(1, Int(seconds)))
            }
            let slice = min(deadline.instant - now, .milliseconds(500))
            var pfd = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&pfd, 1, Int32((slice.seconds * 1000).rounded(.up)))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                broken = true
                throw SSHError.connect(node: node, reason: "poll failed while \(deadline.step): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Retries `body` while it says EAGAIN; returns its non-negative result.
    @discardableResult
    func call(_ deadline: Deadline, code: SSHError.Code = .channel, _ body: () -> Int32) throws -> Int32 {
        while true {
            let rc = body()
            if rc == LIBSSH2_ERROR_EAGAIN {
                try wait(deadline)
                continue
            }
            return try checked(rc, deadline, code)
        }
    }

    /// `call` for byte counts (read/write return ssize_t).
    func callCount(_ deadline: Deadline, code: SSHError.Code = .channel, _ body: () -> Int) throws -> Int {
        while true {
            let n = body()
            if n == Int(LIBSSH2_ERROR_EAGAIN) {
                try wait(deadline)
                continue
            }
            if n < 0 { try checked(Int32(n), deadline, code) }
            return n
        }
    }

    /// Retries a call that returns a handle, NULL with EAGAIN meaning "again".
    func callHandle(_ deadline: Deadline, code: SSHError.Code = .channel, _ body: () -> OpaquePointer?) throws -> OpaquePointer {
        while true {
            if let handle = body() { return handle }
            let rc = libssh2_session_last_errno(raw)
            if rc == LIBSSH2_ERROR_EAGAIN {
                try wait(deadline)
                continue
            }
            try checked(rc < 0 ? rc : LIBSSH2_ERROR_INVAL, deadline, code)
        }
    }

    /// Translates an rc through `LibSSH2Error.check`, marking the session broken when it must be.
    @discardableResult
    private func checked(_ rc: Int32, _ deadline: Deadline, _ code: SSHError.Code) throws -> Int32 {
        do {
            return try LibSSH2Error.check(rc, session: self)
        } catch {
            if error.breaksSession { broken = true }
            throw error.sshError(node: node, step: deadline.step, code: code, via: via)
        }
    }

    /// The raw libssh2 error for `rc`, for callers that interpret specific codes.
    func error(_ rc: Int32) -> LibSSH2Error { LibSSH2Error(rc: rc, message: lastErrorMessage()) }

    /// Like `call`, but returns libssh2's error instead of throwing it (timeouts still throw).
    func attempt(_ deadline: Deadline, _ body: () -> Int32) throws -> Result<Int32, LibSSH2Error> {
        while true {
            let rc = body()
            if rc == LIBSSH2_ERROR_EAGAIN {
                try wait(deadline)
                continue
            }
            do { return .success(try LibSSH2Error.check(rc, session: self)) } catch {
                if error.breaksSession { broken = true }
                return .failure(error)
            }
        }
    }

    // MARK: - Handshake and host key

    /// Offers host key algorithms in this order (comma-separated OpenSSH names).
    func preferHostKeys(_ algorithms: String) {
        libssh2_session_method_pref(raw, LIBSSH2_METHOD_HOSTKEY, algorithms)
    }

    func handshake(_ deadline: Deadline) throws {
        try call(deadline, code: .connect) { libssh2_session_handshake(raw, socket) }
    }

    /// The host key blob the server proved it holds.
    func hostKeyBlob() -> [UInt8]? {
        var len = 0
        var type: Int32 = 0
        guard let p = libssh2_session_hostkey(raw, &len, &type), len > 0 else { return nil }
        return [UInt8](UnsafeRawBufferPointer(start: p, count: len))
    }

    /// Keepalives from now on (libssh2 refuses the configuration before the handshake).
    func enableKeepalive(interval: Duration) {
        let seconds = max(1, UInt32(interval.seconds.rounded()))
        libssh2_keepalive_config(raw, 0, seconds)
        keepaliveEnabled = true
        nextKeepalive = .now + interval
    }

    /// Sends SSH_MSG_DISCONNECT, best effort within `deadline`.
    func disconnect(_ deadline: Deadline) {
        guard !broken else { return }
        _ = try? call(deadline) {
            libssh2_session_disconnect_ex(raw, SSH_DISCONNECT_BY_APPLICATION, "certroll done", "")
        }
        broken = true
    }

    // MARK: - Authentication

    /// Methods the server accepts for `user`; empty when "none" already authenticated.
    func authMethods(user: String, _ deadline: Deadline) throws -> [String] {
        while true {
            if let list = libssh2_userauth_list(raw, user, UInt32(user.utf8.count)) {
                return String(cString: list).split(separator: ",").map(String.init)
            }
            if libssh2_userauth_authenticated(raw) != 0 { return [] }
            let rc = libssh2_session_last_errno(raw)
            guard rc == LIBSSH2_ERROR_EAGAIN else {
                try checked(rc, deadline, .auth)
                return []
            }
            try wait(deadline)
        }
    }

    var isAuthenticated: Bool { libssh2_userauth_authenticated(raw) != 0 }

    func authenticate(user: String, keyFile: String, passphrase: Secret?, _ deadline: Deadline) throws -> Result<Int32, LibSSH2Error> {
        var pass = (passphrase?.bytes ?? []).map { CChar(bitPattern: $0) } + [0]
        defer { for i in pass.indices { pass[i] = 0 } }
        return try attempt(deadline) {
            libssh2_userauth_publickey_fromfile_ex(raw, user, UInt32(user.utf8.count), nil, keyFile, pass)
        }
    }

    func authenticate(user: String, password: Secret, _ deadline: Deadline) throws -> Result<Int32, LibSSH2Error> {
        var pw = password.bytes.map { CChar(bitPattern: $0) } + [0]
        defer { for i in pw.indices { pw[i] = 0 } }
        let count = UInt32(password.bytes.count)
        return try attempt(deadline) {
            libssh2_userauth_password_ex(raw, user, UInt32(user.utf8.count), pw, count, nil)
        }
    }

    /// keyboard-interactive, answering every hidden prompt with `password`.
    func authenticateInteractive(user: String, password: Secret, _ deadline: Deadline) throws -> Result<Int32, LibSSH2Error> {
        let box = PasswordBox(password.bytes)
        guard let abstract = libssh2_session_abstract(raw) else { return .failure(error(LIBSSH2_ERROR_INVAL)) }
        abstract.pointee = Unmanaged.passUnretained(box).toOpaque()
        defer { abstract.pointee = nil }
        return try withExtendedLifetime(box) {
            try attempt(deadline) {
                libssh2_userauth_keyboard_interactive_ex(raw, user, UInt32(user.utf8.count), kbdintRespond)
            }
        }
    }

    /// Tries each identity the agent holds; returns the key type that worked or the ones refused.
    func authenticateWithAgent(user: String, _ deadline: Deadline) throws -> (accepted: String?, refused: [String]) {
        guard let agent = Agent(session: self) else { return (nil, []) }
        var refused: [String] = []
        for identity in agent.identities() {
            let result = try attempt(deadline) { agent.userauth(user: user, identity: identity) }
            if case .success = result { return (identity.keyType, refused) }
            refused.append(identity.keyType + " " + identity.comment)
            if broken { break }
        }
        return (nil, refused)
    }
}
