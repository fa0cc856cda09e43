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

    actor OnOwnThread {
        let executor = ThreadExecutor(name: "test")
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        func sleepBlocking() -> Bool {
            usleep(200_000)
            return executor.isCurrentThread
        }
        deinit { executor.shutdown() }
    }

    @Test func blockingActorsRunInParallelOffThePool() async {
        let actors = (0..<8).map { _ in OnOwnThread() }
        let start = Date()
        let onOwnThread = await withTaskGroup(of: Bool.self) { group in
            for a in actors { group.addTask { await a.sleepBlocking() } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        // 8 × 0.2 s blocking sleeps on a 2-thread pool would take ≥ 0.8 s.
        #expect(Date().timeIntervalSince(start) < 0.7)
        #expect(onOwnThread == Array(repeating: true, count: 8))
    }

    @Test func blockingRunReturnsAndThrows() async throws {
        struct Boom: Error {}
        let v = try await Blocking.run { () throws(Boom) -> Int in 42 }
        #expect(v == 42)
        await #expect(throws: Boom.self) { try await Blocking.run { () throws(Boom) -> Int in throw Boom() } }
    }
}
