import COpenSSL
import CertrollCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Owning wrappers for the TLS-only OpenSSL handles (socket, SSL, SSL_CTX).
// Certificates, keys, BIOs and the error queue use the module's own
// `Certificate`, `PrivateKey`, `MemoryBIO` and `OpenSSLError`.

/// Keeps a peer that hung up from killing the process.
enum SIGPIPEGuard {
    /// Runs `body` with SIGPIPE blocked on this thread and discards a SIGPIPE it
    /// raised, so writing to a peer that hung up returns EPIPE instead of
    /// killing the process (OpenSSL writes with plain `write`, without MSG_NOSIGNAL).
    static func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipe, &previous)
        defer {
            if sigismember(&previous, SIGPIPE) == 0 {
                var pending = sigset_t()
                sigpending(&pending)
                if sigismember(&pending, SIGPIPE) == 1 {
                    var zero = timespec(tv_sec: 0, tv_nsec: 0)
                    _ = sigtimedwait(&pipe, nil, &zero)
                }
                pthread_sigmask(SIG_SETMASK, &previous, nil)
            }
        }
        return try body()
    }
}

final class TLSSocket: @unchecked Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { Glibc.close(fd) }

    /// Applies a receive and send timeout to blocking I/O on the socket.
    func setIOTimeout(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var value = timeval(tv_sec: Int(max(seconds, 0)), tv_usec: Int(max(attoseconds, 0) / 1_000_000_000_000))
        if value.tv_sec == 0 && value.tv_usec == 0 { value.tv_usec = 1000 }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }
}

/// Owns one `SSL`.
final class TLSSession: @unchecked Sendable {
    let pointer: OpaquePointer
    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { SSL_free(pointer) }

    var protocolVersion: String { String(cString: SSL_get_version(pointer)) }
}

/// Owns one `SSL_CTX`.
final class TLSContextHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { SSL_CTX_free(pointer) }
}

extension Duration {
    var tlsMilliseconds: Int32 {
        Int32(clamping: max(wholeMilliseconds, 0))
    }
}
