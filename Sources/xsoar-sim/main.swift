// xsoar-sim: the sandbox's stand-in for the Cortex XSOAR 6 server. It loads
// its certificate the way XSOAR does and serves it over TLS; see docs/sandbox.md.
import CertrollCore
import CertrollPKI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let usage = """
    usage: xsoar-sim [--conf FILE] [--otc FILE] [--state-dir DIR] [--log FILE]
                     [--address ADDR] [--port N] [--start-delay SECONDS] [--ready-file FILE]
    Environment (flags win): XSOAR_SIM_CONF, XSOAR_SIM_OTC, XSOAR_SIM_STATE_DIR,
    XSOAR_SIM_LOG, XSOAR_SIM_ADDRESS, XSOAR_SIM_PORT, XSOAR_SIM_START_DELAY.
    Fault switches (files in STATE_DIR/sim, each consumed by the next start):
    fail-next-start, hang-next-start, exit-after (holds N seconds).
    """

OpenSSLRuntime.initializeWithoutExitCleanup()

// Hold nothing the starter left open (a pipe a caller waits on, a lock file).
for fd in Int32(3)..<Int32(1024) { close(fd) }

do {
    let options = try SimOptions.parse(CommandLine.arguments.dropFirst(), environment: ProcessInfo.processInfo.environment)
    let log = SimLog(path: options.resolvedLogFile)
    let server = SimServer(options: options, log: log)
    exit(server.run())
} catch {
    if error.message == "help" {
        print(usage)
        exit(0)
    }
    FileHandle.standardError.write(Data("xsoar-sim: \(error.message)\n\(usage)\n".utf8))
    exit(2)
}
