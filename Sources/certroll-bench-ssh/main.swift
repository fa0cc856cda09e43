// certroll-bench-ssh: connect + authenticate + `true` on N nodes at once.
// Run by scripts/bench-ssh, which starts a local sshd and passes its details.
import CertrollCore
import CertrollSSH
import Foundation

let args = CommandLine.arguments
func value(_ flag: String) -> String? { args.firstIndex(of: flag).map { args[$0 + 1] } }
guard let port = value("--port").flatMap(Int.init), let identity = value("--identity"),
      let knownHosts = value("--known-hosts")
else {
    FileHandle.standardError.write(Data("usage: certroll-bench-ssh --port P --identity KEY --known-hosts FILE [--counts 1,10,50,100]\n".utf8))
    exit(2)
}
let counts = (value("--counts") ?? "1,10,50,100").split(separator: ",").compactMap { Int($0) }
let settings = SSHConnectionSettings(port: port, identity: identity, knownHosts: knownHosts, connectTimeout: .seconds(30))

func peakRSSMB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

print("| nodes | wall time | per node | failures | peak RSS |")
print("|---:|---:|---:|---:|---:|")
for n in counts {
    let started = ContinuousClock.now
    let results = await Fleet.forEachNode(Array(0..<n), parallel: n) { i in
        let host = try await SSHHost.connect(name: "bench-\(i)", address: "127.0.0.1", settings: settings)
        let r = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(30))
        await host.close()
        return r.exitStatus
    }
    let took = ContinuousClock.now - started
    let failures = results.filter { (try? $0.get()) != 0 }
    let ms = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
    print(String(format: "| %d | %.0f ms | %.1f ms | %d | %.0f MB |", n, ms, ms / Double(n), failures.count, peakRSSMB()))
    for case .failure(let e) in failures.prefix(3) { print("  failure: \(e)") }
}
