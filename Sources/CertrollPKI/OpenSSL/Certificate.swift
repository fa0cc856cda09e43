import COpenSSL
public import Foundation

/// An X.509 certificate (owns one `X509`). Fields are read once at parse time.
public final class Certificate: @unchecked Sendable, CustomStringConvertible {
    let pointer: OpaquePointer

    public let der: Data
    public let subject: DistinguishedName
    public let issuer: DistinguishedName
    /// nil when the certificate has no subjectAltName extension.
    public let subjectAlternativeNames: [SubjectAlternativeName]?
    public let notBefore: Date
    public let notAfter: Date
    /// Lowercase hex.
    public let serialNumber: String
    /// SHA-256 of the DER, lowercase hex without separators.
    public let fingerprintSHA256: String
    /// Lowercase hex.
    public let subjectKeyIdentifier: String?
    /// The keyIdentifier of authorityKeyIdentifier, lowercase hex.
    public let authorityKeyIdentifier: String?
    public let basicConstraints: BasicConstraints?
    /// nil when the extension is absent (every usage allowed).
    public let keyUsage: KeyUsage?
    /// nil when the extension is absent (every purpose allowed).
    public let extendedKeyUsage: ExtendedKeyUsage?
    /// e.g. `sha256WithRSAEncryption`.
    public let signatureAlgorithm: String
    /// e.g. `RSA 2048`, `EC P-256`.
    public let publicKeySummary: String

    /// Parses one DER certificate.
    public convenience init(der: Data) throws(PKIError) {
        switch Self.parse(der) {
        case .success(let parsed): self.init(owning: parsed)
        case .failure(let error): throw .openSSL("parse a certificate", error.summary)
        }
    }

    /// `d2i_X509`, with OpenSSL's reasons on failure.
    private static func parse(_ der: Data) -> Result<OpaquePointer, OpenSSLError> {
        OpenSSLError.clear()
        let parsed: OpaquePointer? = der.withUnsafeBytes { raw in
            var cursor: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            return d2i_X509(nil, &cursor, raw.count)
        }
        guard let parsed else { return .failure(OpenSSLError.drain()) }
        return .success(parsed)
    }

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
        var derOut: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(pointer, &derOut)
        if length > 0, let derOut {
            der = Data(bytes: derOut, count: Int(length))
            certroll_OPENSSL_free(derOut)
        } else {
            der = Data()
        }
        subject = Self.name(X509_get_subject_name(pointer))
        issuer = Self.name(X509_get_issuer_name(pointer))
        subjectAlternativeNames = Self.alternativeNames(pointer)
        notBefore = Self.date(X509_get0_notBefore(pointer))
        notAfter = Self.date(X509_get0_notAfter(pointer))
        serialNumber = Self.serial(pointer)

        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var digestLength: UInt32 = 0
        X509_digest(pointer, EVP_sha256(), &digest, &digestLength)
        fingerprintSHA256 = hex(digest.prefix(Int(digestLength)))

        subjectKeyIdentifier = X509_get0_subject_key_id(pointer).map { Self.bytes(of: $0) }.map(hex)
        authorityKeyIdentifier = X509_get0_authority_key_id(pointer).map { Self.bytes(of: $0) }.map(hex)

