/// Durations as an inventory writes them: `10s`, `600s`, `5m`, `1h`, `250ms`, or bare seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, millis) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            guard let n = Int64(number), n >= 0, !number.hasPrefix("+") else { return nil }
            return .milliseconds(n * millis)
        }
        guard let n = Int64(t), n >= 0 else { return nil }
        return .seconds(n)
    }

    /// `600s`, `1.5s`, `250ms`: the form messages use.
    public static func format(_ d: Duration) -> String {
        let ms = d.wholeMilliseconds
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        if ms < 1000 { return "\(ms)ms" }
        return "\(Double(ms) / 1000)s"
    }
}

import Foundation

extension Duration {
    /// Whole and fractional seconds (messages, logs, benchmarks).
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// Whole milliseconds, rounded down (poll timeouts, messages).
    public var wholeMilliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
