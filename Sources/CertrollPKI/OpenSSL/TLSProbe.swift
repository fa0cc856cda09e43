import COpenSSL
public import CertrollCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `TLSProbe` over OpenSSL: TCP connect with a deadline, TLS 1.2/1.3
/// handshake with SNI and no trust verification, then the chain as served.
///
/// Each probe runs on its own thread (`Blocking.run`), never on the
/// cooperative pool, so a fleet of slow endpoints is probed in parallel.
public struct OpenSSLTLSProbe: TLSProbe {
    public init() {}

    public func probe(host: String, port: Int, serverName: String?, timeout: Duration) async throws -> ServedChain {
        try await Blocking.run("certroll.tls-probe") { () throws(TLSError) -> ServedChain in
            try Self.probeBlocking(host: host, port: port, serverName: serverName, timeout: timeout)
        }
    }

    /// The same probe, blocking the calling thread.
    public static func probeBlocking(host: String, port: Int, serverName: String?, timeout: Duration) throws(TLSError) -> ServedChain {
        try SIGPIPEGuard.run { () throws(TLSError) -> ServedChain in
            try probeWithSIGPIPEBlocked(host: host, port: port, serverName: serverName, timeout: timeout)
        }
    }

    /// The same probe over `socket`, an already connected stream (a tunnel through
    /// a jump host) that it takes over and closes; `host:port` name the endpoint
    /// the stream leads to, for SNI and messages.
    public static func probeBlocking(socket: Int32, host: String, port: Int, serverName: String?, timeout: Duration) throws(TLSError) -> ServedChain {
        let owned = TLSSocket(fd: socket)
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags & ~O_NONBLOCK)
        return try SIGPIPEGuard.run { () throws(TLSError) -> ServedChain in
            try handshake(over: owned, host: host, port: port, serverName: serverName, timeout: timeout, deadline: ContinuousClock.now + timeout)
        }
    }

    private static func probeWithSIGPIPEBlocked(host: String, port: Int, serverName: String?, timeout: Duration) throws(TLSError) -> ServedChain {
        let endpoint = TLSError.endpoint(host: host, port: port)
        let deadline = ContinuousClock.now + timeout
        let socket = try connect(host: host, port: port, deadline: deadline, endpoint: endpoint)
        return try handshake(over: socket, host: host, port: port, serverName: serverName, timeout: timeout, deadline: deadline)
    }

    /// TLS handshake over a connected socket; the chain as served.
    private static func handshake(over socket: TLSSocket, host: String, port: Int, serverName: String?, timeout: Duration,
                                  deadline: ContinuousClock.Instant) throws(TLSError) -> ServedChain {
        let endpoint = TLSError.endpoint(host: host, port: port)

        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError(.contextFailed, "cannot create a TLS context (\(OpenSSLError.drain().summary))", endpoint: endpoint)
        }
        let context = TLSContextHandle(taking: ctx)
        _ = certroll_SSL_CTX_set_min_proto_version(context.pointer, TLS1_2_VERSION)
        SSL_CTX_set_verify(context.pointer, SSL_VERIFY_NONE, nil)
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError(.contextFailed, "SSL_new failed (\(OpenSSLError.drain().summary))", endpoint: endpoint)
        }
        let session = TLSSession(taking: ssl)
        // SNI only for names: RFC 6066 forbids IP literals in server_name.
        let sni = serverName ?? (isIPLiteral(host) ? nil : host)
        if let sni, certroll_SSL_set_tlsext_host_name(ssl, sni) != 1 {
            throw TLSError(.handshakeFailed, "cannot set SNI \(sni) (\(OpenSSLError.drain().summary))", endpoint: endpoint)
        }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else {
            throw TLSError(.timedOut, "no TLS handshake within \(timeout); check that the service is up", endpoint: endpoint)
        }
        socket.setIOTimeout(remaining)
        SSL_set_fd(ssl, socket.fd)
        OpenSSLError.clear()
        guard SSL_connect(ssl) == 1 else {
            let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
            let detail = OpenSSLError.drain().summary(fallback: timedOut ? "timed out" : "the peer closed the connection")
            if timedOut && ContinuousClock.now >= deadline {
                throw TLSError(.timedOut, "no TLS handshake within \(timeout); check that the service is up", endpoint: endpoint)
            }
            throw TLSError(.handshakeFailed, "TLS handshake failed (\(detail)); check that the port serves TLS", endpoint: endpoint)
        }
        defer { SSL_shutdown(ssl) }
        guard let stack = SSL_get_peer_cert_chain(ssl), certroll_sk_X509_num(stack) > 0 else {
            throw TLSError(.noCertificate, "the server sent no certificate", endpoint: endpoint)
        }
        var ders: [Data] = []
        for index in 0..<certroll_sk_X509_num(stack) {
            guard let x509 = certroll_sk_X509_value(stack, index) else { continue }
            X509_up_ref(x509)  // the stack's reference stays the session's
            ders.append(Certificate(owning: x509).der)
        }
        return ServedChain(certificatesDER: ders, leafFingerprint: SHA256.hex(ders[0]),
                           negotiatedProtocol: session.protocolVersion)
    }

    private static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// TCP connect to the first address of `host` that answers before `deadline`.
    private static func connect(host: String, port: Int, deadline: ContinuousClock.Instant, endpoint: String) throws(TLSError) -> TLSSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, list != nil else {
            throw TLSError(.resolveFailed, "cannot resolve \(host): \(String(cString: gai_strerror(rc))); check the name", endpoint: endpoint)
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var current = list
        while let info = current {
            current = info.pointee.ai_next
            let fd = Glibc.socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            let socket = TLSSocket(fd: fd)
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { lastError = String(cString: strerror(errno)); continue }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let waited = poll(&pfd, 1, (deadline - ContinuousClock.now).tlsMilliseconds)
                if waited == 0 {
                    throw TLSError(.timedOut, "TCP connect did not finish in time; check the address, port and firewall", endpoint: endpoint)
                }
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if waited < 0 || soError != 0 {
                    lastError = String(cString: strerror(soError != 0 ? soError : errno))
                    continue
                }
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            return socket
        }
        throw TLSError(.connectFailed, "cannot connect: \(lastError); check that the service is up and the port is right", endpoint: endpoint)
    }
}
