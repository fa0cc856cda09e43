import CLibSSH2
import Foundation

/// Owns one open `LIBSSH2_SFTP_HANDLE`.
final class SFTPFile {
    private var raw: OpaquePointer?
    private let sftp: SFTP

    init(raw: OpaquePointer, sftp: SFTP) {
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
        // libssh2 keeps four buffers' worth of READ requests in flight, in pieces of
        // at most 30000 bytes: a 256 KiB buffer costs ~36 requests even for a 2 KB
        // certificate. Sized from the file, a small file costs one READ and the
        // one that meets the end; a large one still streams in 256 KiB buffers.
        let size = try attributes(deadlineFor()).size
        var buffer = [UInt8](repeating: 0, count: Self.readBufferSize(forFileSize: size))
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

    /// The buffer for a file of `size` bytes: the whole file, at least 1 KiB (so an
    /// empty or growing file still reads in one request), at most 256 KiB.
    static func readBufferSize(forFileSize size: UInt64) -> Int {
        Int(min(max(size, 1024), 256 * 1024))
    }

    func close(_ deadline: Deadline) throws {
        guard let handle = raw else { return }
        try sftp.session.call(deadline, code: .sftp) { libssh2_sftp_close_handle(handle) }
        raw = nil
    }
}
