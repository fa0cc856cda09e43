/// certroll's exit statuses, and the one ranking of them. The CLI maps errors
/// to them (`ExitStatus.of`); the engine ranks cluster outcomes with them.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// At least one cluster failed and was rolled back cleanly.
    case rolledBack = 1
    /// Bad usage or input; nothing touched.
    case badInput = 2
    /// Preflight failed; nothing touched.
    case preflightFailed = 3
    /// A rollback did not complete; a person must look.
    case needsPerson = 4
    case interrupted = 130

    /// With several clusters the worst wins: 4 > 130 > 1 > 2 > 3 > 0.
    public static let fromBestToWorst: [ExitStatus] = [.ok, .preflightFailed, .badInput, .rolledBack, .interrupted, .needsPerson]

    /// The worst of several exit codes (0 for none). A code certroll does not
    /// use ranks below every other.
    public static func worst(_ codes: [Int32]) -> Int32 {
        let rank = { (code: Int32) in ExitStatus(rawValue: code).flatMap { fromBestToWorst.firstIndex(of: $0) } ?? -1 }
        return codes.max { rank($0) < rank($1) } ?? 0
    }
}
