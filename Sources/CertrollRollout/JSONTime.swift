public import Foundation

/// Times in every JSON certroll writes (journal, `report.json`, `--json`
/// events): RFC 3339 in UTC with milliseconds (`2026-12-02T16:19:17.123Z`), so
/// a step's duration and the outage (first stop → last verify) can be read
/// from them. Times without a fraction (files of older versions) still read.
public enum JSONTime {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static let encoding: JSONEncoder.DateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(date.formatted(style))
    }

    public static let decoding: JSONDecoder.DateDecodingStrategy = .custom { decoder in
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let date = try? style.parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
    }
}
