// The process entry: bootstrap logging, hand over to the CLI, exit with its status.
import CertrollCLI
import Foundation
import Logging

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = ProcessInfo.processInfo.environment["CERTROLL_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return handler
}
exit(await CertrollMain.run())
