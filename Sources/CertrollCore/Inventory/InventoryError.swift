/// A problem with an inventory file: what is wrong, where (`file:line`), and
/// how to fix it. Equal by code, so tests and callers match on the kind.
public struct InventoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of inventory problem.
    public enum Code: String, Sendable, Equatable {
        case unreadable, yamlSyntax, unknownKey, missingKey, wrongType
        case emptyClusters, missingPrimary, twoPrimaries, duplicateNode, duplicateCluster
        case badDuration, badRole, badValue, badSSHConfig
    }

    public var code: Code
    /// One sentence naming the object and the fix.
    public var reason: String
    public var file: String
    /// 1-based line of the offending node, when known.
    public var line: Int?
    public var cluster: String?
    public var node: String?

    public init(code: Code, reason: String, file: String, line: Int?, cluster: String? = nil, node: String? = nil) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
        self.cluster = cluster
        self.node = node
    }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code }

    /// `inventory.yaml:12: cluster soc-prod has two primaries …`
    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)"
    }

    static func unknownKey(_ key: String, in object: String, allowed: [String], file: String, line: Int?) -> Self {
        .init(code: .unknownKey,
              reason: "unknown key '\(key)' in \(object); use one of \(allowed.joined(separator: ", ")).",
              file: file, line: line)
    }
    static func missingKey(_ key: String, in object: String, file: String, line: Int?) -> Self {
        .init(code: .missingKey, reason: "\(object) has no '\(key)'; add it.", file: file, line: line)
    }
    static func wrongType(_ key: String, expected: String, file: String, line: Int?) -> Self {
        .init(code: .wrongType, reason: "'\(key)' must be \(expected).", file: file, line: line)
    }
    static func badDuration(_ key: String, value: String, file: String, line: Int?) -> Self {
        .init(code: .badDuration,
              reason: "'\(key)' is '\(value)', which is not a duration; write it like 10s, 600s or 5m.",
              file: file, line: line)
    }
    static func badValue(_ key: String, value: String, expected: String, file: String, line: Int?) -> Self {
        .init(code: .badValue, reason: "'\(key)' is '\(value)'; it must be \(expected).", file: file, line: line)
    }
}
