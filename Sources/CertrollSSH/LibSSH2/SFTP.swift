import CLibSSH2
import Foundation

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

    let raw: OpaquePointer
    let session: Session

    init(session: Session, _ deadline: Deadline) throws {
        self.session = session
        self.raw = try session.callHandle(deadline, code: .sftp) { libssh2_sftp_init(session.raw) }
    }

    deinit { libssh2_sftp_shutdown(raw) }

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
    init(_ a: LIBSSH2_SFTP_ATTRIBUTES) {
        size = a.filesize
        permissions = UInt32(a.permissions & 0o7777)
        uid = UInt32(a.uid)
        gid = UInt32(a.gid)
        isDirectory = (a.permissions & UInt(LIBSSH2_SFTP_S_IFMT)) == UInt(LIBSSH2_SFTP_S_IFDIR)
    }
}
