import ArgumentParser

/// `--key-passphrase-file`: the passphrase of an existing key (else
/// CERTROLL_KEY_PASSPHRASE, else a prompt on a terminal).
struct KeyPassphraseOptions: ParsableArguments {
    @Option(name: .customLong("key-passphrase-file"), help: ArgumentHelp(
        "File whose first line is the key passphrase (else CERTROLL_KEY_PASSPHRASE, else a prompt on a terminal).",
        valueName: "file"))
    var keyPassphraseFile: String?

    static let environment = "CERTROLL_KEY_PASSPHRASE"

    func source(for keyFile: String, confirm: Bool = false) -> SecretSource {
        SecretSource(
            what: "the passphrase of \(keyFile)", option: "--key-passphrase-file", file: keyPassphraseFile,
            environment: Self.environment, confirm: confirm)
    }
}
