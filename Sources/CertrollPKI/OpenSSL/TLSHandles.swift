import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Owning wrappers for the OpenSSL handles the TLS code uses, and the one
// translator of OpenSSL's error queue for it. Internal to CertrollPKI; every
// name starts with TLS so it cannot clash with the rest of the module.

/// Reads OpenSSL's error queue for the TLS code.
enum TLSOpenSSL {
    /// Empties the thread's error queue and returns its entries joined, or
    /// `fallback` when it was empty.
    static func drainErrors(fallback: String = "no detail from OpenSSL") -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? fallback : messages.joined(separator: "; ")
    }

    static func clearErrors() { ERR_clear_error() }

    /// Runs `body` with SIGPIPE blocked on this thread and discards a SIGPIPE it
    /// raised, so writing to a peer that hung up returns EPIPE instead of
    /// killing the process (OpenSSL writes with plain `write`, without MSG_NOSIGNAL).
    static func withoutSIGPIPE<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
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

    /// SHA-256 of `data`, lowercase hex.
    static func sha256Hex(_ data: Data) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { raw in
            EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "EVP_Digest(SHA-256) cannot fail on memory input")
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Owns one read-only memory `BIO` over a copy of some bytes.
final class TLSMemoryBIO {
    let pointer: OpaquePointer
    private let storage: UnsafeMutableRawBufferPointer

    init(_ data: Data) {
        storage = .allocate(byteCount: max(data.count, 1), alignment: 1)
        _ = data.copyBytes(to: storage.bindMemory(to: UInt8.self))
        guard let bio = BIO_new_mem_buf(storage.baseAddress, Int32(data.count)) else {
            fatalError("BIO_new_mem_buf failed: out of memory")
        }
        pointer = bio
    }

    deinit {
        BIO_free(pointer)
        storage.deallocate()
    }
}

/// Owns one `X509`.
final class TLSCertificate: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    /// Adds a reference to `pointer` and owns that reference.
    init(retaining pointer: OpaquePointer) {
        X509_up_ref(pointer)
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }

    var der: Data {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509(pointer, &out)
        guard length > 0, let out else { return Data() }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Data(bytes: out, count: Int(length))
    }

    /// Every CERTIFICATE block of a PEM text, in file order.
    static func readAll(pem: Data) -> [TLSCertificate] {
        let bio = TLSMemoryBIO(pem)
        var certificates: [TLSCertificate] = []
        while let x509 = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            certificates.append(TLSCertificate(taking: x509))
        }
        TLSOpenSSL.clearErrors()  // the loop ends on "no start line"
        return certificates
    }
}

/// Owns one `EVP_PKEY`.
final class TLSPrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }
}

/// Owns one socket file descriptor.
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
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }
}
