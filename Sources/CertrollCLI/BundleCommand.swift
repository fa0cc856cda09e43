import ArgumentParser
import CertrollPKI
import Foundation

/// `certroll bundle`: the chain file XSOAR wants, from certificates in any order.
struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Build cert.pem from the leaf, intermediates and root, in any order.",
        discussion: """
            Writes the leaf first, then each next certificate the issuer of the one \
            before. Refuses a gap (names the missing issuer), a second leaf, or a \
            certificate that is not in the chain. Text outside PEM blocks is dropped.
            """)

    @Option(help: ArgumentHelp("Where to write the chain (may be one of the inputs).", valueName: "file"))
    var out: String

    @Argument(help: ArgumentHelp("PEM files holding the certificates.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one certificate file.") }
    }

    func run() async throws {
        var certificates: [Certificate] = []
        for file in files {
            let bundle = try Certificate.bundle(from: try readPKIFile(file), file: file)
            certificates += bundle.certificates
            for block in bundle.others where KeyFileFormat(block: block) != nil {
                Console.note("note: \(file) PEM block \(block.index) is a private key; it is left out of \(out).")
            }
        }
        let ordered = try Chain.bundle(certificates, file: files.count == 1 ? files[0] : nil)
        try writePKIFile(out, contents: Data(ordered.map(\.pem).joined().utf8), mode: 0o644)
        Console.out("wrote \(out): \(Chain(arranging: ordered).summary)")
    }
}
