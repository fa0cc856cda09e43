import Foundation

/// A serial executor backed by one dedicated OS thread.
///
/// libssh2 sessions must be used by one thread at a time, and blocking C calls
/// must never run on Swift's cooperative pool (it has only as many threads as
/// cores). An actor per connection whose `unownedExecutor` is one of these runs
/// every call for that connection on its own thread, so a fleet of slow nodes
/// proceeds in parallel. Call `shutdown()` when the owner is done; the thread
/// finishes the queued jobs and exits.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false

    public init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread exit once the queue is empty.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// True when called from this executor's thread (for preconditions and tests).
    public var isCurrentThread: Bool {
        (Thread.current.threadDictionary[Self.key] as? ObjectIdentifier) == ObjectIdentifier(self)
    }

    private static let key = "certroll.ThreadExecutor"

    private func loop() {
        Thread.current.threadDictionary[Self.key] = ObjectIdentifier(self)
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }
}

/// One-off blocking work (RSA key generation, a TLS handshake) on a fresh thread,
/// so it never occupies a thread of the cooperative pool.
public enum Blocking {
    public static func run<T: Sendable, E: Error>(
        _ name: String = "certroll.blocking",
        _ body: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(E) -> T in try body() })
            }
            thread.name = name
            thread.start()
        }
        return try result.get()
    }
}
