import CertrollCore
import Foundation
import Testing

@Suite struct SharedTests {
    @Test func secretNeverPrints() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect(secret.utf8String == "hunter2")
    }

    @Test func shellQuoting() {
        #expect(ShellQuote.quote("/usr/local/demisto/cert.pem") == "/usr/local/demisto/cert.pem")
        #expect(ShellQuote.quote("a b") == "'a b'")
        #expect(ShellQuote.quote("it's") == "'it'\\''s'")
        #expect(ShellQuote.quote("") == "''")
        #expect(ShellQuote.join(["service", "demisto", "stop"]) == "service demisto stop")
    }

    /// A blocking barrier: `arrive` blocks its thread until `parties` threads arrived, or times out.
    final class Barrier: @unchecked Sendable {
        let condition = NSCondition()
        let parties: Int
        var arrived = 0
        init(parties: Int) { self.parties = parties }
        func arrive(timeout: TimeInterval) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            arrived += 1
            condition.broadcast()
            let deadline = Date().addingTimeInterval(timeout)
            while arrived < parties {
                if !condition.wait(until: deadline) { return false }
            }
            return true
        }
    }

    actor OnOwnThread {
        let executor = ThreadExecutor(name: "test")
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        func blockAt(_ barrier: Barrier) -> Bool {
            barrier.arrive(timeout: 10) && executor.isCurrentThread
        }
        deinit { executor.shutdown() }
    }

    /// Eight actors block their threads at once: on the cooperative pool (as many
    /// threads as cores) the barrier would never fill and every call would time out.
    @Test func blockingActorsRunInParallelOffThePool() async {
        let actors = (0..<8).map { _ in OnOwnThread() }
        let barrier = Barrier(parties: 8)
        let results = await withTaskGroup(of: Bool.self) { group in
            for a in actors { group.addTask { await a.blockAt(barrier) } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test func blockingRunReturnsAndThrows() async throws {
        struct Boom: Error {}
        let v = try await Blocking.run { () throws(Boom) -> Int in 42 }
        #expect(v == 42)
        await #expect(throws: Boom.self) { try await Blocking.run { () throws(Boom) -> Int in throw Boom() } }
    }
}
