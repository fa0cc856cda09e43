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
        if armed, case .run(let c) = op, c == NodeCommands(settings).status.shell, stops > 0 {
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
