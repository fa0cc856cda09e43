import COpenSSL
public import CertrollCore
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A certificate chain and its private key, loaded the way the Cortex XSOAR 6
/// server loads `cert.pem` and `cert.key`.
///
/// Accepted: an unencrypted key (PKCS#1, SEC1 or PKCS#8), or a legacy
/// `Proc-Type`/`DEK-Info` encrypted key with the right passphrase. Refused,
/// each with its own `TLSError.Code`: a PKCS#8-encrypted key (`BEGIN ENCRYPTED
/// PRIVATE KEY`), an encrypted key without or with a wrong passphrase, and a
/// key that does not match the FIRST certificate of the chain file.
public final class TLSServerIdentity: @unchecked Sendable {
    // Immutable after init; OpenSSL's X509/EVP_PKEY are safe to share read-only.
    fileprivate let chain: [TLSCertificate]
    fileprivate let key: TLSPrivateKey
    /// True when the key file was legacy-encrypted.
    public let keyWasEncrypted: Bool

    private init(chain: [TLSCertificate], key: TLSPrivateKey, keyWasEncrypted: Bool) {
        self.chain = chain
        self.key = key
        self.keyWasEncrypted = keyWasEncrypted
    }

    /// Number of certificates in the chain file (leaf first).
    public var chainLength: Int { chain.count }
    /// SHA-256 of the leaf's DER, lowercase hex.
    public var leafFingerprint: String { TLSOpenSSL.sha256Hex(chain[0].der) }

    /// Loads the chain from `certificateFile` and the key from `keyFile`.
    public static func load(certificateFile: String, keyFile: String, keypass: Secret?) throws(TLSError) -> TLSServerIdentity {
        let chainPEM = try read(certificateFile)
        let chain = TLSCertificate.readAll(pem: chainPEM)
        guard !chain.isEmpty else {
            throw TLSError(.certificateInvalid,
                           "certificate file holds no PEM CERTIFICATE block; put the leaf, then the intermediates, then the root in it",
                           file: certificateFile)
        }
        let keyPEM = try read(keyFile)
        let keyText = String(decoding: keyPEM, as: UTF8.self)
        if keyText.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            throw TLSError(.keyPKCS8Encrypted,
                           "private key is PKCS#8-encrypted (BEGIN ENCRYPTED PRIVATE KEY), which XSOAR cannot load; convert it to the legacy DEK-Info form (certroll key convert)",
                           file: keyFile)
        }
        let encrypted = keyText.contains("Proc-Type: 4,ENCRYPTED") && keyText.contains("DEK-Info:")
        if encrypted && (keypass == nil || keypass!.isEmpty) {
            throw TLSError(.keyPassphraseMissing,
                           "private key is encrypted but no keypass is known; write {\"keypass\":\"...\"} to the OTC file and start again",
                           file: keyFile)
        }
        // With a NULL callback OpenSSL reads `u` as the NUL-terminated passphrase;
        // an empty one (never NULL) keeps it from prompting on a terminal.
        var passphrase: [CChar] = (keypass?.bytes ?? []).map { CChar(bitPattern: $0) } + [0]
        let bio = TLSMemoryBIO(keyPEM)
        TLSOpenSSL.clearErrors()
        let pkey = passphrase.withUnsafeMutableBytes { raw in
            PEM_read_bio_PrivateKey(bio.pointer, nil, nil, raw.baseAddress)
        }
        for index in passphrase.indices { passphrase[index] = 0 }
        guard let pkey else {
            let detail = TLSOpenSSL.drainErrors()
            if encrypted {
                throw TLSError(.keyPassphraseWrong,
                               "keypass does not decrypt the private key (\(detail)); write the right one to the OTC file and start again",
                               file: keyFile)
            }
            throw TLSError(.keyInvalid, "no private key could be read (\(detail))", file: keyFile)
        }
        let key = TLSPrivateKey(taking: pkey)
        guard X509_check_private_key(chain[0].pointer, key.pointer) == 1 else {
            TLSOpenSSL.clearErrors()
            throw TLSError(.keyMismatch,
                           "private key does not match the first certificate of \(certificateFile); the leaf must come first and belong to this key",
                           file: keyFile)
        }
        return TLSServerIdentity(chain: chain, key: key, keyWasEncrypted: encrypted)
    }

    private static func read(_ path: String) throws(TLSError) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TLSError(.fileUnreadable, "cannot be opened: \(String(cString: strerror(errno))); check the path, owner and mode", file: path)
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = Glibc.read(fd, &buffer, buffer.count)
            if got == 0 { return data }
            if got < 0 {
                if errno == EINTR { continue }
                throw TLSError(.fileUnreadable, "cannot be read: \(String(cString: strerror(errno)))", file: path)
            }
            data.append(contentsOf: buffer.prefix(got))
        }
    }
}

/// A listening TLS 1.2/1.3 server socket that serves a `TLSServerIdentity`
/// with its whole chain.
///
/// `accept()` blocks: call it from a dedicated thread. Connections may be
/// handled on other threads; the shared `SSL_CTX` is thread-safe.
public final class TLSServer: @unchecked Sendable {
    private let context: TLSContextHandle
    private let socket: TLSSocket
    /// The bound port (useful when 0 was asked for).
    public let port: Int
    /// `address:port` the server listens on.
    public let endpoint: String

