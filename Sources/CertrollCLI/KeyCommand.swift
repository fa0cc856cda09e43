import ArgumentParser

/// `certroll key`: private key tools.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Private key tools.",
        subcommands: [KeyConvertCommand.self])
}
