public import Foundation

/// What a private key file turned out to be. The lead implements the
/// inspection with OpenSSL; the engine only needs these answers.
public enum KeyInspection: Sendable, Equatable {
    /// Not encrypted: XSOAR starts on it without an OTC.
    case unencrypted
    /// Encrypted, and the passphrase given opens it.
    case encryptedOpened
    /// Encrypted, and no passphrase was given or it does not open it.
    case encryptedLocked
    /// Not a key certroll can read (reason for the message).
    case unreadable(String)
}

/// Tells whether a PEM key is encrypted and whether a passphrase opens it.
public protocol KeyInspector: Sendable {
    func inspect(pem: Data, passphrase: Secret?) -> KeyInspection
}

/// Reads validity dates from a certificate (for plan's "expires" column and the
/// node clock check). Optional: the engine works without it.
public protocol CertificateDates: Sendable {
    /// nil when the DER cannot be read.
    func validity(der: Data) -> (notBefore: Date, notAfter: Date)?
}

/// Opens a connection to a node. The SSH layer implements it over libssh2,
/// honouring `node.ssh` (host key policy, become); the test kit in memory.
public protocol HostConnector: Sendable {
    func connect(to node: ClusterNode) async throws -> any RemoteHost
}

/// Runs a cluster's `after_success` command on the controller.
public protocol AfterSuccessHook: Sendable {
    /// Throws when the command fails; the message names the exit status.
    func run(command: String, cluster: Cluster) async throws
}

/// The certificate and key to install, checked locally beforehand (`check`).
public struct CertificateToInstall: Sendable {
    /// Leaf first, then intermediates (and root): written as `cert.pem`.
    public var chainPEM: Data
    /// Legacy PEM (PKCS#1/SEC1, possibly Proc-Type encrypted): written as `cert.key`.
    public var keyPEM: Data
    /// SHA-256 of each certificate's DER, leaf first, lowercase hex.
    public var chainFingerprints: [String]
    public var notBefore: Date
    public var notAfter: Date
    /// Set exactly when the key is encrypted: it goes into the OTC file.
    public var keyPassphrase: Secret?

    public var leafFingerprint: String { chainFingerprints.first ?? "" }
    public var chainSHA256: String { SHA256.hex(chainPEM) }
    public var keySHA256: String { SHA256.hex(keyPEM) }

    /// Fingerprints are computed from `chainPEM`.
    public init(chainPEM: Data, keyPEM: Data, notBefore: Date, notAfter: Date, keyPassphrase: Secret?) {
        self.chainPEM = chainPEM
        self.keyPEM = keyPEM
        self.chainFingerprints = PEM.fingerprints(in: chainPEM)
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.keyPassphrase = keyPassphrase
    }
}

/// Time as the engine's deadlines see it (waiting for a node to stop or
/// serve): a monotonic reading and a sleep. Production uses `ContinuousClock`;
/// tests pass a clock whose sleep moves time on at once.
public protocol RolloutClock: Sendable {
    /// Monotonic time since an arbitrary start: only differences mean anything.
    var now: Duration { get }
    func sleep(for duration: Duration) async throws
}

/// `RolloutClock` over `ContinuousClock`.
public struct ContinuousRolloutClock: RolloutClock {
    private let start = ContinuousClock.now
    public init() {}
    public var now: Duration { ContinuousClock.now - start }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
