import ArgumentParser
import CertrollCore
import CertrollPKI
import CertrollRollout
import CertrollSSH
import Foundation
import Logging

extension RolloutInputOptions {
    /// The inventory's clusters named by `--cluster` (all when none); errors name file:line.
    func clusters(selecting names: [String]) throws(InventoryError) -> [Cluster] {
        try InventoryLoader().load(path: inventory).selecting(names)
    }

    /// What each cluster gets: with `--cert/--key` that certificate for all of
    /// them; else each cluster's own `certificate:` source (a cluster without
    /// one is a usage error naming it). Each chain and key is checked once,
    /// against the names of every cluster that uses it.
    func targets(for clusters: [Cluster], command: String, json: Bool) async throws -> [ClusterTarget] {
        if let cert, let key {
            let certificate = try await Self.checkedCertificate(cert: cert, key: key, passphrase: passphrase.source(for: key),
                                                                for: clusters, command: command, json: json)
            return ClusterTarget.same(certificate, for: clusters)
        }
        let missing = clusters.filter { $0.certificate == nil }.map(\.name)
        guard missing.isEmpty else {
            throw CLIError.conflictingOptions("cluster(s) \(missing.joined(separator: ", ")) in \(inventory) have no 'certificate:' source; give --cert and --key, or add a certificate: block to the inventory.")
        }
        var checked: [(source: CertificateSource, certificate: CertificateToInstall)] = []
        for cluster in clusters {
            guard let source = cluster.certificate, !checked.contains(where: { $0.source == source }) else { continue }
            let users = clusters.filter { $0.certificate == source }
            checked.append((source, try await Self.checkedCertificate(
                cert: source.cert, key: source.key, passphrase: passphrase.source(for: source), for: users, command: command, json: json)))
        }
        return clusters.map { cluster in
            ClusterTarget(cluster: cluster, certificate: checked.first { $0.source == cluster.certificate }!.certificate)
        }
    }

    /// The local checks as the gate of plan/apply: every cluster fqdn must be
    /// covered (FAIL), node names should be (warn). Any FAIL throws (exit 2)
    /// before a node is contacted. Warnings and failures are shown.
    static func checkedCertificate(cert: String, key: String, passphrase: SecretSource, for clusters: [Cluster],
                                   command: String, json: Bool) async throws -> CertificateToInstall {
        let secret = LocalChecks.keyIsEncrypted(key) ? try passphrase.read() : nil
        let report = await LocalChecks.run(cert: cert, key: key, passphrase: secret, for: clusters)
        LocalCheckText.lines(report, cert: cert, json: json).forEach(json ? Console.out : Console.note)
        if report.hasFailures { throw CLIError.localChecksFailed(report.failures.count, cert: cert, command: command) }
        return try CertificateToInstall(checked: report, keyPassphrase: secret)
    }
}

extension KeyPassphraseOptions {
    /// A cluster source's passphrase: its `key_passphrase_file`, else
    /// `--key-passphrase-file`, else the environment, else a prompt.
    func source(for source: CertificateSource) -> SecretSource {
        SecretSource(what: "the passphrase of \(source.key)",
                     option: source.keyPassphraseFile == nil ? "--key-passphrase-file" : "key_passphrase_file",
                     file: source.keyPassphraseFile ?? keyPassphraseFile, environment: Self.environment)
    }
}

/// The local checks of one chain and key for the clusters that will use it.
enum LocalChecks {
    static func run(cert: String, key: String, passphrase: Secret?, for clusters: [Cluster]) async -> CheckReport {
        await CertificateCheck().run(CheckInput(
            certificateFile: cert, keyFile: key, passphrase: passphrase,
            requiredNames: clusters.flatMap(\.fqdn), advisoryNames: clusters.flatMap { $0.nodes.map(\.host) }, now: Date()))
    }

    static func keyIsEncrypted(_ key: String) -> Bool {
        (try? KeyFile(contentsOf: key))?.format.isEncrypted ?? false
    }
}

/// The local checks as plan/apply show them: only what is not ok, then a count.
enum LocalCheckText {
    static func lines(_ report: CheckReport, cert: String, json: Bool) -> [String] {
        if json {
            return report.results.map { result in
                let (verdict, message, fix): (String, String, String?) = switch result.verdict {
                case .pass(let text): ("pass", text, nil)
                case .warn(let text): ("warn", text, nil)
                case .skipped(let text): ("skipped", text, nil)
                case .fail(let text, let fix): ("fail", text, fix)
                }
                return EventText.json(LocalCheckEvent(check: result.id, verdict: verdict, message: message, fix: fix))
            }
        }
        var lines = CheckRenderer.plain(report).filter { $0.hasPrefix("warn") || $0.hasPrefix("FAIL") || $0.hasPrefix("   ") }
        lines.append("local checks of \(cert): \(CheckRenderer.plain(report).last ?? "")")
        return lines
    }

