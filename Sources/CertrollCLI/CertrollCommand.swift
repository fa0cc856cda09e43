public import ArgumentParser

/// `certroll`: the root command. Add a new command by appending its type to
/// `subcommandTypes` (one command per file).
public struct CertrollCommand: AsyncParsableCommand {
    /// Every top-level command, in the order `--help` lists them.
    static let subcommandTypes: [any ParsableCommand.Type] = [
        CSRCommand.self,
        KeyCommand.self,
        BundleCommand.self,
        CheckCommand.self,
        PlanCommand.self,
        ApplyCommand.self,
        RenewCommand.self,
        RollbackCommand.self,
        ResumeCommand.self,
        RunsCommand.self,
        StatusCommand.self,
        DemoCommand.self,
    ]

    public static let configuration = CommandConfiguration(
        commandName: "certroll",
        abstract: "Install or renew the custom HTTPS certificate of Cortex XSOAR 6.x servers.",
        discussion: """
            Secrets (key passphrases, the sudo password) are never taken from the command \
            line: use the --…-file options, the CERTROLL_… environment variables, or answer \
            the prompt on a terminal.
            """,
        version: CertrollVersion.text,
        subcommands: subcommandTypes)

    public init() {}
}
