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
    fileprivate let chain: [Certificate]
    fileprivate let key: PrivateKey
    /// True when the key file was legacy-encrypted.
    public let keyWasEncrypted: Bool

    private init(chain: [Certificate], key: PrivateKey, keyWasEncrypted: Bool) {
        self.chain = chain
        self.key = key
        self.keyWasEncrypted = keyWasEncrypted
    }

    /// Number of certificates in the chain file (leaf first).
    public var chainLength: Int { chain.count }
    /// SHA-256 of the leaf's DER, lowercase hex.
    public var leafFingerprint: String { chain[0].fingerprintSHA256 }

    /// Loads the chain from `certificateFile` and the key from `keyFile`, with
    /// the same PEM and key readers `certroll check` uses, and XSOAR's rules:
    /// no PKCS#8-encrypted key, an encrypted key needs the keypass, the key
    /// must match the first certificate.
    public static func load(certificateFile: String, keyFile: String, keypass: Secret?) throws(TLSError) -> TLSServerIdentity {
        let chainPEM = try read(certificateFile)
        let chain: [Certificate]
        do throws(PKIError) {
            chain = try Certificate.bundle(from: chainPEM, file: certificateFile).certificates
        } catch {
            throw TLSError(.certificateInvalid, error.reason, file: certificateFile)
        }
        guard !chain.isEmpty else {
            throw TLSError(.certificateInvalid,
                           "certificate file holds no PEM CERTIFICATE block; put the leaf, then the intermediates, then the root in it",
                           file: certificateFile)
        }
        let keyPEM = try read(keyFile)
        let keyFileContents: KeyFile
        do throws(PKIError) {
            keyFileContents = try KeyFile(data: keyPEM, file: keyFile)
        } catch {
            throw TLSError(.keyInvalid, "no private key could be read (\(error.reason))", file: keyFile)
        }
        let format = keyFileContents.format
        if format == .pkcs8Encrypted {
            throw TLSError(.keyPKCS8Encrypted,
                           "private key is PKCS#8-encrypted (BEGIN ENCRYPTED PRIVATE KEY), which XSOAR cannot load; convert it to the legacy DEK-Info form (certroll key convert)",
                           file: keyFile)
        }
        if format.isEncrypted && (keypass == nil || keypass!.isEmpty) {
            throw TLSError(.keyPassphraseMissing,
                           "private key is encrypted but no keypass is known; write {\"keypass\":\"...\"} to the OTC file and start again",
                           file: keyFile)
        }
        let key: PrivateKey
        do throws(PKIError) {
            key = try keyFileContents.open(passphrase: keypass)
        } catch {
            if error.code == .wrongPassphrase {
                throw TLSError(.keyPassphraseWrong,
                               "keypass does not decrypt the private key; write the right one to the OTC file and start again",
                               file: keyFile)
            }
            throw TLSError(.keyInvalid, "no private key could be read (\(error.reason))", file: keyFile)
        }
        guard X509_check_private_key(chain[0].pointer, key.pointer) == 1 else {
            OpenSSLError.clear()
            throw TLSError(.keyMismatch,
                           "private key does not match the first certificate of \(certificateFile); the leaf must come first and belong to this key",
                           file: keyFile)
        }
        return TLSServerIdentity(chain: chain, key: key, keyWasEncrypted: format.isEncrypted)
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
            throw TLSError(.contextFailed, "cannot create a TLS context (\(OpenSSLError.drain().summary))", endpoint: endpoint)
        }
        let context = TLSContextHandle(taking: ctx)
        guard certroll_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1,
              certroll_SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1
        else {
            throw TLSError(.contextFailed, "cannot limit TLS to 1.2-1.3 (\(OpenSSLError.drain().summary))", endpoint: endpoint)
        }
        guard let extra = certroll_sk_X509_new_null() else { fatalError("sk_X509_new_null: out of memory") }
        defer { certroll_sk_X509_pop_free_all(extra) }
        for certificate in identity.chain.dropFirst() {
            X509_up_ref(certificate.pointer)
            _ = certroll_sk_X509_push(extra, certificate.pointer)
        }
        guard SSL_CTX_use_cert_and_key(ctx, identity.chain[0].pointer, identity.key.pointer, extra, 1) == 1 else {
            throw TLSError(.contextFailed, "cannot use the certificate and key (\(OpenSSLError.drain().summary))", endpoint: endpoint)
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
                    throw TLSError(.contextFailed, "SSL_new failed (\(OpenSSLError.drain().summary))", endpoint: endpoint)
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
        SIGPIPEGuard.run { _ = SSL_shutdown(session.pointer) }
    }

    /// The negotiated protocol ("TLSv1.3") after the handshake.
    public var protocolVersion: String { session.protocolVersion }

    /// Completes the server side of the handshake; `timeout` also bounds each later read and write.
    public func handshake(timeout: Duration) throws(TLSError) {
        socket.setIOTimeout(timeout)
        OpenSSLError.clear()
        let session = self.session
        guard SIGPIPEGuard.run({ SSL_accept(session.pointer) }) == 1 else {
            throw TLSError(.handshakeFailed, "TLS handshake with a client failed (\(OpenSSLError.drain().summary(fallback: "peer closed or timed out")))", endpoint: endpoint)
        }
    }

    /// Up to `maximum` bytes; empty at end of stream.
    public func read(upTo maximum: Int = 16384) throws(TLSError) -> Data {
        var buffer = [UInt8](repeating: 0, count: maximum)
        var got = 0
        let session = self.session
        let ok = SIGPIPEGuard.run { SSL_read_ex(session.pointer, &buffer, maximum, &got) }
        if ok == 1 { return Data(buffer.prefix(got)) }
        let error = SSL_get_error(session.pointer, 0)
        if error == SSL_ERROR_ZERO_RETURN { return Data() }
        throw TLSError(.ioFailed, "read failed (\(OpenSSLError.drain().summary(fallback: "peer closed or timed out")))", endpoint: endpoint)
    }

    /// Writes all of `data`.
    public func write(_ data: Data) throws(TLSError) {
        var written = 0
        let session = self.session
        let ok = SIGPIPEGuard.run {
            data.withUnsafeBytes { raw in SSL_write_ex(session.pointer, raw.baseAddress, raw.count, &written) }
        }
        guard ok == 1 else {
            throw TLSError(.ioFailed, "write failed (\(OpenSSLError.drain().summary(fallback: "peer closed or timed out")))", endpoint: endpoint)
        }
    }
}
