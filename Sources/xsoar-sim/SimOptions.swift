import Foundation

/// A bad command line; the message names the flag.
struct SimUsageError: Error {
    var message: String
}

/// Where the simulator finds its files and what it listens on. Defaults are
/// the XSOAR 6 paths; flags win over `XSOAR_SIM_*` environment variables.
struct SimOptions: Sendable {
    var confFile = "/etc/demisto.conf"
    var otcFile = "/var/lib/demisto/otc.conf.json"
    var stateDir = "/var/lib/demisto"
    var logFile: String?
    var address: String?
    /// nil: `Server.HttpsPort` from the conf file, else 443.
    var port: Int?
    var startDelay: Double = 0
    var readyFile: String?

    /// Fault switches, the saved keypass and the ready marker live here.
    var simDir: String { stateDir + "/sim" }
    var resolvedLogFile: String { logFile ?? stateDir + "/server.log" }
    var resolvedReadyFile: String { readyFile ?? simDir + "/ready" }

    static func parse(_ arguments: ArraySlice<String>, environment: [String: String]) throws(SimUsageError) -> SimOptions {
        var options = SimOptions()
        var values: [String: String] = [:]
        let flags = ["--conf": "XSOAR_SIM_CONF", "--otc": "XSOAR_SIM_OTC", "--state-dir": "XSOAR_SIM_STATE_DIR",
                     "--log": "XSOAR_SIM_LOG", "--address": "XSOAR_SIM_ADDRESS", "--port": "XSOAR_SIM_PORT",
                     "--start-delay": "XSOAR_SIM_START_DELAY", "--ready-file": "XSOAR_SIM_READY_FILE"]
        for (flag, variable) in flags {
            if let value = environment[variable], !value.isEmpty { values[flag] = value }
        }
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            if flag == "--help" || flag == "-h" { throw SimUsageError(message: "help") }
            guard flags[flag] != nil else { throw SimUsageError(message: "unknown argument \(flag)") }
            guard let value = rest.popFirst() else { throw SimUsageError(message: "\(flag) needs a value") }
            values[flag] = value
        }
        if let v = values["--conf"] { options.confFile = v }
        if let v = values["--otc"] { options.otcFile = v }
        if let v = values["--state-dir"] { options.stateDir = v }
        options.logFile = values["--log"]
        options.address = values["--address"]
        options.readyFile = values["--ready-file"]
        if let v = values["--port"] {
            guard let port = Int(v), (0...65535).contains(port) else { throw SimUsageError(message: "--port \(v) is not a port number") }
            options.port = port
        }
        if let v = values["--start-delay"] {
            guard let delay = Double(v), delay >= 0 else { throw SimUsageError(message: "--start-delay \(v) is not a number of seconds") }
            options.startDelay = delay
        }
        return options
    }
}
