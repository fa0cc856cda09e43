import CLibSSH2
import CertrollCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A point in time a libssh2 call must finish by, and what to say when it does not.
struct Deadline {
    let instant: ContinuousClock.Instant
    let step: String
    let limit: Duration

    init(_ step: String, within limit: Duration) {
        self.instant = .now + limit
        self.step = step
        self.limit = limit
    }
}

/// Owns one `LIBSSH2_SESSION` and its TCP socket, in non-blocking mode: every
/// call that would block returns EAGAIN and we `poll` the socket ourselves, so
/// every step has a deadline and a dead link ends in an error, never a hang.
/// Used by one thread at a time (its connection's `ThreadExecutor`).
final class Session {
    let node: String
    fileprivate let raw: OpaquePointer
    private let socket: Int32
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

    func markBroken() { broken = true }

    // MARK: - Waiting

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
            throw error.sshError(node: node, step: deadline.step, code: code)
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

/// The password handed to the keyboard-interactive callback through the session's abstract pointer.
private final class PasswordBox {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// libssh2 frees each response with free(), so responses are malloc'd copies.
private let kbdintRespond: @convention(c) (
    UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, Int32, Int32,
    UnsafePointer<LIBSSH2_USERAUTH_KBDINT_PROMPT>?, UnsafeMutablePointer<LIBSSH2_USERAUTH_KBDINT_RESPONSE>?,
    UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Void = { _, _, _, _, count, prompts, responses, abstract in
    guard let responses, let prompts, let raw = abstract?.pointee else { return }
    let box = Unmanaged<PasswordBox>.fromOpaque(raw).takeUnretainedValue()
    for i in 0..<Int(max(0, count)) {
        let answer: [UInt8] = prompts[i].echo == 0 ? box.bytes : []
        guard let text = malloc(max(1, answer.count))?.assumingMemoryBound(to: CChar.self) else { continue }
        answer.withUnsafeBytes { UnsafeMutableRawPointer(text).copyMemory(from: $0.baseAddress!, byteCount: answer.count) }
        responses[i].text = text
        responses[i].length = UInt32(answer.count)
    }
}

/// Owns one `LIBSSH2_AGENT` connection to `SSH_AUTH_SOCK`.
final class Agent {
    struct Identity {
        fileprivate let raw: UnsafeMutablePointer<libssh2_agent_publickey>
        let keyType: String
        let comment: String
    }

    private let raw: OpaquePointer
    private let session: Session

    /// nil when there is no agent to talk to.
    init?(session: Session) {
        guard ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"].map({ !$0.isEmpty }) == true,
              let raw = libssh2_agent_init(session.raw)
        else { return nil }
        self.raw = raw
        self.session = session
        guard libssh2_agent_connect(raw) == 0, libssh2_agent_list_identities(raw) == 0 else { return nil }
    }

    deinit {
        libssh2_agent_disconnect(raw)
        libssh2_agent_free(raw)
    }

    func identities() -> [Identity] {
        var result: [Identity] = []
        var prev: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var store: UnsafeMutablePointer<libssh2_agent_publickey>?
            guard libssh2_agent_get_identity(raw, &store, prev) == 0, let id = store else { break }
            let blob = [UInt8](UnsafeBufferPointer(start: id.pointee.blob, count: id.pointee.blob_len))
            result.append(Identity(raw: id, keyType: KnownHosts.keyType(ofBlob: blob) ?? "unknown",
                                   comment: id.pointee.comment.map { String(cString: $0) } ?? ""))
            prev = id
        }
        return result
    }

    func userauth(user: String, identity: Identity) -> Int32 {
        libssh2_agent_userauth(raw, user, identity.raw)
    }
}

/// Owns one `LIBSSH2_CHANNEL` of a session ("session" type, for exec).
final class Channel {
    private let raw: OpaquePointer
    private let session: Session

    init(session: Session, _ deadline: Deadline) throws {
        self.session = session
        self.raw = try session.callHandle(deadline) { certroll_channel_open_session(session.raw) }
    }

    deinit { libssh2_channel_free(raw) }

    func exec(_ command: String, _ deadline: Deadline) throws {
        let bytes = Array(command.utf8)
        try session.call(deadline) {
            bytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { certroll_channel_exec(raw, $0.baseAddress, UInt32(b.count)) }
            }
        }
    }

