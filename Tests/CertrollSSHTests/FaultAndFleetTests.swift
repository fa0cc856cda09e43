import CertrollCore
import Foundation
import Testing

@testable import CertrollSSH

#if canImport(Glibc)
    import Glibc
#endif

/// A veth pair into a network namespace of our own (names crssh*, 198.19.x.0/30), removed by `remove()`.
final class TestNetns: @unchecked Sendable {
    let name: String
    let hostSide: String
    let hostAddress: String
    let nodeAddress: String

    init() throws {
        let n = Int(getpid() % 50)
        name = "crssh-ns\(n)"
        hostSide = "crssh-h\(n)"
        hostAddress = "198.19.\(200 + n).1"
        nodeAddress = "198.19.\(200 + n).2"
        _ = try? sh("ip netns del \(name) 2>/dev/null; ip link del \(hostSide) 2>/dev/null; true")
        try sh("""
            ip netns add \(name) && ip link add \(hostSide) type veth peer name crssh-n\(n) \
            && ip link set crssh-n\(n) netns \(name) \
            && ip addr add \(hostAddress)/30 dev \(hostSide) && ip link set \(hostSide) up \
            && ip netns exec \(name) ip addr add \(nodeAddress)/30 dev crssh-n\(n) \
            && ip netns exec \(name) ip link set crssh-n\(n) up && ip netns exec \(name) ip link set lo up
            """)
    }

    func linkDown() throws { try sh("ip link set \(hostSide) down") }

    func remove() {
        _ = try? sh("ip netns del \(name); ip link del \(hostSide) 2>/dev/null; true")
    }
}

/// A dying sshd or link ends calls within their timeout; many nodes run in parallel.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: rootOnly)))
struct FaultAndFleetTests {
    @Test func killingSSHDMidCommandEndsTheCall() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-k", settings: testSettings(sshd), timeouts: testTimeouts)
        let call = Task { try await host.run(RemoteCommand("sleep 600"), stdin: nil, timeout: .seconds(120)) }
        try await Task.sleep(for: .milliseconds(500))
        let killedAt = ContinuousClock.now
        sshd.stop()
        let error = await #expect(throws: SSHError.self) { _ = try await call.value }
        let took = ContinuousClock.now - killedAt
        print("call ended \(took) after sshd was killed: \(error.map(String.init(describing:)) ?? "-")")
        #expect(error?.code == .connect)
        #expect(error?.description.hasPrefix("node node-k: the connection was lost") == true)
        // The contract: the lost connection ended the call (the code above is .connect),
        // neither the 120 s timeout nor the 600 s command. `took` also counts stop()'s
        // wait for sshd to exit; normal is well under a second.
        #expect(took < .seconds(60))
        // The next call tries to reconnect and says why it cannot.
        let again = await #expect(throws: SSHError.self) { _ = try await host.run(RemoteCommand("true"), stdin: nil, timeout: .seconds(5)) }
        #expect(again?.code == .connect)
        await host.close()
    }

    @Test func linkDownMidCommandTimesOut() async throws {
        let netns = try TestNetns()
        defer { netns.remove() }
        let sshd = try TestSSHD(address: netns.nodeAddress, netns: netns.name)
        defer { sshd.stop() }
        let host = try await SSHHost.connect(name: "node-l", settings: testSettings(sshd), timeouts: testTimeouts)
        let started = ContinuousClock.now
        let call = Task { try await host.run(RemoteCommand("sleep 600"), stdin: nil, timeout: .seconds(3)) }
        try await Task.sleep(for: .milliseconds(500))
        try netns.linkDown()
        let error = await #expect(throws: SSHError.self) { _ = try await call.value }
        let took = ContinuousClock.now - started
        print("call ended \(took) after start (link down at 0.5 s, timeout 3 s): \(error.map(String.init(describing:)) ?? "-")")
        // Ended by its 3 s timeout (the code says so), not by the 600 s command.
        #expect(error?.code == .timeout)
        #expect(error?.description.contains("sleep 600") == true)
        #expect(took < .seconds(300))
        await host.close()
    }

    @Test func twentyNodesSleepInParallel() async throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let settings = try testSettings(sshd)
        let hosts = try await Fleet.forEachNode(Array(0..<20), parallel: 20) { i in
            try await SSHHost.connect(name: "node-\(i)", settings: settings, timeouts: testTimeouts)
        }.map { try $0.get() }
        // Each node reports when its sleep began and ended (the node's clock, shared here).
        let spans = try await Fleet.forEachNode(hosts, parallel: 20) { host in
            let r = try await host.run(RemoteCommand("date +%s.%N; sleep 3; date +%s.%N"), stdin: nil, timeout: .seconds(60))
            let times = r.stdoutText.split(separator: "\n").compactMap { Double($0) }
            return (begin: times.first ?? .infinity, end: times.last ?? 0)
        }.map { try $0.get() }
        for host in hosts { await host.close() }
        let lastBegin = spans.map(\.begin).max() ?? .infinity
        let firstEnd = spans.map(\.end).min() ?? 0
        print("20 nodes: the last sleep began \(lastBegin - (spans.map(\.begin).min() ?? 0)) s after the first")
        // All 20 sleeps overlap: every one began before any ended. Blocking calls on
        // the 2-thread cooperative pool would run them two at a time, end to end.
        #expect(lastBegin < firstEnd)
    }

    @Test func fleetWindowBoundsFanOut() async {
        let counter = Counter()
        let results = await Fleet.forEachNode(Array(0..<12), parallel: 3) { i in
            await counter.enter()
            try await Task.sleep(for: .milliseconds(30))
            await counter.leave()
            if i == 5 { throw CancellationError() }
            return i * 2
        }
        #expect(await counter.peak == 3)
        #expect(results.count == 12)
        #expect((try? results[4].get()) == 8)
        #expect((try? results[5].get()) == nil)
    }

    actor Counter {
        var current = 0
        var peak = 0
        func enter() { current += 1; peak = max(peak, current) }
        func leave() { current -= 1 }
    }
}
