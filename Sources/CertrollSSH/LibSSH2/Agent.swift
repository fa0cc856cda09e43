import CLibSSH2
import Foundation

/// Owns one `LIBSSH2_AGENT` connection to `SSH_AUTH_SOCK`.
final class Agent {
    struct Identity {
        let raw: UnsafeMutablePointer<libssh2_agent_publickey>
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
