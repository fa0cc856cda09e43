import Foundation

/// Ctrl-C as documented: the first interrupt stops scheduling new clusters
/// (in-flight ones finish or roll back); the second stops at once, leaving a
/// run that `resume` can finish.
public final class RolloutCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupts = 0

    public init() {}

    /// Call from the SIGINT handler.
    public func interrupt() {
        lock.lock()
        interrupts += 1
        lock.unlock()
    }

    /// No new cluster may begin.
    public var stopsScheduling: Bool { count >= 1 }
    /// Stop before the next remote step.
    public var aborts: Bool { count >= 2 }

    private var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return interrupts
    }
}
