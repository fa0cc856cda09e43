/// The algorithm and size of a key to generate (`--key-type`).
public enum KeyType: Sendable, Hashable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(Curve)

    /// The EC curves XSOAR (Go's crypto/tls) serves.
    public enum Curve: String, Sendable, Hashable, CaseIterable {
        case p256, p384
        /// OpenSSL's group name.
        var openSSLName: String { self == .p256 ? "P-256" : "P-384" }
        var displayName: String { self == .p256 ? "P-256" : "P-384" }
    }

    /// XSOAR's vendor procedure uses RSA 4096.
    public static let `default` = KeyType.rsa(bits: 4096)

    /// The accepted spellings, for help text.
    public static let allNames = ["rsa:4096", "rsa:3072", "rsa:2048", "ec:p256", "ec:p384"]

    /// Parses `rsa:4096`, `rsa:3072`, `rsa:2048`, `ec:p256`, `ec:p384`.
    public init?(name: String) {
        switch name.lowercased() {
        case "rsa:4096": self = .rsa(bits: 4096)
        case "rsa:3072": self = .rsa(bits: 3072)
        case "rsa:2048": self = .rsa(bits: 2048)
        case "ec:p256", "ec:p-256", "ec:prime256v1": self = .ec(.p256)
        case "ec:p384", "ec:p-384", "ec:secp384r1": self = .ec(.p384)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .rsa(let bits): "rsa:\(bits)"
        case .ec(let curve): "ec:\(curve.rawValue)"
        }
    }
}

/// How a PEM private key file is written, as `openssl` tools would call it.
public enum KeyFileFormat: Sendable, Hashable, CustomStringConvertible {
    /// `BEGIN RSA PRIVATE KEY`, unencrypted.
    case pkcs1
    /// `BEGIN EC PRIVATE KEY`, unencrypted.
    case sec1
    /// `BEGIN PRIVATE KEY`, unencrypted.
    case pkcs8
    /// `BEGIN ENCRYPTED PRIVATE KEY`: XSOAR cannot load it.
    case pkcs8Encrypted
    /// PKCS#1 or SEC1 with `Proc-Type: 4,ENCRYPTED` and `DEK-Info: cipher,iv`:
    /// the form XSOAR loads with the passphrase from its OTC file.
    case legacyEncrypted(cipher: String)

    /// Reads the format from the key's PEM label and headers.
    public init?(block: PEMBlock) {
        switch block.label {
        case "RSA PRIVATE KEY", "EC PRIVATE KEY":
            if block.headers["Proc-Type"]?.uppercased().contains("ENCRYPTED") == true {
                let dek = block.headers["DEK-Info"] ?? "unknown cipher"
                self = .legacyEncrypted(cipher: String(dek.split(separator: ",").first ?? Substring(dek)))
            } else {
                self = block.label == "RSA PRIVATE KEY" ? .pkcs1 : .sec1
            }
        case "PRIVATE KEY": self = .pkcs8
        case "ENCRYPTED PRIVATE KEY": self = .pkcs8Encrypted
        default: return nil
        }
    }

    public var isEncrypted: Bool {
        switch self {
        case .pkcs1, .sec1, .pkcs8: false
        case .pkcs8Encrypted, .legacyEncrypted: true
        }
    }

    /// True for the forms XSOAR loads (everything but encrypted PKCS#8).
    public var loadsInXSOAR: Bool { self != .pkcs8Encrypted }

    public var description: String {
        switch self {
        case .pkcs1: "unencrypted PKCS#1 (BEGIN RSA PRIVATE KEY)"
        case .sec1: "unencrypted SEC1 (BEGIN EC PRIVATE KEY)"
        case .pkcs8: "unencrypted PKCS#8 (BEGIN PRIVATE KEY)"
        case .pkcs8Encrypted: "encrypted PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY)"
        case .legacyEncrypted(let cipher): "legacy encrypted PEM (Proc-Type: 4,ENCRYPTED, DEK-Info: \(cipher))"
        }
    }
}

/// The cipher of a legacy encrypted key (`--cipher`).
public enum KeyCipher: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case aes256, aes128, des3
    public static let `default` = KeyCipher.aes256
    /// The name in the `DEK-Info` header.
    public var dekInfoName: String {
        switch self {
        case .aes256: "AES-256-CBC"
        case .aes128: "AES-128-CBC"
        case .des3: "DES-EDE3-CBC"
        }
    }
    public var description: String { rawValue }
}