    /// Bytes read into `buffer` from stdout (`stderr: false`) or stderr; 0 at EOF, nil when none is ready yet.
    func read(stderr: Bool, into buffer: UnsafeMutableRawBufferPointer, _ deadline: Deadline) throws -> Int? {
        let n = stderr
            ? certroll_channel_read_stderr(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
            : certroll_channel_read(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        if n == Int(LIBSSH2_ERROR_EAGAIN) { return nil }
        return try session.callCount(deadline) { n }
    }

    /// Bytes accepted for stdin; nil when the window is full for now.
    func write(_ bytes: UnsafeRawBufferPointer, _ deadline: Deadline) throws -> Int? {
        let n = certroll_channel_write(raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        if n == Int(LIBSSH2_ERROR_EAGAIN) { return nil }
        return try session.callCount(deadline) { n }
    }

    /// True once sent; false when it must be retried.
    func sendEOF(_ deadline: Deadline) throws -> Bool {
        let rc = libssh2_channel_send_eof(raw)
        if rc == LIBSSH2_ERROR_EAGAIN { return false }
        try session.call(deadline) { rc }
        return true
    }

    var remoteEOF: Bool { libssh2_channel_eof(raw) == 1 }

    func closeAndWait(_ deadline: Deadline) throws {
        try session.call(deadline) { libssh2_channel_close(raw) }
        try session.call(deadline) { libssh2_channel_wait_closed(raw) }
    }

    var exitStatus: Int32 { libssh2_channel_get_exit_status(raw) }

    /// The signal name ("KILL") when the command was killed by one.
    func exitSignal() -> String? {
        var name: UnsafeMutablePointer<CChar>?
        var len = 0
        guard libssh2_channel_get_exit_signal(raw, &name, &len, nil, nil, nil, nil) == 0, let name else { return nil }
        defer { libssh2_free(session.raw, name) }
        return len > 0 ? String(decoding: UnsafeRawBufferPointer(start: name, count: len), as: UTF8.self) : nil
    }
}

/// What SFTP reports of a path, in Swift types.
struct SFTPAttributes {
    var size: UInt64
    var permissions: UInt32
    var uid: UInt32
    var gid: UInt32
    var isDirectory: Bool
}

/// Owns one `LIBSSH2_SFTP` subsystem channel of a session.
final class SFTP {
    /// SSH_FX_* status codes that callers act on.
    enum Status: UInt {
        case noSuchFile = 2
        case permissionDenied = 3
        case failure = 4
    }

    private let raw: OpaquePointer
    let session: Session

    init(session: Session, _ deadline: Deadline) throws {
        self.session = session
        self.raw = try session.callHandle(deadline, code: .sftp) { libssh2_sftp_init(session.raw) }
    }

    deinit { libssh2_sftp_shutdown(raw) }

    /// The SSH_FX status of the last failed request, when that was the failure.
    func lastStatus(_ error: SSHError) -> UInt? {
        error.code == .sftp ? UInt(libssh2_sftp_last_error(raw)) : nil
    }

    /// SSH_FX status number of the last request.
    var lastStatusCode: UInt { UInt(libssh2_sftp_last_error(raw)) }

    @discardableResult
    /// Adds the SFTP server's status ("no such file", "permission denied") to an SFTP failure.
    func explained<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SSHError where error.code == .sftp {
            let status: String
            switch lastStatusCode {
            case 2: status = "no such file or directory"
            case 3: status = "permission denied"
            case 4: status = "the server refused (exists already, or not allowed)"
            case 0: throw error
            default: status = "SFTP status \(lastStatusCode)"
            }
            throw SSHError.sftp(node: session.node, reason: "\(error.reason.split(separator: ":").first ?? "SFTP"): \(status)",
                                fix: "check the path, its parent folder and permissions on the node")
        }
    }

    func open(_ path: String, write: Bool, creationMode: UInt32, _ deadline: Deadline) throws -> SFTPFile {
        let flags = write
            ? UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
            : UInt(LIBSSH2_FXF_READ)
        let p = Array(path.utf8)
        let handle = try explained {
            try session.callHandle(deadline, code: .sftp) {
                p.withUnsafeBufferPointer { b in
                    b.withMemoryRebound(to: CChar.self) {
                        certroll_sftp_open(raw, $0.baseAddress, UInt32(b.count), flags, Int(creationMode))
                    }
                }
            }
        }
        return SFTPFile(raw: handle, sftp: self)
    }

    /// nil when the path does not exist.
    func stat(_ path: String, _ deadline: Deadline) throws -> SFTPAttributes? {
        var attrs = LIBSSH2_SFTP_ATTRIBUTES()
        let p = Array(path.utf8)
        let result = try session.attempt(deadline) {
            p.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { certroll_sftp_stat(raw, $0.baseAddress, UInt32(b.count), &attrs) }
            }
        }
        switch result {
        case .success: return SFTPAttributes(attrs)
        case .failure(let e) where e.rc == LIBSSH2_ERROR_SFTP_PROTOCOL && lastStatusCode == Status.noSuchFile.rawValue:
            return nil
        case .failure(let e): throw e.sshError(node: session.node, step: deadline.step, code: .sftp)
        }
    }

    func setPermissions(_ path: String, _ mode: UInt32, _ deadline: Deadline) throws {
        var attrs = LIBSSH2_SFTP_ATTRIBUTES()
        attrs.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
        attrs.permissions = UInt(mode)
        let p = Array(path.utf8)
        try explained {
            try session.call(deadline, code: .sftp) {
                p.withUnsafeBufferPointer { b in
                    b.withMemoryRebound(to: CChar.self) { certroll_sftp_setstat(raw, $0.baseAddress, UInt32(b.count), &attrs) }
                }
            }
        }
    }

    /// Returns the failure instead of throwing so callers can accept "exists" / "missing".
    func mkdir(_ path: String, mode: UInt32, _ deadline: Deadline) throws -> Result<Int32, LibSSH2Error> {
        let p = Array(path.utf8)
        return try session.attempt(deadline) {
            p.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { certroll_sftp_mkdir(raw, $0.baseAddress, UInt32(b.count), Int(mode)) }
            }
        }
    }

