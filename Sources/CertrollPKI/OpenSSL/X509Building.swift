import COpenSSL
public import Foundation

/// What to request or issue: the subject and the names a certificate covers.
public struct CertificateSubject: Sendable, Equatable {
    /// The common name (also put first in the SANs).
    public var commonName: String
    /// Extra subject attributes from `/C=US/O=Example`, in order; a CN there is ignored.
    public var attributes: [SubjectAttribute]
    /// SAN entries: DNS names and IP addresses (the CN is added when missing).
    public var alternativeNames: [SubjectAlternativeName]

    public struct SubjectAttribute: Sendable, Equatable {
        public var attribute: String
        public var value: String
        public init(_ attribute: String, _ value: String) {
            self.attribute = attribute
            self.value = value
        }
    }

    /// Validates names; `subject` is the `/C=../O=..` string, `sans` the extra names.
    /// With `sanIncludesCommonName` the CN is also the first SAN (browsers ignore the CN).
    public init(commonName: String, subject: String? = nil, sans: [String] = [], sanIncludesCommonName: Bool = true) throws(PKIError) {
        guard !commonName.isEmpty else { throw .invalidName(commonName, "the common name is empty") }
        self.commonName = commonName
        var attributes: [SubjectAttribute] = []
        if let subject {
            for (attribute, value) in try Names.parseSubject(subject) where attribute.uppercased() != "CN" {
                attributes.append(SubjectAttribute(attribute, value))
            }
        }
        self.attributes = attributes
        var names: [SubjectAlternativeName] = []
        for name in (sanIncludesCommonName ? [commonName] : []) + sans {
            let parsed = try Names.alternativeName(name)
            if !names.contains(parsed) { names.append(parsed) }
        }
        self.alternativeNames = names
    }

    /// The subjectAltName value in OpenSSL's config syntax (names are validated, so no commas).
    var sanConfig: String? {
        guard !alternativeNames.isEmpty else { return nil }
        return alternativeNames.compactMap { name -> String? in
            switch name {
            case .dns(let dns): "DNS:\(dns)"
            case .ip(let ip): "IP:\(ip)"
            case .other: nil
            }
        }.joined(separator: ",")
    }

    /// Adds the attributes then the CN to an X509_NAME.
    func fill(_ name: OpaquePointer) throws(PKIError) {
        for entry in attributes + [SubjectAttribute("CN", commonName)] {
            OpenSSLError.clear()
            let added = entry.value.withCString { value in
                X509_NAME_add_entry_by_txt(name, entry.attribute, MBSTRING_UTF8, value, -1, -1, 0)
            }
            guard added == 1 else {
                let detail = OpenSSLError.drain().summary
                throw .invalidSubject("/\(entry.attribute)=\(entry.value)", "OpenSSL refused it (\(detail))")
            }
        }
    }
}

/// Makes certificate signing requests.
public enum CertificateRequest {
    /// A PEM CSR for `subject`, signed with `key` using SHA-256.
    public static func make(_ subject: CertificateSubject, key: PrivateKey) throws(PKIError) -> String {
        let request = try RequestHandle()
        OpenSSLError.clear()
        guard X509_REQ_set_version(request.pointer, 0) == 1,
              let name = X509_REQ_get_subject_name(request.pointer) else { throw OpenSSLError.failure("start a CSR") }
        try subject.fill(name)
        guard X509_REQ_set_pubkey(request.pointer, key.pointer) == 1 else { throw OpenSSLError.failure("set the CSR key") }
        if let san = subject.sanConfig {
            guard let extensions = certroll_sk_X509_EXTENSION_new_null() else { throw OpenSSLError.failure("allocate extensions") }
            defer { certroll_sk_X509_EXTENSION_free_all(extensions) }
            guard let ext = X509V3_EXT_conf_nid(nil, nil, NID_subject_alt_name, san) else {
                throw OpenSSLError.failure("encode the subjectAltName")
            }
            guard certroll_sk_X509_EXTENSION_push(extensions, ext) > 0 else {
                X509_EXTENSION_free(ext)
                throw OpenSSLError.failure("add the subjectAltName")
            }
            guard X509_REQ_add_extensions(request.pointer, extensions) == 1 else {
                throw OpenSSLError.failure("add the CSR extensions")
            }
        }
        guard X509_REQ_sign(request.pointer, key.pointer, EVP_sha256()) > 0 else { throw OpenSSLError.failure("sign the CSR") }
        let bio = try MemoryBIO()
        guard PEM_write_bio_X509_REQ(bio.pointer, request.pointer) == 1 else { throw OpenSSLError.failure("write the CSR") }
        return bio.string
    }
}

/// Owns one `X509_REQ`.
private final class RequestHandle {
    let pointer: OpaquePointer
    init() throws(PKIError) {
        guard let request = X509_REQ_new() else { throw OpenSSLError.failure("allocate a CSR") }
        pointer = request
    }
    deinit { X509_REQ_free(pointer) }
}

/// Owns one `X509` while it is being built.
private final class CertificateHandle {
    var pointer: OpaquePointer?
    init() throws(PKIError) {
        guard let x509 = X509_new() else { throw OpenSSLError.failure("allocate a certificate") }
        pointer = x509
    }
    /// Hands ownership to the caller.
    func take() -> OpaquePointer? {
        defer { pointer = nil }
        return pointer
    }
    deinit { if let pointer { X509_free(pointer) } }
}