        let flags = X509_get_extension_flags(pointer)
        if flags & UInt32(EXFLAG_BCONS) != 0 {
            let length = X509_get_pathlen(pointer)
            basicConstraints = BasicConstraints(isCA: flags & UInt32(EXFLAG_CA) != 0, pathLength: length >= 0 ? Int(length) : nil)
        } else {
            basicConstraints = nil
        }
        keyUsage = flags & UInt32(EXFLAG_KUSAGE) != 0 ? Self.keyUsage(X509_get_key_usage(pointer)) : nil
        extendedKeyUsage = flags & UInt32(EXFLAG_XKUSAGE) != 0 ? Self.extendedKeyUsage(X509_get_extended_key_usage(pointer)) : nil
        signatureAlgorithm = String(cString: OBJ_nid2ln(X509_get_signature_nid(pointer)))
        publicKeySummary = X509_get0_pubkey(pointer).map { PrivateKey.summary(of: $0) } ?? "unknown key"
    }

    deinit { X509_free(pointer) }

    /// The certificate as a PEM block.
    public var pem: String { PEM.encode(der, label: "CERTIFICATE") }

    /// Subject equals issuer (a root, or a self-signed leaf).
    public var isSelfIssued: Bool { subject == issuer }

    /// True when `candidate` could have issued this certificate: its subject is
    /// our issuer, key identifiers agree, and its key usage allows signing.
    public func isIssued(by candidate: Certificate) -> Bool {
        X509_check_issued(candidate.pointer, pointer) == X509_V_OK
    }

    /// True when `issuerCertificate`'s public key verifies our signature.
    public func signatureVerifies(with issuerCertificate: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuerCertificate.pointer) else { return false }
        OpenSSLError.clear()
        defer { OpenSSLError.clear() }
        return X509_verify(pointer, key) == 1
    }

    public var description: String { subject.text }

    /// Every certificate in a PEM bundle, in file order. Blocks of other kinds
    /// are returned in `others` (a private key pasted into the chain file).
    public static func bundle(from data: Data, file: String) throws(PKIError) -> (certificates: [Certificate], others: [PEMBlock]) {
        let blocks = try PEM.blocks(in: data, file: file)
        var certificates: [Certificate] = []
        var others: [PEMBlock] = []
        for block in blocks {
            guard block.label == "CERTIFICATE" || block.label == "X509 CERTIFICATE" else {
                others.append(block)
                continue
            }
            switch parse(block.der) {
            case .success(let parsed): certificates.append(Certificate(owning: parsed))
            case .failure(let error): throw .invalidCertificate(file, block: block.index, error.summary)
            }
        }
        if certificates.isEmpty {
            if others.contains(where: { KeyFileFormat(block: $0) != nil }) { throw .keyInsteadOfCertificate(file) }
            if others.contains(where: { $0.label.hasSuffix("CERTIFICATE REQUEST") }) { throw .requestInsteadOfCertificate(file) }
            throw .noCertificate(file)
        }
        return (certificates, others)
    }

    // MARK: Field readers

    private static func name(_ name: OpaquePointer?) -> DistinguishedName {
        guard let name else { return DistinguishedName(text: "", der: Data(), commonName: nil) }
        var text = ""
        if let bio = try? MemoryBIO() {
            X509_NAME_print_ex(bio.pointer, name, 0, certroll_name_print_flags())
            text = bio.string
        }
        var der = Data()
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509_NAME(name, &out)
        if length > 0, let out {
            der = Data(bytes: out, count: Int(length))
            certroll_OPENSSL_free(out)
        }
        var commonName: String?
        var index: Int32 = -1
        while true {
            index = X509_NAME_get_index_by_NID(name, NID_commonName, index)
            if index < 0 { break }
            if let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) {
                commonName = utf8(data)
            }
        }
        return DistinguishedName(text: text, der: der, commonName: commonName)
    }

    private static func utf8(_ string: UnsafeMutablePointer<ASN1_STRING>) -> String? {
        var out: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&out, string)
        guard length >= 0, let out else { return nil }
        defer { certroll_OPENSSL_free(out) }
        return String(decoding: UnsafeBufferPointer(start: out, count: Int(length)), as: UTF8.self)
    }

    private static func bytes(of string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(string))
        guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    private static func alternativeNames(_ x509: OpaquePointer) -> [SubjectAlternativeName]? {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return nil }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [SubjectAlternativeName] = []
        for index in 0..<certroll_sk_GENERAL_NAME_num(names) {
            guard let general = certroll_sk_GENERAL_NAME_value(names, index) else { continue }
            var type: Int32 = 0
            guard let value = GENERAL_NAME_get0_value(general, &type) else { continue }
            let string = UnsafePointer(value.assumingMemoryBound(to: ASN1_STRING.self))
            switch type {
            case GEN_DNS:
                result.append(.dns(String(decoding: bytes(of: string), as: UTF8.self)))
            case GEN_IPADD:
                result.append(.ip(IPAddress.text(bytes(of: string)) ?? hex(bytes(of: string))))
            case GEN_EMAIL:
                result.append(.other("email:\(String(decoding: bytes(of: string), as: UTF8.self))"))
            case GEN_URI:
                result.append(.other("URI:\(String(decoding: bytes(of: string), as: UTF8.self))"))
            default:
                result.append(.other("other name (type \(type))"))
            }
        }
        return result
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    private static func serial(_ x509: OpaquePointer) -> String {
        guard let integer = X509_get0_serialNumber(x509), let bignum = ASN1_INTEGER_to_BN(integer, nil) else { return "" }
        defer { BN_free(bignum) }
        guard let text = BN_bn2hex(bignum) else { return "" }
        defer { certroll_OPENSSL_free(text) }
        return String(cString: text).lowercased()
    }

    private static func keyUsage(_ bits: UInt32) -> KeyUsage {
        var usage: KeyUsage = []
        let map: [(Int32, KeyUsage)] = [
            (KU_DIGITAL_SIGNATURE, .digitalSignature), (KU_KEY_ENCIPHERMENT, .keyEncipherment),
            (KU_KEY_AGREEMENT, .keyAgreement), (KU_KEY_CERT_SIGN, .keyCertSign), (KU_CRL_SIGN, .crlSign),
            (KU_NON_REPUDIATION, .nonRepudiation), (KU_DATA_ENCIPHERMENT, .dataEncipherment),
        ]
        for (bit, flag) in map where bits & UInt32(bit) != 0 { usage.insert(flag) }
        return usage
    }

    private static func extendedKeyUsage(_ bits: UInt32) -> ExtendedKeyUsage {
        var usage: ExtendedKeyUsage = []
        let map: [(Int32, ExtendedKeyUsage)] = [
            (XKU_SSL_SERVER, .serverAuth), (XKU_SSL_CLIENT, .clientAuth), (XKU_CODE_SIGN, .codeSigning),
            (XKU_SMIME, .emailProtection), (XKU_TIMESTAMP, .timeStamping), (XKU_OCSP_SIGN, .ocspSigning),
            (XKU_ANYEKU, .any),
        ]
        for (bit, flag) in map where bits & UInt32(bit) != 0 { usage.insert(flag) }
        return usage
    }
}
