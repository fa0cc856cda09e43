/// A command-line failure outside the PKI: secrets, options, inventory.
/// Equal by `code`; `reason` is a sentence naming the object and the next action.
public struct CLIError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case missingSecret
        case unreadableSecretFile
        case emptySecret
        case secretMismatch
        case conflictingOptions
        case fileExists
        case inventory
        case checksFailed
        case needsConfirmation
        case declined
        case notRoot
        case sandboxUnavailable
        case demoFailed
    }

    public let code: Code
    public let reason: String
    public let file: String?

    init(_ code: Code, _ reason: String, file: String? = nil) {
        self.code = code
        self.reason = reason
        self.file = file
    }

    public var description: String { reason }
    public static func == (lhs: CLIError, rhs: CLIError) -> Bool { lhs.code == rhs.code }

    static func missingSecret(_ what: String, option: String, environment: String) -> CLIError {
        CLIError(
            .missingSecret,
            "\(what) is needed and there is no terminal to ask on; give it with \(option) FILE or \(environment).")
    }
    static func unreadableSecretFile(_ file: String, _ why: String) -> CLIError {
        CLIError(.unreadableSecretFile, "passphrase file \(file) cannot be read (\(why)); check the path and its permissions.", file: file)
    }
    static func emptySecret(_ source: String) -> CLIError {
        CLIError(.emptySecret, "the passphrase from \(source) is empty; give a non-empty passphrase.")
    }
    static func secretMismatch() -> CLIError {
        CLIError(.secretMismatch, "the two passphrases differ; run the command again.")
    }
    static func conflictingOptions(_ reason: String) -> CLIError {
        CLIError(.conflictingOptions, reason)
    }
    static func fileExists(_ file: String) -> CLIError {
        CLIError(.fileExists, "\(file) already exists; a key is never overwritten, choose another --key-out or move it away first.", file: file)
    }
    static func inventory(_ file: String, line: Int?, _ reason: String) -> CLIError {
        CLIError(.inventory, "\(file)\(line.map { ":\($0)" } ?? ""): \(reason).", file: file)
    }
    static func localChecksFailed(_ count: Int, cert: String, command: String) -> CLIError {
        CLIError(.checksFailed, "\(count) local check(s) of \(cert) failed, so \(command) touched no node; fix the FAIL lines above (certroll check shows them again).", file: cert)
    }
    static func needsConfirmation(command: String, then: String) -> CLIError {
        CLIError(.needsConfirmation, "\(command) changes nodes and asks first, but there is no terminal to ask on; add --yes to go ahead (\(then)).")
    }
    static func declined(_ what: String) -> CLIError {
        CLIError(.declined, "\(what) was not confirmed; nothing was changed.")
    }
    static func notRoot(_ command: String) -> CLIError {
        CLIError(.notRoot, "\(command) needs root (it makes network and mount namespaces); run it again with sudo.")
    }
    static func sandboxUnavailable(_ reason: String) -> CLIError {
        CLIError(.sandboxUnavailable, reason)
    }
    static func demoFailed(_ reason: String) -> CLIError {
        CLIError(.demoFailed, reason)
    }
    static func checksFailed(_ count: Int) -> CLIError {
        CLIError(.checksFailed, "\(count) check(s) failed; fix the FAIL lines above and run certroll check again (nothing was changed).")
    }
}
