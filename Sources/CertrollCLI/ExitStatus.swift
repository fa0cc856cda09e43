import ArgumentParser
import CertrollCore
import CertrollPKI
public import CertrollRollout
import CertrollSSH

/// The error → exit-status map at the CLI edge (the statuses and their
/// ranking are `CertrollRollout.ExitStatus`).
extension ExitStatus {
    /// The one map from errors to exit statuses. New error types get a case here.
    public static func of(_ error: any Error) -> ExitStatus {
        switch error {
        case is PKIError, is InventoryError, is PrometheusText.WriteError: return .badInput
        case let error as RolloutError:
            switch error.code {
            case .stateDir, .unknownRun, .badInput: return .badInput
            }
        case let error as CLIError:
            switch error.code {
            case .missingSecret, .unreadableSecretFile, .emptySecret, .secretMismatch, .conflictingOptions,
                 .fileExists, .inventory, .needsConfirmation, .declined, .notRoot, .sandboxUnavailable:
                return .badInput
            case .checksFailed: return .badInput
            case .demoFailed: return .rolledBack
            }
        // A node could not be reached or used before anything changed.
        case is SSHError: return .preflightFailed
        case let code as ExitCode:
            // A finished run's own status (its report says why), or status's 0/1/2.
            return ExitStatus(rawValue: code.rawValue) ?? .badInput
        default:
            // swift-argument-parser's own errors: help and version are success,
            // everything else is a usage error.
            let code = CertrollCommand.exitCode(for: error)
            if code == .success { return .ok }
            return .badInput
        }
    }

    /// The text to show for `error`: our errors' reason, or ArgumentParser's usage message.
    static func message(for error: any Error) -> String? {
        switch error {
        case let error as PKIError: return error.reason
        case let error as CLIError: return error.reason
        case let error as RolloutError: return error.reason
        case let error as SSHError: return error.description
        case let error as PrometheusText.WriteError: return error.description
        // Unreadable names the file in its reason; the others lead with file:line.
        case let error as InventoryError: return error.code == .unreadable ? error.reason : error.description
        case is ExitCode: return nil
        default:
            let message = CertrollCommand.fullMessage(for: error)
            return message.isEmpty ? nil : message
        }
    }
}
