import CertrollCore
import Foundation

/// Runs a cluster's `after_success` command on the controller with
/// `/bin/sh -c`, in a fresh thread (never the cooperative pool). The command
/// sees `CERTROLL_CLUSTER` and `CERTROLL_NODES` (space-separated hosts); its
/// output goes to our stderr so it never mixes into `--json` on stdout.
struct ShellAfterSuccessHook: AfterSuccessHook {
    /// Failure of the hook: names the cluster, the command and its exit status.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run(command: String, cluster: Cluster) async throws {
        let environment = ["CERTROLL_CLUSTER": cluster.name, "CERTROLL_NODES": cluster.nodes.map(\.host).joined(separator: " ")]
        let status = try await Blocking.run("certroll.after-success") { () throws -> (Int32, Bool) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.environment = ProcessInfo.processInfo.environment
                .filter { !$0.key.hasPrefix("CERTROLL_") }
                .merging(environment) { $1 }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.standardError
            process.standardError = FileHandle.standardError
            try process.run()
            process.waitUntilExit()
            return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
        }
        guard status.0 == 0, !status.1 else {
            let how = status.1 ? "was killed by signal \(status.0)" : "exited \(status.0)"
            throw Failure(description: "cluster \(cluster.name): after_success `\(command)` \(how); the nodes serve the new certificate, run it again by hand.")
        }
    }
}
