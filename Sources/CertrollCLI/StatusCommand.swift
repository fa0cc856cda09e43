import ArgumentParser
import CertrollCore
import CertrollSSH
import Foundation
import Logging

/// `certroll status`: what each node serves and stores, expiry, pair
/// consistency. Changes nothing anywhere.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what every node serves and stores: expiry, pair consistency (changes nothing).",
        discussion: """
            Per node, in parallel: a TLS handshake with its HTTPS port (SNI: the cluster's first fqdn) \
            and, over SSH, the certificate in cert_path and the format of the key in key_path (never \
            its content). Exits 0 when all is fine, 1 when the worst finding is a warning, 2 on an \
            error finding or bad input. --prometheus writes a node_exporter textfile atomically.
            """)

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The inventory.", valueName: "file"))
    var inventory: String

    @Option(help: ArgumentHelp("Warn when a served certificate expires within this many days.", valueName: "days"))
    var warnDays = 30

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Also write Prometheus metrics here (node_exporter textfile, written atomically).", valueName: "file"))
    var prometheus: String?

    @Flag(name: .customLong("no-ssh"), help: "Only the TLS handshake; do not read the files on the nodes.")
    var noSSH = false

    @Option(name: .customLong("cluster"), help: ArgumentHelp("Only this cluster (repeatable; default: all).", valueName: "name"))
    var clusters: [String] = []

    @Option(help: ArgumentHelp("Nodes looked at in parallel.", valueName: "n"))
    var parallel = 16

    @OptionGroup var ssh: SSHSecretOptions

    func validate() throws {
        guard warnDays >= 0 else { throw ValidationError("--warn-days must be 0 or more.") }
        guard parallel >= 1 else { throw ValidationError("--parallel must be 1 or more.") }
        if let prometheus { try PrometheusFile.requireWritableFolder(prometheus) }
    }

    func run() async throws {
        let selected = try loadClusters()
        let scanner = StatusScanner(
            useSSH: !noSSH, parallel: parallel,
            connector: Transport.connector(secrets: noSSH ? SSHSecrets() : try ssh.secrets(for: selected),
                                           logger: Logger(label: "certroll.status")))
        let observations = await scanner.scan(selected)
        let status = FleetStatus(observations: observations, now: Date(), warnDays: warnDays)
        if let prometheus { try PrometheusText.writeAtomically(PrometheusText.render(status), to: prometheus) }
        if json {
            Console.out(try StatusRenderer.json(status))
        } else {
            StatusRenderer.table(status, color: isatty(STDOUT_FILENO) == 1).forEach(Console.out)
        }
        // status's own 0 fine / 1 a warning / 2 an error finding, through the one exit map.
        if status.worst != .ok { throw ExitCode(status.worst.exitCode) }
    }

    private func loadClusters() throws(CLIError) -> [Cluster] {
        do {
            return try InventoryLoader().load(path: inventory).selecting(clusters)
        } catch {
            var reason = error.reason
            if reason.hasSuffix(".") { reason.removeLast() }
            throw .inventory(error.file, line: error.line, reason)
        }
    }
}

/// `--prometheus FILE` of status and renew.
enum PrometheusFile {
    /// Fails before a fleet is scanned or renewed when the metrics could not be written anyway.
    static func requireWritableFolder(_ path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(folder, W_OK) == 0 else {
            throw ValidationError("--prometheus \(path): the folder \(folder) does not exist or is not writable.")
        }
    }
}
