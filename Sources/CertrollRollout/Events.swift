public import Foundation

/// Something the engine did or found, for the CLI to render (TTY, plain or
/// JSON). The engine never prints. Events carry no secret.
public struct RolloutEvent: Sendable, Codable, Equatable {
    /// The kinds of event.
    public enum Kind: String, Sendable, Codable, Equatable {
        case runStarted = "run-started"
        /// A preflight check's verdict on a node.
        case check
        case stepBegan = "step-began"
        case stepEnded = "step-ended"
        case stepFailed = "step-failed"
        case warning
        case clusterFinished = "cluster-finished"
        case runFinished = "run-finished"
    }

    /// Verdict of a preflight check.
    public enum Verdict: String, Sendable, Codable, Equatable {
        case pass, warn, fail
    }

    public var time: Date
    public var kind: Kind
    public var runID: String?
    public var cluster: String?
    public var node: String?
    public var step: Step?
    public var verdict: Verdict?
    /// A sentence for people.
    public var message: String
    public var outcome: ClusterOutcome?
    public var report: RunReport?

    public init(kind: Kind, runID: String? = nil, cluster: String? = nil, node: String? = nil, step: Step? = nil,
                verdict: Verdict? = nil, message: String, outcome: ClusterOutcome? = nil, report: RunReport? = nil,
                time: Date = Date()) {
        self.time = time
        self.kind = kind
        self.runID = runID
        self.cluster = cluster
        self.node = node
        self.step = step
        self.verdict = verdict
        self.message = message
        self.outcome = outcome
        self.report = report
    }
}

/// Receives events as they happen; called from many tasks at once.
public protocol RolloutEventSink: Sendable {
    func receive(_ event: RolloutEvent)
}

/// Feeds events into an `AsyncStream` the CLI iterates.
public struct StreamEventSink: RolloutEventSink {
    let continuation: AsyncStream<RolloutEvent>.Continuation

    /// A sink and the stream it feeds; call `finish()` when the run returns.
    public static func make() -> (sink: StreamEventSink, stream: AsyncStream<RolloutEvent>) {
        let (stream, continuation) = AsyncStream<RolloutEvent>.makeStream()
        return (StreamEventSink(continuation: continuation), stream)
    }

    public func receive(_ event: RolloutEvent) { continuation.yield(event) }
    public func finish() { continuation.finish() }
}

/// Drops every event.
public struct DiscardingEventSink: RolloutEventSink {
    public init() {}
    public func receive(_ event: RolloutEvent) {}
}
