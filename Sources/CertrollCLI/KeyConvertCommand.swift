import ArgumentParser
import CertrollCore
import CertrollPKI
import Foundation

/// `certroll key convert`: any PEM key to the legacy form XSOAR loads.
struct KeyConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PEM key (PKCS#1, SEC1, PKCS#8, encrypted or not) to the legacy form XSOAR loads.",
        discussion: """
            The output keeps the input's passphrase unless --new-passphrase-file or \
            CERTROLL_NEW_KEY_PASSPHRASE gives another; an unencrypted input stays \
            unencrypted unless a new passphrase is given. --in and --out may be the \
            same file (it is replaced atomically, mode 0600).
            """)

    @Option(name: .customLong("in"), help: ArgumentHelp("The key to convert.", valueName: "file"))
    var input: String

    @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the converted key (0600).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("aes256 (default), aes128 or des3.", valueName: "cipher"))
    var cipher: String?

    @Flag(help: "Write the key unencrypted.")
    var noEncrypt = false

    @Option(help: ArgumentHelp(
        "File whose first line is the new passphrase (else CERTROLL_NEW_KEY_PASSPHRASE).", valueName: "file"))
    var newPassphraseFile: String?

    @OptionGroup var passphrase: KeyPassphraseOptions

    static let newPassphraseEnvironment = "CERTROLL_NEW_KEY_PASSPHRASE"

    func validate() throws {
        if let cipher, KeyCipher(rawValue: cipher) == nil {
            throw ValidationError("--cipher \(cipher) is not offered; use aes256, aes128 or des3.")
        }
        if noEncrypt && (cipher != nil || newPassphraseFile != nil) {
            throw ValidationError("--no-encrypt contradicts --cipher and --new-passphrase-file; give one.")
        }
    }

    func run() async throws {
        let keyFile = try KeyFile(contentsOf: input)
        let oldSecret = keyFile.format.isEncrypted ? try passphrase.source(for: input).read() : nil
        let key = try keyFile.open(passphrase: oldSecret)
        let newSecret: Secret? = if let newPassphraseFile {
            try SecretSource.read(file: newPassphraseFile)
        } else if let value = ProcessInfo.processInfo.environment[Self.newPassphraseEnvironment], !value.isEmpty {
            Secret(value)
        } else {
            nil
        }
        let outputSecret = noEncrypt ? nil : newSecret ?? oldSecret
        if outputSecret == nil && cipher != nil {
            throw CLIError.conflictingOptions(
                "\(input) is not encrypted, so --cipher needs a new passphrase: give --new-passphrase-file FILE or \(Self.newPassphraseEnvironment).")
        }
        let chosen = cipher.flatMap(KeyCipher.init(rawValue:)) ?? .default
        let pem = try key.traditionalPEM(encryption: outputSecret.map { (chosen, $0) })
        try writePKIFile(output, contents: Data(pem.utf8), mode: 0o600)

        let written = try KeyFile(data: Data(pem.utf8), file: output).format
        let which = outputSecret == nil ? "" : newSecret != nil && !noEncrypt ? ", new passphrase" : ", same passphrase as \(input)"
        Console.out("wrote \(output): \(written)\(which), mode 0600 (was \(keyFile.format))")
    }
}
