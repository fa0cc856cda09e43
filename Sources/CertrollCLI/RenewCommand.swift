import ArgumentParser
import CertrollCore
import CertrollPKI
import CertrollRollout
import Foundation
import Logging

/// `certroll renew`: the unattended rollout of each cluster's own certificate
/// source, for cron, timers, CI and ACME deploy hooks.
struct RenewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Roll each cluster's certificate: source out where its nodes do not serve it yet; never asks.",
        discussion: """
            Per cluster: reads its certificate: source, preflights its nodes, skips it when every \
            node already serves and stores that certificate (no secret is needed then), refuses a \
            source issued before the certificate served now (unless --force), else runs the local \
            checks and rolls it out as apply does. Run from an ACME deploy hook (certbot \
            RENEWED_LINEAGE, lego LEGO_CERT_PATH, acme.sh CERT_FULLCHAIN_PATH), only the clusters \
            whose source is the renewed certificate are renewed. Secrets come from files or the \
            environment only. Exit codes as apply, per cluster, worst wins; a bad source is 2.
            """)

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The inventory (YAML) of clusters and nodes.", valueName: "file"))
    var inventory: String

    @OptionGroup var fleet: FleetOptions

    @Option(help: ArgumentHelp("At the end, rewrite this Prometheus textfile as certroll status --prometheus does.", valueName: "file"))
    var prometheus: String?

    @OptionGroup var secrets: NodeSecretOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var state: StateDirOptions

    func validate() throws {
        if let prometheus { try PrometheusFile.requireWritableFolder(prometheus) }
    }

    func run() async throws {
        let selected = try InventoryLoader().load(path: inventory).selecting(fleet.clusterNames)
        var clusters = selected
        if let renewed = AcmeHook.renewed(environment: ProcessInfo.processInfo.environment) {
            clusters = selected.filter { $0.certificate.map(renewed.matches) ?? false }
            if clusters.isEmpty {
                Console.out("renew: no selected cluster's certificate: source is \(renewed.cert); nothing to do.")
                return
            }
        }
        var targets: [ClusterTarget] = []
        for cluster in clusters { targets.append(await RenewSource.target(for: cluster)) }
        let ssh = try secrets.ssh.secretsWithoutPrompt()
        let engine = RolloutTools(store: state.store, ssh: ssh).engine()
        let options = fleet.options(neverOlder: true)
        let nodeSecrets = RolloutSecrets(currentKeyPassphrase: try secrets.currentKeyPassphrase())
        let report = try await LiveRun.run(output.renderer(quiet: true)) { [targets] sink, cancellation in
            try await engine.apply(targets: targets, command: "renew", options: options, secrets: nodeSecrets, events: sink,
                                   cancellation: cancellation, finisher: RenewSource.finish)
        }
        if let prometheus {
            let scanner = StatusScanner(useSSH: true, parallel: 16,
                                        connector: Transport.connector(secrets: ssh, logger: Logger(label: "certroll.status")))
            let status = FleetStatus(observations: await scanner.scan(selected), now: Date(), warnDays: 30)
            try PrometheusText.writeAtomically(PrometheusText.render(status), to: prometheus)
        }
        try LiveRun.finish(report)
    }
}

/// A cluster's `certificate:` source as `renew` reads it: first without any
/// secret (enough to tell whether the cluster is current), then, only for a
/// cluster that must change, with its passphrase and every local check.
enum RenewSource {
    /// The source's chain and key as the nodes would store them, or why they
    /// cannot be used (no source, missing or unparsable file).
    static func target(for cluster: Cluster) async -> ClusterTarget {
        guard let source = cluster.certificate else {
            return ClusterTarget(cluster: cluster, unusable: ClusterOutcome(.badSource, reason:
                "cluster \(cluster.name) was not touched: it has no 'certificate:' source in the inventory; add one (cert, key) to it or to defaults."))
        }
        // A passphrase at hand lets preflight try it on an encrypted current key; none is required yet.
        let secret = (try? passphrase(source).readWithoutPrompt()) ?? nil
        let report = await LocalChecks.run(cert: source.cert, key: source.key, passphrase: secret, for: [cluster])
        do {
            return ClusterTarget(cluster: cluster, certificate: try CertificateToInstall(checked: report, keyPassphrase: secret))
        } catch {
            // The checks say best why a file cannot be used (missing, unreadable, not PEM).
            let why = failures(report)
            return ClusterTarget(cluster: cluster, unusable: refusal(cluster, source, why.isEmpty ? "\(error)" : why))
        }
    }

    /// Completes a cluster that must change: its key's passphrase (file or
    /// environment, never a prompt) and every local check; any problem refuses
    /// this cluster alone (exit 2).
    @Sendable static func finish(_ cluster: Cluster, _ read: CertificateToInstall) async -> TargetDecision {
        guard let source = cluster.certificate else { return .refuse(refusal(cluster, nil, "it has no certificate: source")) }
        var secret: Secret?
        if LocalChecks.keyIsEncrypted(source.key) {
            do {
                secret = try passphrase(source).readWithoutPrompt()
            } catch {
                return .refuse(refusal(cluster, source, error.reason))
            }
            guard secret != nil else {
                return .refuse(refusal(cluster, source, "its key \(source.key) is encrypted and no passphrase was given; set key_passphrase_file in its certificate: block, or \(KeyPassphraseOptions.environment)."))
            }
        }
        let report = await LocalChecks.run(cert: source.cert, key: source.key, passphrase: secret, for: [cluster])
        guard !report.hasFailures else {
            return .refuse(refusal(cluster, source, "the local checks of \(source.cert) failed: " + failures(report)))
        }
        do {
            let checked = try CertificateToInstall(checked: report, keyPassphrase: secret)
            guard checked.identity == read.identity else {
                return .refuse(refusal(cluster, source, "its files changed while certroll ran; run renew again."))
            }
            return .rollOut(checked)
        } catch {
            return .refuse(refusal(cluster, source, "\(error)"))
        }
    }

    /// The FAIL lines of the local checks, as one text.
    private static func failures(_ report: CheckReport) -> String {
        CheckRenderer.plain(report).filter { $0.hasPrefix("FAIL") }.joined(separator: " ")
    }

    static func passphrase(_ source: CertificateSource) -> SecretSource {
        SecretSource(what: "the passphrase of \(source.key)", option: "key_passphrase_file", file: source.keyPassphraseFile,
                     environment: KeyPassphraseOptions.environment)
    }

    private static func refusal(_ cluster: Cluster, _ source: CertificateSource?, _ why: String) -> ClusterOutcome {
        ClusterOutcome(.badSource, reason: "cluster \(cluster.name) was not touched: its certificate source \(source.map { "(\($0.cert), \($0.key))" } ?? "") cannot be used: \(why)")
    }
}