    func unlink(_ path: String, _ deadline: Deadline) throws -> Result<Int32, LibSSH2Error> {
        let p = Array(path.utf8)
        return try session.attempt(deadline) {
            p.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { certroll_sftp_unlink(raw, $0.baseAddress, UInt32(b.count)) }
            }
        }
    }
}

extension SFTPAttributes {
    fileprivate init(_ a: LIBSSH2_SFTP_ATTRIBUTES) {
        size = a.filesize
        permissions = UInt32(a.permissions & 0o7777)
        uid = UInt32(a.uid)
        gid = UInt32(a.gid)
        isDirectory = (a.permissions & UInt(LIBSSH2_SFTP_S_IFMT)) == UInt(LIBSSH2_SFTP_S_IFDIR)
    }
}

/// Owns one open `LIBSSH2_SFTP_HANDLE`.
final class SFTPFile {
    private var raw: OpaquePointer?
    private let sftp: SFTP

    fileprivate init(raw: OpaquePointer, sftp: SFTP) {
        self.raw = raw
        self.sftp = sftp
    }

    deinit { if let raw { libssh2_sftp_close_handle(raw) } }

    /// Sets owner and/or permissions on the open file.
    func setAttributes(uid: UInt32? = nil, gid: UInt32? = nil, permissions: UInt32? = nil, _ deadline: Deadline) throws {
        var attrs = LIBSSH2_SFTP_ATTRIBUTES()
        if let uid, let gid {
            attrs.flags |= UInt(LIBSSH2_SFTP_ATTR_UIDGID)
            attrs.uid = UInt(uid)
            attrs.gid = UInt(gid)
        }
        if let permissions {
            attrs.flags |= UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
            attrs.permissions = UInt(permissions)
        }
        try sftp.explained { try sftp.session.call(deadline, code: .sftp) { certroll_sftp_fsetstat(raw, &attrs) } }
    }

    func attributes(_ deadline: Deadline) throws -> SFTPAttributes {
        var attrs = LIBSSH2_SFTP_ATTRIBUTES()
        try sftp.session.call(deadline, code: .sftp) { certroll_sftp_fstat(raw, &attrs) }
        return SFTPAttributes(attrs)
    }

    /// Writes all of `bytes`; `deadlineFor` gives a fresh deadline per chunk (an idle timeout).
    func write(_ bytes: UnsafeRawBufferPointer, deadlineFor: () -> Deadline) throws {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let n = try sftp.session.callCount(deadlineFor(), code: .sftp) {
                libssh2_sftp_write(raw, rest.baseAddress?.assumingMemoryBound(to: CChar.self), rest.count)
            }
            offset += n
        }
    }

    /// Reads to the end.
    func readAll(deadlineFor: () -> Deadline) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let n = try buffer.withUnsafeMutableBytes { b in
                try sftp.session.callCount(deadlineFor(), code: .sftp) {
                    libssh2_sftp_read(raw, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
                }
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    func close(_ deadline: Deadline) throws {
        guard let handle = raw else { return }
        try sftp.session.call(deadline, code: .sftp) { libssh2_sftp_close_handle(handle) }
        raw = nil
    }
}