    /// One local check as a `--json` line.
    struct LocalCheckEvent: Encodable {
        var kind = "local-check"
        var check: String
        var verdict: String
        var message: String
        var fix: String?
    }
}

/// Builds the engine with the real adapters: SSH to the nodes, the OpenSSL
/// TLS probe and key inspector, the local `after_success` hook.
struct RolloutTools {
    var store: RunStore
    var ssh: SSHSecrets

    func engine() -> RolloutEngine {
        let logger = Logger(label: "certroll.rollout")
        let connector = Transport.connector(secrets: ssh, logger: logger)
        return RolloutEngine(
            connector: connector, probe: connector.tlsProbe,
            keyInspector: OpenSSLKeyInspector(), certificateDates: OpenSSLCertificateDates(),
            hook: ShellAfterSuccessHook(), store: store, logger: logger,
            journalDecorator: FaultInjection.journalDecorator())
    }
}

/// Runs one engine call while rendering its events as they come, with
/// Ctrl-C as documented: the first stops scheduling new clusters (in-flight
/// ones finish or roll back); the second stops at once (exit 130, resumable).
enum LiveRun {
    static func run(_ renderer: any EventRenderer, toStandardError: Bool = false,
                    _ body: @escaping @Sendable (StreamEventSink, RolloutCancellation) async throws -> RunReport) async throws -> RunReport {
        let cancellation = RolloutCancellation()
        let runID = RunIDBox()
        let (sink, events) = StreamEventSink.make()
        // Events and Ctrl-C notes in one stream, so a live terminal display
        // places the notes between its redraws.
        let (output, outputs) = AsyncStream<Output>.makeStream()
        let interrupts = InterruptHandler(cancellation: cancellation, runID: runID) { line in
            if case .terminated = outputs.yield(.note(line)) { Console.note("\n" + line) }
        }
        defer { interrupts.stop() }
        let forward = Task {
            for await event in events { outputs.yield(.event(event)) }
            outputs.finish()
        }
        let work = Task {
            defer { sink.finish() }
            return try await body(sink, cancellation)
        }
        var renderer = renderer
        let write: (String) -> Void = { text in
            if toStandardError { FileHandle.standardError.write(Data(text.utf8)) } else { Console.write(text) }
        }
        for await item in output {
            switch item {
            case .event(let event):
                if let id = event.runID { runID.set(id) }
                write(renderer.render(event))
            case .note(let line):
                if let text = renderer.note(line) { write(text) } else { Console.note("\n" + line) }
            }
        }
        await forward.value
        return try await work.value
    }

    /// What the display loop receives.
    private enum Output: Sendable {
        case event(RolloutEvent)
        case note(String)
    }

    /// Exits with the report's status (0 returns normally); when a node needs
    /// a person, the summary goes to stderr too.
    static func finish(_ report: RunReport) throws {
        ReportText.standardError(report, stdoutIsTerminal: Console.stdoutIsTerminal).forEach(Console.note)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

/// The run id seen so far, for the message after a second Ctrl-C.
final class RunIDBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ id: String) { lock.withLock { value = id } }
    func get() -> String? { lock.withLock { value } }
}

/// SIGINT while a run is in progress.
final class InterruptHandler: @unchecked Sendable {
    private let source: any DispatchSourceSignal
    private let lock = NSLock()
    private var count = 0
    /// How long the engine may take to journal "interrupted" after the second Ctrl-C.
    static let grace: Double = 3

    /// `note` shows a line to the user (the display loop places it).
    init(cancellation: RolloutCancellation, runID: RunIDBox, note: @escaping @Sendable (String) -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            let n = lock.withLock { count += 1; return count }
            cancellation.interrupt()
            let resume = runID.get().map { "certroll resume \($0)" } ?? "certroll resume RUN_ID (certroll runs lists it)"
            if n == 1 {
                note("interrupted: no new cluster starts; clusters in flight finish or roll back. Ctrl-C again stops at once (\(resume) finishes the job later).")
            } else {
                note("stopping at once; \(resume) finishes or rolls back what is in flight.")
                DispatchQueue.global().asyncAfter(deadline: .now() + Self.grace) { exit(ExitStatus.interrupted.rawValue) }
            }
        }
        source.resume()
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
