import ArgumentParser
import CertrollCore
import CertrollRollout
import CertrollSSH
import Foundation

/// `-i INV [--cert F --key F]` (+ the key passphrase): what plan and apply roll out, and where.
struct RolloutInputOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The inventory (YAML) of clusters and nodes.", valueName: "file"))
    var inventory: String

    @Option(help: ArgumentHelp(
        "The certificate chain to install on every selected cluster (leaf, intermediates, root); else each cluster's certificate: source.",
        valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("The private key of the leaf (legacy encrypted PEM or unencrypted).", valueName: "file"))
    var key: String?

    @OptionGroup var passphrase: KeyPassphraseOptions

    func validate() throws {
        guard (cert == nil) == (key == nil) else {
            throw ValidationError("give --cert and --key together, or neither (each cluster's certificate: source is then used).")
        }
    }
}

/// `--state-dir DIR`: where runs are journaled.
struct StateDirOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Where runs are journaled (else $XDG_STATE_HOME/certroll, else ~/.local/state/certroll).", valueName: "dir"))
    var stateDir: String?

    var store: RunStore { RunStore.resolve(stateDir: stateDir) }
}

/// Secrets the nodes need: the SSH ones (sudo password, SSH identity
/// passphrase) and the passphrase of the key the nodes use now (a rollback
/// writes an OTC for it). Never argv.
struct NodeSecretOptions: ParsableArguments {
    @OptionGroup var ssh: SSHSecretOptions

    @Option(help: ArgumentHelp(
        "File whose first line is the passphrase of the key the nodes use now (else CERTROLL_CURRENT_KEY_PASSPHRASE); needed when that key is encrypted.",
        valueName: "file"))
    var currentKeyPassphraseFile: String?

    static let currentKeyEnvironment = "CERTROLL_CURRENT_KEY_PASSPHRASE"

    var currentKeySource: SecretSource {
        SecretSource(what: "the passphrase of the key the nodes use now", option: "--current-key-passphrase-file",
                     file: currentKeyPassphraseFile, environment: Self.currentKeyEnvironment)
    }

    /// What connecting to the nodes of `clusters` needs (see `SSHSecretOptions.secrets(for:)`).
    func sshSecrets(for clusters: [Cluster]) throws(CLIError) -> SSHSecrets {
        try ssh.secrets(for: clusters)
    }

    /// The current key's passphrase from the file or environment (never asked
    /// up front: only a node whose key is encrypted needs it).
    func currentKeyPassphrase() throws(CLIError) -> Secret? {
        try currentKeySource.readWithoutPrompt()
    }
}

/// `--yes`: do not ask before changing nodes.
struct ConfirmOptions: ParsableArguments {
    @Flag(name: [.customShort("y"), .long], help: "Do not ask before changing nodes (needed when there is no terminal).")
    var yes = false

    /// Refuses at once when the command would have to ask and cannot.
    func requireTerminalUnlessYes(_ command: String, then: String) throws(CLIError) {
        guard !yes, !Console.stdinIsTerminal else { return }
        throw .needsConfirmation(command: command, then: then)
    }

    /// Asks `question` on the terminal unless `--yes`; throws when the answer is not yes.
    func confirm(_ question: String, declined: String) throws(CLIError) {
        if yes { return }
        FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
        let answer = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard answer == "y" || answer == "yes" else { throw .declined(declined) }
    }
}

/// `--json`: one JSON object per event on stdout.
struct OutputOptions: ParsableArguments {
    @Flag(help: "One JSON object per event on stdout, the final report last.")
    var json = false

    /// JSON when asked, live progress when stdout is a terminal, plain lines
    /// otherwise (without the passing preflight checks when `quiet`).
    func renderer(quiet: Bool = false) -> any EventRenderer {
        if json { return JSONEventRenderer() }
        if Console.stdoutIsTerminal { return TTYEventRenderer() }
        return PlainEventRenderer(showsPassingChecks: !quiet)
    }
}

/// Which clusters a rollout takes and how (`apply`, `renew`).
struct FleetOptions: ParsableArguments {
    @Option(name: .customLong("cluster"), help: ArgumentHelp("Only this cluster (repeatable; default all).", valueName: "name"))
    var clusterNames: [String] = []

    @Option(help: ArgumentHelp("Clusters rolled out at once.", valueName: "n"))
    var parallel = 4

    @Flag(help: "Roll out the first cluster alone, then the rest only if it succeeded.")
    var canary = false

    @Option(help: ArgumentHelp("Start no new cluster after this many failed.", valueName: "k"))
    var maxFailures: Int?

    @Flag(help: "Roll out clusters that already serve their certificate (renew: also one issued before what they serve).")
    var force = false

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1.") }
        if let maxFailures, maxFailures < 1 { throw ValidationError("--max-failures must be at least 1.") }
    }

    func options(breakLock: String? = nil, acceptManualRollback: Bool = false, neverOlder: Bool = false) -> RolloutOptions {
        RolloutOptions(parallel: parallel, canary: canary, maxFailures: maxFailures, force: force, breakLock: breakLock,
                       acceptManualRollback: acceptManualRollback, neverOlder: neverOlder)
    }
}
