import ArgumentParser
import CertrollPKI
import Foundation

/// `certroll csr`: a new private key and a SHA-256 CSR for the public FQDN and its aliases.
struct CSRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csr",
        abstract: "Create a private key and a certificate signing request (CSR).",
        discussion: """
            The key is written 0600, encrypted in the legacy PEM form XSOAR loads \
            (Proc-Type/DEK-Info, AES-256-CBC) unless --no-encrypt. The CN is also the \
            first subjectAltName; add every name users browse to with --san. An \
            existing --key-out file is never overwritten.
            """)

    @Option(help: ArgumentHelp("Common name: the public FQDN users browse to.", valueName: "name"))
    var cn: String

    @Option(name: .customLong("san"), help: ArgumentHelp("Another DNS name or IP address (repeatable).", valueName: "name"))
    var sans: [String] = []

    @Option(help: ArgumentHelp("One of \(KeyType.allNames.joined(separator: ", ")).", valueName: "type"))
    var keyType = KeyType.default.description

    @Option(help: ArgumentHelp("More subject attributes, e.g. /C=US/O=Example/OU=IT.", valueName: "/C=../O=.."))
    var subject: String?

    @Option(help: ArgumentHelp("Where to write the private key (created 0600).", valueName: "file"))
    var keyOut: String

    @Option(help: ArgumentHelp("Where to write the CSR.", valueName: "file"))
    var csrOut: String

    @Flag(help: "Write the key unencrypted (XSOAR then needs no OTC passphrase).")
    var noEncrypt = false

    @OptionGroup var passphrase: KeyPassphraseOptions

    func validate() throws {
        guard KeyType(name: keyType) != nil else {
            throw ValidationError("--key-type \(keyType) is not offered; use one of \(KeyType.allNames.joined(separator: ", ")).")
        }
        guard keyOut != csrOut else { throw ValidationError("--key-out and --csr-out must be different files.") }
        if noEncrypt && passphrase.keyPassphraseFile != nil {
            throw ValidationError("--no-encrypt and --key-passphrase-file contradict each other; give one.")
        }
    }

    func run() async throws {
        let type = KeyType(name: keyType) ?? .default
        let names = try CertificateSubject(commonName: cn, subject: subject, sans: sans)
        guard !FileManager.default.fileExists(atPath: keyOut) else { throw CLIError.fileExists(keyOut) }
        let secret = noEncrypt ? nil : try passphrase.source(for: "the new key", confirm: true).read()

        let key = try await Progress.run("Generating a \(type) key") { () async throws(PKIError) -> PrivateKey in
            try await PrivateKey.generate(type)
        }
        let csr = try CertificateRequest.make(names, key: key)
        let keyPEM = try key.traditionalPEM(encryption: secret.map { (KeyCipher.default, $0) })
        try writePKIFile(keyOut, contents: Data(keyPEM.utf8), mode: 0o600)
        try writePKIFile(csrOut, contents: Data(csr.utf8), mode: 0o644)

        let protection = secret == nil ? "unencrypted" : "encrypted, legacy PEM \(KeyCipher.default.dekInfoName)"
        Console.out("wrote \(keyOut) (\(key.summary), \(protection), mode 0600)")
        Console.out("wrote \(csrOut) (CN=\(cn); SAN \(names.alternativeNames.map(\.description).joined(separator: ", ")); SHA-256)")
        Console.out("next: send \(csrOut) to your CA; keep \(keyOut) private.")
    }
}