/// What goes into an issued certificate besides its subject and key.
public struct CertificateProfile: Sendable {
    public var subject: CertificateSubject
    public var notBefore: Date
    public var notAfter: Date
    /// nil: a random positive 63-bit serial.
    public var serial: UInt64?
    /// basicConstraints CA:TRUE (critical) when true, CA:FALSE otherwise.
    public var isCA: Bool
    public var pathLength: Int?
    /// nil: no keyUsage extension.
    public var keyUsage: KeyUsage?
    /// nil: no extendedKeyUsage extension.
    public var extendedKeyUsage: ExtendedKeyUsage?
    /// Adds subjectKeyIdentifier and authorityKeyIdentifier.
    public var keyIdentifiers: Bool

    public init(
        subject: CertificateSubject, notBefore: Date, notAfter: Date, serial: UInt64? = nil, isCA: Bool,
        pathLength: Int? = nil, keyUsage: KeyUsage?, extendedKeyUsage: ExtendedKeyUsage?, keyIdentifiers: Bool = true
    ) {
        self.subject = subject
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.serial = serial
        self.isCA = isCA
        self.pathLength = pathLength
        self.keyUsage = keyUsage
        self.extendedKeyUsage = extendedKeyUsage
        self.keyIdentifiers = keyIdentifiers
    }

    /// A CA certificate: keyCertSign + cRLSign, no SAN.
    public static func certificateAuthority(
        _ name: String, organization: String? = nil, notBefore: Date, notAfter: Date, pathLength: Int? = nil
    ) throws(PKIError) -> CertificateProfile {
        CertificateProfile(
            subject: try CertificateSubject(
                commonName: name, subject: organization.map { "/O=\($0.replacingOccurrences(of: "/", with: "\\/"))" },
                sanIncludesCommonName: false),
            notBefore: notBefore, notAfter: notAfter, isCA: true, pathLength: pathLength,
            keyUsage: [.keyCertSign, .crlSign, .digitalSignature], extendedKeyUsage: nil)
    }

    /// A TLS server certificate: digitalSignature + keyEncipherment, serverAuth.
    public static func tlsServer(_ subject: CertificateSubject, notBefore: Date, notAfter: Date) -> CertificateProfile {
        CertificateProfile(
            subject: subject, notBefore: notBefore, notAfter: notAfter, isCA: false,
            keyUsage: [.digitalSignature, .keyEncipherment], extendedKeyUsage: [.serverAuth, .clientAuth])
    }
}

/// Signs certificates with a CA key (for test PKIs and the demo sandbox).
public struct CertificateIssuer: Sendable {
    public let certificate: Certificate
    public let key: PrivateKey

    public init(certificate: Certificate, key: PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// A self-signed root CA (or a self-signed server certificate, given a server profile).
    public static func selfSigned(_ profile: CertificateProfile, key: PrivateKey) throws(PKIError) -> CertificateIssuer {
        CertificateIssuer(certificate: try build(profile, subjectKey: key, issuer: nil, signer: key), key: key)
    }

    /// Issues a certificate for `subjectKey`'s public key.
    public func issue(_ profile: CertificateProfile, for subjectKey: PrivateKey) throws(PKIError) -> Certificate {
        try Self.build(profile, subjectKey: subjectKey, issuer: certificate, signer: key)
    }

    /// Issues an intermediate CA and returns it as a new issuer.
    public func issueAuthority(_ profile: CertificateProfile, key subjectKey: PrivateKey) throws(PKIError) -> CertificateIssuer {
        CertificateIssuer(certificate: try issue(profile, for: subjectKey), key: subjectKey)
    }

    private static func build(
        _ profile: CertificateProfile, subjectKey: PrivateKey, issuer: Certificate?, signer: PrivateKey
    ) throws(PKIError) -> Certificate {
        let handle = try CertificateHandle()
        guard let x509 = handle.pointer else { throw .openSSL("build a certificate", "no handle") }
        OpenSSLError.clear()
        let serial = profile.serial ?? UInt64.random(in: 1...UInt64(Int64.max))
        guard X509_set_version(x509, 2) == 1,
              ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial) == 1,
              ASN1_TIME_set(X509_getm_notBefore(x509), time_t(profile.notBefore.timeIntervalSince1970)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(x509), time_t(profile.notAfter.timeIntervalSince1970)) != nil,
              X509_set_pubkey(x509, subjectKey.pointer) == 1,
              let name = X509_get_subject_name(x509)
        else { throw OpenSSLError.failure("fill in the certificate") }
        try profile.subject.fill(name)
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? name
        guard X509_set_issuer_name(x509, issuerName) == 1 else { throw OpenSSLError.failure("set the issuer") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.pointer ?? x509, x509, nil, nil, 0)
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, profile.isCA
                ? "critical,CA:TRUE" + (profile.pathLength.map { ",pathlen:\($0)" } ?? "") : "critical,CA:FALSE"),
        ]
        if let usage = profile.keyUsage { extensions.append((NID_key_usage, "critical," + usage.description.replacingOccurrences(of: " ", with: ""))) }
        if let usage = profile.extendedKeyUsage { extensions.append((NID_ext_key_usage, usage.description.replacingOccurrences(of: " ", with: ""))) }
        if profile.keyIdentifiers {
            extensions.append((NID_subject_key_identifier, "hash"))
            extensions.append((NID_authority_key_identifier, "keyid:always"))
        }
        if let san = profile.subject.sanConfig { extensions.append((NID_subject_alt_name, san)) }
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw OpenSSLError.failure("encode extension \(String(cString: OBJ_nid2sn(nid)))=\(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else { throw OpenSSLError.failure("add an extension") }
        }
        guard X509_sign(x509, signer.pointer, EVP_sha256()) > 0 else { throw OpenSSLError.failure("sign the certificate") }
        guard let owned = handle.take() else { throw .openSSL("build a certificate", "no handle") }
        return Certificate(owning: owned)
    }
}
