import Foundation

/// What an SSH private key file holds, read without decrypting it.
public enum SSHIdentityFile {
    /// Where libssh2 looks when no `identity` is set and the agent has none that works, in order.
    public static let defaultFiles = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"]

    /// The first of `defaultFiles` that exists, as written there.
    public static func firstDefaultFile() -> String? {
        defaultFiles.first { FileManager.default.fileExists(atPath: expandTilde($0)) }
    }

    /// True when the file exists and needs a passphrase to open: an OpenSSH key
    /// whose cipher is not `none`, or an encrypted PEM key.
    public static func isEncrypted(atPath display: String) -> Bool {
        guard let text = try? String(contentsOfFile: expandTilde(display), encoding: .utf8) else { return false }
        if text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY") { return true }
        guard var fields = OpenSSHKeyFields(text) else { return false }
        return fields.next().map { String(decoding: $0, as: UTF8.self) != "none" } ?? false
    }

    /// "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-…", or nil when it cannot tell.
    static func keyType(atPath path: String) -> String? {
        if let pub = try? String(contentsOfFile: path + ".pub", encoding: .utf8),
           let first = pub.split(separator: " ").first {
            return String(first)
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        if text.contains("BEGIN RSA PRIVATE KEY") { return "ssh-rsa" }
        if text.contains("BEGIN EC PRIVATE KEY") { return "ecdsa" }
        // cipher, kdf, kdf options, key count, then the first public key blob.
        guard var fields = OpenSSHKeyFields(text), fields.next() != nil, fields.next() != nil, fields.next() != nil,
              fields.skip(4) else { return nil }
        return fields.next().flatMap { KnownHosts.keyType(ofBlob: Array($0)) }
    }
}

/// The length-prefixed fields of an `openssh-key-v1` private key, read in order.
private struct OpenSSHKeyFields {
    private var bytes: ArraySlice<UInt8>

    init?(_ text: String) {
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return nil }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return nil }
        let magic = Array("openssh-key-v1\0".utf8)
        guard data.starts(with: magic) else { return nil }
        bytes = [UInt8](data)[...].dropFirst(magic.count)
    }

    mutating func next() -> ArraySlice<UInt8>? {
        guard bytes.count >= 4 else { return nil }
        let b = Array(bytes.prefix(4))
        let n = Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
        guard bytes.count >= 4 + n else { return nil }
        defer { bytes = bytes.dropFirst(4 + n) }
        return bytes.dropFirst(4).prefix(n)
    }

    mutating func skip(_ count: Int) -> Bool {
        guard bytes.count >= count else { return false }
        bytes = bytes.dropFirst(count)
        return true
    }
}
