// certroll-bench-ssh: connect + authenticate + `true` on N nodes at once.
// Run by scripts/bench-ssh, which brings up sandbox nodes (each its own sshd)
// and passes their addresses, key and known_hosts.
import CertrollCore
import CertrollSSH
import Foundation

let args = CommandLine.arguments
func value(_ flag: String) -> String? { args.firstIndex(of: flag).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil } }
guard let hostsFile = value("--hosts-file"), let identity = value("--identity"), let knownHosts = value("--known-hosts"),
      let hostsText = try? String(contentsOfFile: hostsFile, encoding: .utf8)
else {
    FileHandle.standardError.write(Data("usage: certroll-bench-ssh --hosts-file FILE --identity KEY --known-hosts FILE [--port 22] [--counts 1,10,50,100] [--repeat 3]\n".utf8))
    exit(2)
}
let hosts = hostsText.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
let counts = (value("--counts") ?? "1,10,50,100").split(separator: ",").compactMap { Int($0) }
let repeats = max(1, value("--repeat").flatMap(Int.init) ?? 3)
let port = value("--port").flatMap(Int.init) ?? 22
guard let needed = counts.max(), needed <= hosts.count else {
    FileHandle.standardError.write(Data("certroll-bench-ssh: \(counts.max() ?? 0) nodes asked, \(hosts.count) in \(hostsFile)\n".utf8))
    exit(2)
}
/// Every host's settings but its address.
let template = SSHSettings(hostName: "", port: port, identity: identity, knownHosts: knownHosts, connectTimeout: .seconds(30))

/// CPU seconds (user + system) this process used so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let t = { (tv: timeval) in Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6 }
    return t(usage.ru_utime) + t(usage.ru_stime)
}

func peakRSSMB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

/// One round: every one of the first `n` hosts connects, authenticates, runs `true`, disconnects, all at once.
func round(_ n: Int) async -> (ms: Double, failures: [any Error]) {
    let started = ContinuousClock.now
    let results = await Fleet.forEachNode(Array(hosts.prefix(n)), parallel: n) { address in
        let host = try await SSHHost.connect(name: address, settings: { var s = template; s.hostName = address; return s }())
        let r = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(30))
        await host.close()
        return r.exitStatus
    }
    let took = ContinuousClock.now - started
    var failures: [any Error] = []
    for r in results {
        switch r {
        case .success(0): break
        case .success(let code): failures.append(SSHBenchFailure(reason: "`true` exited \(code)"))
        case .failure(let e): failures.append(e)
        }
    }
    return (took.seconds * 1000, failures)
}

struct SSHBenchFailure: Error, CustomStringConvertible { var reason: String; var description: String { reason } }

// Warm-up: every node once, 10 at a time (sshd binaries and host keys in the page cache, ARP resolved).
_ = await Fleet.forEachNode(Array(hosts.prefix(needed)), parallel: 10) { address in
    let host = try await SSHHost.connect(name: address, settings: { var s = template; s.hostName = address; return s }())
    _ = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(30))
    await host.close()
}

print("| nodes | wall time (median of \(repeats)) | min | per node | vs 1 node | client CPU per node | failures | peak RSS |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
var single: Double?
for n in counts {
    var times: [Double] = []
    var failed: [any Error] = []
    let cpuBefore = cpuSeconds()
    for _ in 0..<repeats {
        let r = await round(n)
        times.append(r.ms)
        failed += r.failures
    }
    times.sort()
    let median = times[times.count / 2]
    if n == 1 { single = median }
    let ratio = single.map { String(format: "%.1f×", median / $0) } ?? "–"
    let row = String(format: "| %d | %.0f ms | %.0f ms | %.1f ms", n, median, times[0], median / Double(n))
    let cpu = (cpuSeconds() - cpuBefore) * 1000 / Double(n * repeats)
    print(row + " | \(ratio) | " + String(format: "%.1f ms", cpu) + " | \(failed.count) | " + String(format: "%.0f MB |", peakRSSMB()))
    for e in failed.prefix(3) { print("  failure: \(e)") }
}
