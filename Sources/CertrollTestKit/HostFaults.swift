public import CertrollCore
import Foundation

/// Its service's start command fails the first `failures` times (default: once),
/// as XSOAR does when it cannot come up.
public final class HostThatFailsStart: InMemoryHost, @unchecked Sendable {
    public var failures = 1
    private var failed = 0

    public override func fault(_ op: Operation) throws -> CommandResult? {
        guard case .run(let c) = op, c == NodeCommands(settings).start.shell, failed < failures else { return nil }
        failed += 1
        return CommandResult(exitStatus: 1, stderr: Data("Job for \(settings.service).service failed".utf8))
    }
}

/// Goes down (sshd and all) right after its service is stopped for the first
/// time; `comeBack()` brings it up again (still stopped).
public final class HostThatDiesAfterStop: InMemoryHost, @unchecked Sendable {
    private var armed = true
    private var down = false

    public override func fault(_ op: Operation) throws -> CommandResult? {
        if down {
            goDown()
            throw Unreachable(host: name)
        }
        // The stop itself runs; the next call finds the node gone.
        if armed, case .run(let c) = op, c == NodeCommands(settings).stopThenStatus.shell {
            armed = false
            down = true
        }
        return nil
    }

    public func comeBack() {
        down = false
        reachable = true
    }
}

/// Its stop command succeeds but the service keeps running, as a hung XSOAR does.
public final class HostThatNeverStops: InMemoryHost, @unchecked Sendable {
    public override func fault(_ op: Operation) throws -> CommandResult? {
        guard case .run(let c) = op, c == NodeCommands(settings).stopThenStatus.shell else { return nil }
        return CommandResult(exitStatus: 0, stdout: Data("\ncertroll-status=0\n".utf8))
    }
}

/// A `RolloutClock` whose sleep moves its time on at once: a deadline of ten
/// minutes is reached in as many polls, without waiting.
public final class ClockThatSkipsSleep: RolloutClock, @unchecked Sendable {
    private let lock = NSLock()
    private var elapsed = Duration.zero
    public private(set) var sleeps = 0

    public init() {}
    public var now: Duration { lock.withLock { elapsed } }
    public func sleep(for duration: Duration) async throws {
        lock.withLock {
            elapsed += duration
            sleeps += 1
        }
    }
}
