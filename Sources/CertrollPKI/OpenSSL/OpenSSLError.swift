import COpenSSL
import CertrollCore

/// The one translator for OpenSSL's thread-local error queue.
struct OpenSSLError: Error, Sendable {
    /// One entry per queued error, oldest first, e.g. `bad decrypt`.
    let reasons: [String]

    /// Empties the queue and returns what was in it.
    static func drain() -> OpenSSLError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let reason = ERR_reason_error_string(code) {
                reasons.append(String(cString: reason))
            } else {
                var buffer = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &buffer, buffer.count)
                reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return OpenSSLError(reasons: reasons)
    }

    /// Clears stale entries before a call whose failure we will translate.
    static func clear() { ERR_clear_error() }

    /// The reasons as one short phrase.
    var summary: String { summary(fallback: "no detail from OpenSSL") }

    /// The reasons as one short phrase, or `fallback` when OpenSSL queued none
    /// (a TLS peer that hung up leaves nothing in the queue).
    func summary(fallback: String) -> String { reasons.isEmpty ? fallback : reasons.joined(separator: "; ") }

    /// A `PKIError.openSSL` for `operation`, with the drained reasons.
    static func failure(_ operation: String) -> PKIError {
        .openSSL(operation, drain().summary)
    }
}

/// An owned memory BIO.
final class MemoryBIO {
    let pointer: OpaquePointer

    /// An empty, writable BIO.
    init() throws(PKIError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.failure("allocate a memory BIO") }
        pointer = bio
    }

    /// A BIO holding a copy of `bytes`, for reading.
    convenience init(_ bytes: some Collection<UInt8>) throws(PKIError) {
        try self.init()
        let array = Array(bytes)
        let written = array.withUnsafeBytes { BIO_write(pointer, $0.baseAddress, Int32($0.count)) }
        guard written == array.count || array.isEmpty else { throw OpenSSLError.failure("fill a memory BIO") }
    }

    deinit { BIO_free(pointer) }

    /// Everything written so far.
    var bytes: [UInt8] {
        var data: UnsafeMutablePointer<CChar>?
        let length = certroll_BIO_get_mem_data(pointer, &data)
        guard length > 0, let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

func hex(_ bytes: some Sequence<UInt8>) -> String { Hex.encode(bytes) }
