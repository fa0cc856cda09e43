/// Why a TLS operation (probe, server start, key load for the simulator) failed.
///
/// Equal by `code`; `reason` is a sentence for people; `endpoint` (`host:port`)
/// or `file` names the object it happened to.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, stable for scripts and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let resolveFailed = Code("tls.resolve-failed")
        public static let connectFailed = Code("tls.connect-failed")
        public static let timedOut = Code("tls.timed-out")
        public static let handshakeFailed = Code("tls.handshake-failed")
        public static let noCertificate = Code("tls.no-certificate")
        public static let ioFailed = Code("tls.io-failed")
        public static let listenFailed = Code("tls.listen-failed")
        public static let fileUnreadable = Code("tls.file-unreadable")
        public static let certificateInvalid = Code("tls.certificate-invalid")
        public static let keyInvalid = Code("tls.key-invalid")
        public static let keyPKCS8Encrypted = Code("tls.key-pkcs8-encrypted")
        public static let keyPassphraseMissing = Code("tls.key-passphrase-missing")
        public static let keyPassphraseWrong = Code("tls.key-passphrase-wrong")
        public static let keyMismatch = Code("tls.key-mismatch")
        public static let contextFailed = Code("tls.context-failed")
    }

    public var code: Code
    public var reason: String
    /// `host:port` of the endpoint, when the error is about one.
    public var endpoint: String?
    /// The file, when the error is about one.
    public var file: String?

    public init(_ code: Code, _ reason: String, endpoint: String? = nil, file: String? = nil) {
        self.code = code
        self.reason = reason
        self.endpoint = endpoint
        self.file = file
    }

    public static func == (lhs: TLSError, rhs: TLSError) -> Bool { lhs.code == rhs.code }

    public var description: String {
        if let endpoint { return "\(endpoint): \(reason) [\(code)]" }
        if let file { return "\(file): \(reason) [\(code)]" }
        return "\(reason) [\(code)]"
    }

    static func endpoint(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
