public import CertrollCore
import Foundation

/// How `apply` behaves.
public struct RolloutOptions: Sendable {
    /// Clusters rolled out at once.
    public var parallel: Int
    /// Roll out the first cluster alone, then the rest.
    public var canary: Bool
    /// No new cluster after this many failed ones (nil: no limit).
    public var maxFailures: Int?
    /// Roll out clusters that already serve the new certificate.
    public var force: Bool
    /// Clears a lock left by this dead run id.
    public var breakLock: String?
    /// Go on when a node's current key is encrypted and its passphrase is not given.
    public var acceptManualRollback: Bool
    /// Refuse a cluster whose target was issued before what it serves (`renew`; `force` overrides).
    public var neverOlder: Bool
    /// Skew between node and controller clocks that gets a warning.
    public var clockSkewWarning: Duration
    /// Free bytes required where files are written, beyond their own size.
    public var freeSpaceMargin: UInt64
    /// How often to probe while waiting for a node to serve or stop.
    public var pollInterval: Duration
    /// Timeout of ordinary remote commands (stop/start use `start_timeout`).
    public var commandTimeout: Duration
    /// TLS handshake timeout.
    public var probeTimeout: Duration

    public init(parallel: Int = 4, canary: Bool = false, maxFailures: Int? = nil, force: Bool = false,
                breakLock: String? = nil, acceptManualRollback: Bool = false,
                clockSkewWarning: Duration = .seconds(60), freeSpaceMargin: UInt64 = 1 << 20,
                pollInterval: Duration = .seconds(2), commandTimeout: Duration = .seconds(60),
                probeTimeout: Duration = .seconds(10), neverOlder: Bool = false) {
        self.parallel = max(1, parallel)
        self.canary = canary
        self.maxFailures = maxFailures
        self.force = force
        self.breakLock = breakLock
        self.acceptManualRollback = acceptManualRollback
        self.neverOlder = neverOlder
        self.clockSkewWarning = clockSkewWarning
        self.freeSpaceMargin = freeSpaceMargin
        self.pollInterval = pollInterval
        self.commandTimeout = commandTimeout
        self.probeTimeout = probeTimeout
    }
}

/// Secrets the user supplies for each command; never stored, journaled or printed.
public struct RolloutSecrets: Sendable {
    /// Opens the current key on the nodes, so a rollback can write its OTC.
    public var currentKeyPassphrase: Secret?

    public init(currentKeyPassphrase: Secret? = nil) {
        self.currentKeyPassphrase = currentKeyPassphrase
    }
}

/// Who is running certroll, written into locks and the journal.
public struct ControllerIdentity: Sendable, Equatable {
    public var host: String
    public var user: String

    public init(host: String, user: String) {
        self.host = host
        self.user = user
    }

    /// `$USER`/`$LOGNAME`, else the account of the real uid (cron often sets neither).
    public static var current: ControllerIdentity {
        let env = ProcessInfo.processInfo.environment
        return ControllerIdentity(host: ProcessInfo.processInfo.hostName, user: env["USER"] ?? env["LOGNAME"] ?? accountName())
    }

    private static func accountName() -> String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "uid \(getuid())" }
        return String(cString: name)
    }
}
