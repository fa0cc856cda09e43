import CLibSSH2
import Foundation

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
