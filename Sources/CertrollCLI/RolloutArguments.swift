import ArgumentParser
import CertrollCore
import CertrollRollout
import CertrollSSH
import Foundation

/// `-i INV --cert F --key F` (+ the key passphrase): what plan and apply roll out, and where.
struct RolloutInputOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The inventory (YAML) of clusters and nodes.", valueName: "file"))
    var inventory: String

    @Option(help: ArgumentHelp("The certificate chain to install (leaf, intermediates, root).", valueName: "file"))
    var cert: String

    @Option(help: ArgumentHelp("The private key of the leaf (legacy encrypted PEM or unencrypted).", valueName: "file"))
    var key: String

    @OptionGroup var passphrase: KeyPassphraseOptions
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

    /// JSON when asked, live progress when stdout is a terminal, plain lines otherwise.
    func renderer() -> any EventRenderer {
        if json { return JSONEventRenderer() }
        if Console.stdoutIsTerminal { return TTYEventRenderer() }
        return PlainEventRenderer()
    }
}
