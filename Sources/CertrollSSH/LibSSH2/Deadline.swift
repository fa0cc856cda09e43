import Foundation

/// A point in time a libssh2 call must finish by, and what to say when it does not.
struct Deadline {
    let instant: ContinuousClock.Instant
    let step: String
    let limit: Duration

    init(_ step: String, within limit: Duration) {
        self.instant = .now + limit
        self.step = step
        self.limit = limit
    }
}
