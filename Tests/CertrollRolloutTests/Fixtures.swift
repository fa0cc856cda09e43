import CertrollCore
import CertrollRollout
import CertrollTestKit
import Foundation
import Logging

/// Settings for fast tests: short start timeout.
let fastSettings: XSOARSettings = {
    var s = XSOARSettings.defaults
    s.startTimeout = .milliseconds(300)
    return s
}()

let fastOptions = RolloutOptions(pollInterval: .milliseconds(5), commandTimeout: .seconds(5), probeTimeout: .seconds(1))

func node(_ host: String, _ role: Role, settings: XSOARSettings = fastSettings) -> ClusterNode {
    ClusterNode(host: host, role: role, ssh: SSHSettings(hostName: host, knownHosts: "/dev/null"), xsoar: settings)
}

/// Records every event the engine emits.
final class RecordingSink: RolloutEventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [RolloutEvent] = []
    var events: [RolloutEvent] { lock.withLock { _events } }
    func receive(_ event: RolloutEvent) { lock.withLock { _events.append(event) } }
}

/// A journal that dies (throws) after `limit` appends, like a controller killed there.
final class JournalThatDiesAfter: JournalWriter, @unchecked Sendable {
    private let lock = NSLock()
    private let inner: any JournalWriter
    private let limit: Int
    private var count = 0
    init(_ inner: any JournalWriter, limit: Int) {
        self.inner = inner
        self.limit = limit
    }
    struct Killed: Error {}
    func append(_ entry: JournalEntry) throws {
        try lock.withLock {
            guard count < limit else { throw Killed() }
            count += 1
        }
        try inner.append(entry)
    }
}

/// Counts appends (to learn how many steps a run journals).
final class CountingJournal: JournalWriter, @unchecked Sendable {
    private let lock = NSLock()
    private let inner: any JournalWriter
    private var _count = 0
    var count: Int { lock.withLock { _count } }
    init(_ inner: any JournalWriter) { self.inner = inner }
    func append(_ entry: JournalEntry) throws {
        lock.withLock { _count += 1 }
        try inner.append(entry)
    }
}

/// A sandbox of in-memory pairs and a state directory.
struct Lab {
    let network = InMemoryNetwork()
    let stateDir = Scratch.path("state")
    var clusters: [Cluster] = []
    let old = "old"

    /// Adds a cluster `name` with a primary and a backup (of the given classes),
    /// both serving the "old" certificate.
    @discardableResult
    mutating func pair(_ name: String, primary: InMemoryHost.Type = InMemoryHost.self, backup: InMemoryHost.Type = InMemoryHost.self,
                       settings: XSOARSettings = fastSettings, oldPassphrase: String? = nil) -> (InMemoryHost, InMemoryHost) {
        let chain = FakePKI.chain(old)
        let key = FakePKI.key(for: chain, passphrase: oldPassphrase)
        let a = primary.init(name: "\(name)-a", settings: settings)
        let b = backup.init(name: "\(name)-b", settings: settings)
        for h in [a, b] {
            h.install(chainPEM: chain, keyPEM: key, keyPassphrase: oldPassphrase)
            network.add(h)
        }
        clusters.append(Cluster(name: name, fqdn: ["\(name).example.com"], nodes: [node(a.name, .primary, settings: settings), node(b.name, .backup, settings: settings)]))
        return (a, b)
    }

    func engine(hook: (any AfterSuccessHook)? = nil,
                decorator: (@Sendable (any JournalWriter) -> any JournalWriter)? = nil) -> RolloutEngine {
        RolloutEngine(connector: network, probe: network, keyInspector: FakeKeyInspector(), hook: hook,
                      store: RunStore(root: stateDir), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                      controller: ControllerIdentity(host: "ctl", user: "tester"), journalDecorator: decorator)
    }

    func host(_ name: String) -> InMemoryHost { network.host(name)! }
}

extension InMemoryHost {
    /// The leaf fingerprint served now, nil when nothing is served.
    var servedLeaf: String? { served.map { SHA256.hex($0[0]) } }

    /// cert, key, conf, OTC and lock as they are now (for byte-identical checks).
    var liveFiles: [String: Entry?] {
        let s = settings
        return Dictionary(uniqueKeysWithValues: [s.certPath, s.keyPath, s.confPath, s.otcPath, s.workDir + "/lock"].map { ($0, file($0)) })
    }

    var stagedLeftovers: [String] {
        files.keys.filter { $0.hasSuffix(".certroll-new") || $0.hasSuffix(".certroll-restore") }.sorted()
    }
}
