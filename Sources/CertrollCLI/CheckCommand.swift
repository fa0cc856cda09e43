import ArgumentParser
import CertrollCore
import CertrollPKI
import Foundation

/// `certroll check`: every local check; changes nothing.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a certificate chain and key before they go to XSOAR (changes nothing).",
        discussion: """
            Prints one line per check: ok, warn or FAIL with the reason and the fix. \
            Exits 0 when nothing FAILs (warnings allowed), 2 otherwise. With -i it also \
            checks that the leaf covers every cluster fqdn (FAIL) and node DNS name (warn).
            """)

    @Option(help: ArgumentHelp("The certificate chain (cert.pem).", valueName: "file"))
    var cert: String

    @Option(help: ArgumentHelp("The private key.", valueName: "file"))
    var key: String

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("Inventory whose names must be covered.", valueName: "file"))
    var inventory: String?

    @OptionGroup var passphrase: KeyPassphraseOptions

    func run() async throws {
        let clusters = try inventory.map { path throws(InventoryError) in try InventoryLoader().load(path: path).clusters } ?? []
        let encrypted = (try? KeyFile(contentsOf: key))?.format.isEncrypted ?? false
        let secret = encrypted ? try passphrase.source(for: key).readIfGiven() : nil
        let input = CheckInput(
            certificateFile: cert, keyFile: key, passphrase: secret, requiredNames: clusters.flatMap(\.fqdn),
            advisoryNames: clusters.flatMap { $0.nodes.map(\.host) }, now: Date())
        let report = await CertificateCheck().run(input)
        CheckRenderer.plain(report).forEach(Console.out)
        if report.hasFailures { throw CLIError.checksFailed(report.failures.count) }
    }
}

/// Renders a check report as plain lines.
enum CheckRenderer {
    static func plain(_ report: CheckReport) -> [String] {
        var lines: [String] = []
        for result in report.results {
            switch result.verdict {
            case .pass(let text): lines.append("ok    \(result.title): \(text)")
            case .warn(let text): lines.append("warn  \(result.title): \(text)")
            case .skipped(let text): lines.append("skip  \(result.title): \(text)")
            case .fail(let text, let fix):
                lines.append("FAIL  \(result.title): \(text)")
                if let fix { lines.append("      fix: \(fix)") }
            }
        }
        let count = { (test: (CheckVerdict) -> Bool) in report.results.filter { test($0.verdict) }.count }
        lines.append(
            "\(count { $0.isFailure }) FAIL, \(count { $0.isWarning }) warn, \(count { if case .pass = $0 { true } else { false } }) ok")
        return lines
    }
}
