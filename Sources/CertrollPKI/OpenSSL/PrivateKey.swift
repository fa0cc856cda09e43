import COpenSSL
public import CertrollCore
public import Foundation

/// A private key (owns one `EVP_PKEY`). Immutable once made, so it may be
/// shared across tasks.
public final class PrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// Generates a new key. Blocking (RSA-4096 takes seconds): call it off
    /// the cooperative pool, or use `generate(_:)` async.
    public static func generateBlocking(_ type: KeyType) throws(PKIError) -> PrivateKey {
        OpenSSLError.clear()
        let key: OpaquePointer?
        switch type {
        case .rsa(let bits):
            guard [2048, 3072, 4096].contains(bits) else { throw .unsupportedKey(nil, "RSA \(bits) bits is not offered") }
            key = certroll_EVP_RSA_gen(UInt32(bits))
        case .ec(let curve):
            key = certroll_EVP_EC_gen(curve.openSSLName)
        }
        guard let key else { throw OpenSSLError.failure("generate a \(type) key") }
        return PrivateKey(owning: key)
    }

    /// Generates a new key on a dedicated thread (never on the cooperative pool).
    public static func generate(_ type: KeyType) async throws(PKIError) -> PrivateKey {
        try await Blocking.run("certroll.keygen") { () throws(PKIError) -> PrivateKey in
            try generateBlocking(type)
        }
    }

    /// Opens a PEM key block; `passphrase` is used only when the block is encrypted.
    static func open(_ block: PEMBlock, format: KeyFileFormat, passphrase: Secret?, file: String) throws(PKIError) -> PrivateKey {
        if format.isEncrypted && (passphrase == nil || passphrase!.isEmpty) { throw .passphraseRequired(file) }
        let bio = try MemoryBIO(Array(block.text.utf8))
        OpenSSLError.clear()
        let secret = passphrase?.bytes ?? []
        let key: OpaquePointer? = secret.withUnsafeBufferPointer { buffer in
            var context = PassphraseContext(bytes: buffer)
            return withUnsafeMutablePointer(to: &context) { contextPointer in
                PEM_read_bio_PrivateKey(bio.pointer, nil, passphraseCallback, contextPointer)
            }
        }
        guard let key else {
            let error = OpenSSLError.drain()
            if format.isEncrypted { throw .wrongPassphrase(file) }
            throw .invalidKey(file, error.summary)
        }
        return PrivateKey(owning: key)
    }

    /// PEM in the traditional form XSOAR loads: PKCS#1 (`RSA PRIVATE KEY`) or
    /// SEC1 (`EC PRIVATE KEY`), encrypted with `Proc-Type`/`DEK-Info` headers
    /// when `encryption` is given.
    public func traditionalPEM(encryption: (cipher: KeyCipher, passphrase: Secret)? = nil) throws(PKIError) -> String {
        let bio = try MemoryBIO()
        OpenSSLError.clear()
        let written: Int32
        if let encryption {
            guard !encryption.passphrase.isEmpty else { throw .passphraseRequired("the new key") }
            let cipher: OpaquePointer? = switch encryption.cipher {
            case .aes256: EVP_aes_256_cbc()
            case .aes128: EVP_aes_128_cbc()
            case .des3: EVP_des_ede3_cbc()
            }
            written = encryption.passphrase.bytes.withUnsafeBufferPointer { buffer in
                PEM_write_bio_PrivateKey_traditional(
                    bio.pointer, pointer, cipher, buffer.baseAddress, Int32(buffer.count), nil, nil)
            }
        } else {
            written = PEM_write_bio_PrivateKey_traditional(bio.pointer, pointer, nil, nil, 0, nil, nil)
        }
        guard written == 1 else { throw OpenSSLError.failure("write the private key") }
        return bio.string
    }

    /// SubjectPublicKeyInfo DER: equal for a key and its converted copies.
    public var publicKeyDER: Data {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pointer, &out)
        guard length > 0, let out else { return Data() }
        defer { certroll_OPENSSL_free(out) }
        return Data(bytes: out, count: Int(length))
    }

    /// `RSA 4096`, `EC P-256`.
    public var summary: String { Self.summary(of: pointer) }

    /// True when `certificate` carries this key's public half.
    public func matches(_ certificate: Certificate) -> Bool {
        guard let publicKey = X509_get0_pubkey(certificate.pointer) else { return false }
        return EVP_PKEY_eq(publicKey, pointer) == 1
    }

    static func summary(of key: OpaquePointer) -> String {
        let bits = EVP_PKEY_get_bits(key)
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA: return "RSA \(bits)"
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else { return "EC \(bits)" }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            switch group {
            case "prime256v1", "P-256": return "EC P-256"
            case "secp384r1", "P-384": return "EC P-384"
            case "secp521r1", "P-521": return "EC P-521"
            default: return "EC \(group)"
            }
        default:
            let name = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
            return "\(name) \(bits)"
        }
    }
}

/// Hands the passphrase to OpenSSL's PEM reader without a global.
private struct PassphraseContext {
    let bytes: UnsafeBufferPointer<UInt8>
}

/// `pem_password_cb`: copies the passphrase, or fails (never prompts) when there is none.
private let passphraseCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
    buffer, size, _, userData in
    guard let buffer, let userData else { return -1 }
    let bytes = userData.assumingMemoryBound(to: PassphraseContext.self).pointee.bytes
    guard let base = bytes.baseAddress, !bytes.isEmpty, bytes.count <= Int(size) else { return -1 }
    buffer.withMemoryRebound(to: UInt8.self, capacity: bytes.count) { $0.update(from: base, count: bytes.count) }
    return Int32(bytes.count)
}

/// A PEM key file: which kind it is, and opening it.
public struct KeyFile: Sendable {
    /// The name used in messages.
    public let file: String
    public let format: KeyFileFormat
    let block: PEMBlock

    /// Reads the kind of key in `data` without decrypting it. Throws when the
    /// file is empty, not PEM, truncated, or holds no key (e.g. a certificate).
    public init(data: Data, file: String) throws(PKIError) {
        let blocks = try PEM.blocks(in: data, file: file)
        guard let (block, format) = blocks.lazy.compactMap({ b in KeyFileFormat(block: b).map { (b, $0) } }).first else {
            if blocks.contains(where: { $0.label == "CERTIFICATE" || $0.label == "TRUSTED CERTIFICATE" }) {
                throw .certificateInsteadOfKey(file)
            }
            throw .noPrivateKey(file)
        }
        self.file = file
        self.format = format
        self.block = block
    }

    /// Reads `path` and its kind.
    public init(contentsOf path: String) throws(PKIError) {
        try self.init(data: readPKIFile(path), file: path)
    }

    /// Decrypts (when needed) and parses the key. Throws `passphraseRequired`,
    /// `wrongPassphrase` or `invalidKey`.
    public func open(passphrase: Secret?) throws(PKIError) -> PrivateKey {
        try PrivateKey.open(block, format: format, passphrase: passphrase, file: file)
    }
}
