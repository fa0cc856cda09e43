import CLibSSH2

/// The one translator from libssh2 return codes: `check` turns a negative rc
/// into an error carrying libssh2's own last message for the session.
struct LibSSH2Error: Error {
    let rc: Int32
    let message: String

    /// Returns `rc` when it is not an error.
    @discardableResult
    static func check(_ rc: Int32, session: Session) throws(LibSSH2Error) -> Int32 {
        guard rc < 0 else { return rc }
        throw LibSSH2Error(rc: rc, message: session.lastErrorMessage())
    }

    /// The connection itself is gone or unusable; later calls must reconnect.
    var breaksSession: Bool {
        switch rc {
        case LIBSSH2_ERROR_SFTP_PROTOCOL, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, LIBSSH2_ERROR_AUTHENTICATION_FAILED,
             LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_METHOD_NONE, LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED,
             LIBSSH2_ERROR_CHANNEL_FAILURE, LIBSSH2_ERROR_CHANNEL_CLOSED, LIBSSH2_ERROR_CHANNEL_EOF_SENT,
             LIBSSH2_ERROR_AGENT_PROTOCOL, LIBSSH2_ERROR_PUBLICKEY_PROTOCOL:
            false
        default:
            true
        }
    }

    /// libssh2 could not read or decrypt a private key file.
    var isKeyFileUnreadable: Bool { rc == LIBSSH2_ERROR_FILE }

    /// The SFTP server answered with a status (see `SFTP.lastStatusCode`).
    var isSFTPStatus: Bool { rc == LIBSSH2_ERROR_SFTP_PROTOCOL }

    /// The socket failed or the peer closed it.
    var isConnectionLoss: Bool {
        switch rc {
        case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
             LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_BANNER_SEND:
            true
        default:
            false
        }
    }

    /// The error for the user, naming the node and what was being done.
    /// `via`: the jump hosts the connection runs through ("bastion NAME"), named when it is lost.
    func sshError(node: String, step: String, code: SSHError.Code = .channel, via: [String] = []) -> SSHError {
        if isConnectionLoss {
            if !via.isEmpty {
                let hops = via.joined(separator: ", ")
                return SSHError.connect(
                    node: node, reason: "the connection was lost while \(step) (\(message)); it runs through \(hops)",
                    fix: "check that \(hops) and sshd on the node still run and the network path is up, then retry")
            }
            return SSHError.connect(node: node, reason: "the connection was lost while \(step) (\(message))",
                                    fix: "check that sshd still runs on the node and the network path is up, then retry")
        }
        return SSHError(code, node: node, reason: "\(step) failed: \(message) (libssh2 error \(rc))",
                        fix: code == .channel ? "retry; if it persists, check the sshd log on the node" : nil)
    }
}

enum LibSSH2 {
    /// `libssh2_init` exactly once, before the first session (thread-safe lazy global).
    static let initialized: Bool = libssh2_init(0) == 0

    /// The linked libssh2, e.g. "1.10.0".
    static var version: String {
        _ = initialized
        return libssh2_version(0).map { String(cString: $0) } ?? "?"
    }
}