    /// Binds `address:port` (`nil` address: all IPv4 addresses) and listens.
    public init(identity: TLSServerIdentity, address: String? = nil, port: Int) throws(TLSError) {
        let endpoint = TLSError.endpoint(host: address ?? "0.0.0.0", port: port)
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError(.contextFailed, "cannot create a TLS context (\(TLSOpenSSL.drainErrors()))", endpoint: endpoint)
        }
        let context = TLSContextHandle(taking: ctx)
        guard certroll_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1,
              certroll_SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1
        else {
            throw TLSError(.contextFailed, "cannot limit TLS to 1.2-1.3 (\(TLSOpenSSL.drainErrors()))", endpoint: endpoint)
        }
        guard let extra = certroll_sk_X509_new_null() else { fatalError("sk_X509_new_null: out of memory") }
        defer { certroll_sk_X509_pop_free_all(extra) }
        for certificate in identity.chain.dropFirst() {
            X509_up_ref(certificate.pointer)
            _ = certroll_sk_X509_push(extra, certificate.pointer)
        }
        guard SSL_CTX_use_cert_and_key(ctx, identity.chain[0].pointer, identity.key.pointer, extra, 1) == 1 else {
            throw TLSError(.contextFailed, "cannot use the certificate and key (\(TLSOpenSSL.drainErrors()))", endpoint: endpoint)
        }
        self.context = context

        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(address ?? "0.0.0.0", String(port), &hints, &list)
        guard rc == 0, let info = list else {
            throw TLSError(.listenFailed, "cannot use the address: \(String(cString: gai_strerror(rc)))", endpoint: endpoint)
        }
        defer { freeaddrinfo(list) }
        let fd = Glibc.socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TLSError(.listenFailed, "socket(): \(String(cString: strerror(errno)))", endpoint: endpoint) }
        let socket = TLSSocket(fd: fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw TLSError(.listenFailed, "cannot bind: \(String(cString: strerror(errno)))", endpoint: endpoint)
        }
        guard listen(fd, 128) == 0 else {
            throw TLSError(.listenFailed, "cannot listen: \(String(cString: strerror(errno)))", endpoint: endpoint)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 ? $0 : nil }
        }
        var actualPort = port
        if bound != nil {
            if Int32(storage.ss_family) == AF_INET {
                actualPort = withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
                }
            } else if Int32(storage.ss_family) == AF_INET6 {
                actualPort = withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
                }
            }
        }
        self.socket = socket
        self.port = actualPort
        self.endpoint = TLSError.endpoint(host: address ?? "0.0.0.0", port: actualPort)
    }

    /// Waits for the next TCP connection; the TLS handshake is the connection's
    /// `handshake(timeout:)`, so a slow client cannot hold up `accept`.
    public func accept() throws(TLSError) -> TLSServerConnection {
        while true {
            let fd = Glibc.accept(socket.fd, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                guard let ssl = SSL_new(context.pointer) else {
                    Glibc.close(fd)
                    throw TLSError(.contextFailed, "SSL_new failed (\(TLSOpenSSL.drainErrors()))", endpoint: endpoint)
                }
                let connection = TLSServerConnection(session: TLSSession(taking: ssl), socket: TLSSocket(fd: fd), endpoint: endpoint)
                return connection
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw TLSError(.ioFailed, "accept(): \(String(cString: strerror(errno)))", endpoint: endpoint)
        }
    }
}

/// One accepted connection of a `TLSServer`. Use it from one thread at a time.
public final class TLSServerConnection: @unchecked Sendable {
    private let session: TLSSession
    private let socket: TLSSocket
    private let endpoint: String

    fileprivate init(session: TLSSession, socket: TLSSocket, endpoint: String) {
        self.session = session
        self.socket = socket
        self.endpoint = endpoint
        SSL_set_fd(session.pointer, socket.fd)
    }

    deinit {
        let session = self.session
        TLSOpenSSL.withoutSIGPIPE { _ = SSL_shutdown(session.pointer) }
    }

    /// The negotiated protocol ("TLSv1.3") after the handshake.
    public var protocolVersion: String { session.protocolVersion }

    /// Completes the server side of the handshake; `timeout` also bounds each later read and write.
    public func handshake(timeout: Duration) throws(TLSError) {
        socket.setIOTimeout(timeout)
        TLSOpenSSL.clearErrors()
        let session = self.session
        guard TLSOpenSSL.withoutSIGPIPE({ SSL_accept(session.pointer) }) == 1 else {
            throw TLSError(.handshakeFailed, "TLS handshake with a client failed (\(TLSOpenSSL.drainErrors(fallback: "peer closed or timed out")))", endpoint: endpoint)
        }
    }

    /// Up to `maximum` bytes; empty at end of stream.
    public func read(upTo maximum: Int = 16384) throws(TLSError) -> Data {
        var buffer = [UInt8](repeating: 0, count: maximum)
        var got = 0
        let session = self.session
        let ok = TLSOpenSSL.withoutSIGPIPE { SSL_read_ex(session.pointer, &buffer, maximum, &got) }
        if ok == 1 { return Data(buffer.prefix(got)) }
        let error = SSL_get_error(session.pointer, 0)
        if error == SSL_ERROR_ZERO_RETURN { return Data() }
        throw TLSError(.ioFailed, "read failed (\(TLSOpenSSL.drainErrors(fallback: "peer closed or timed out")))", endpoint: endpoint)
    }

    /// Writes all of `data`.
    public func write(_ data: Data) throws(TLSError) {
        var written = 0
        let session = self.session
        let ok = TLSOpenSSL.withoutSIGPIPE {
            data.withUnsafeBytes { raw in SSL_write_ex(session.pointer, raw.baseAddress, raw.count, &written) }
        }
        guard ok == 1 else {
            throw TLSError(.ioFailed, "write failed (\(TLSOpenSSL.drainErrors(fallback: "peer closed or timed out")))", endpoint: endpoint)
        }
    }
}
