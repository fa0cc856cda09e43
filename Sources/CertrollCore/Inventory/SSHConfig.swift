import Foundation

/// The part of an OpenSSH client config that certroll honours for a host alias:
/// `Host` blocks (patterns with `*`, `?` and `!` negation) and the keywords
/// HostName, User, Port and IdentityFile. As in OpenSSH, the first value found
/// for a keyword wins. `Match` blocks and `Include` are not evaluated.
public struct SSHConfig: Sendable, Equatable {
    /// A `Host` block: its patterns and its settings, keywords lowercased.
    struct Block: Sendable, Equatable {
        var patterns: [String]
        var settings: [(key: String, value: String, line: Int)]
        static func == (a: Block, b: Block) -> Bool {
            a.patterns == b.patterns && a.settings.map(\.value) == b.settings.map(\.value)
        }
    }

    /// What ssh_config says about one alias; nil fields were not set.
    public struct Entry: Sendable, Equatable {
        public var hostName: String?
        public var user: String?
        public var port: Int?
        public var identityFile: String?
    }

    var blocks: [Block]
    public var file: String

    /// Parses config text; `file` is only used in error messages.
    public init(text: String, file: String) throws(InventoryError) {
        self.file = file
        // Lines before the first Host apply to every host, like `Host *`.
        var blocks = [Block(patterns: ["*"], settings: [])]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (key, value) = Self.split(line)
            guard !value.isEmpty else {
                throw InventoryError(code: .badSSHConfig,
                                     reason: "'\(key)' has no value; give it one or remove the line.",
                                     file: file, line: index + 1)
            }
            switch key.lowercased() {
            case "host":
                blocks.append(Block(patterns: value.split(whereSeparator: \.isWhitespace).map(String.init), settings: []))
            case "match":
                blocks.append(Block(patterns: [], settings: []))
            default:
                blocks[blocks.count - 1].settings.append((key.lowercased(), Self.unquote(value), index + 1))
            }
        }
        self.blocks = blocks
    }

    /// Reads `path`; a missing file is an empty config.
    public static func load(path: String) throws(InventoryError) -> SSHConfig {
        guard FileManager.default.fileExists(atPath: path) else { return try SSHConfig(text: "", file: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InventoryError(code: .unreadable, reason: "cannot read ssh config \(path); check its permissions.",
                                 file: path, line: nil)
        }
        return try SSHConfig(text: String(decoding: data, as: UTF8.self), file: path)
    }

    /// The settings that apply to `alias`; `home` expands `~` and `%d` in IdentityFile.
    public func entry(for alias: String, home: String) throws(InventoryError) -> Entry {
        var entry = Entry()
        for block in blocks where Self.matches(alias, patterns: block.patterns) {
            for s in block.settings {
                switch s.key {
                case "hostname" where entry.hostName == nil:
                    entry.hostName = s.value.replacingOccurrences(of: "%h", with: alias)
                case "user" where entry.user == nil:
                    entry.user = s.value
                case "port" where entry.port == nil:
                    guard let p = Int(s.value), (1...65535).contains(p) else {
                        throw InventoryError(code: .badSSHConfig,
                                             reason: "Port '\(s.value)' is not a port number; fix it in the ssh config.",
                                             file: file, line: s.line)
                    }
                    entry.port = p
                case "identityfile" where entry.identityFile == nil:
                    entry.identityFile = PathText.expandingTilde(
                        s.value.replacingOccurrences(of: "%d", with: home).replacingOccurrences(of: "%h", with: alias),
                        home: home)
                default:
                    continue
                }
            }
        }
        return entry
    }

    /// OpenSSH's rule: some positive pattern matches and no negated one does.
    static func matches(_ host: String, patterns: [String]) -> Bool {
        var positive = false
        for p in patterns {
            if p.hasPrefix("!") {
                if glob(String(p.dropFirst()), host) { return false }
            } else if glob(p, host) {
                positive = true
            }
        }
        return positive
    }

    /// `*` any run, `?` one character; case-insensitive like OpenSSH host matching.
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.lowercased()), t = Array(text.lowercased())
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    private static func split(_ line: String) -> (String, String) {
        guard let sep = line.firstIndex(where: { $0 == "=" || $0.isWhitespace }) else { return (line, "") }
        let key = String(line[..<sep])
        var rest = line[sep...].drop(while: \.isWhitespace)
        if rest.first == "=" { rest = rest.dropFirst().drop(while: \.isWhitespace) }
        return (key, String(rest).trimmingCharacters(in: .whitespaces))
    }

    private static func unquote(_ v: String) -> String {
        v.count >= 2 && v.hasPrefix("\"") && v.hasSuffix("\"") ? String(v.dropFirst().dropLast()) : v
    }
}

/// Path helpers for values written by people.
public enum PathText {
    /// `~` and `~/x` become paths under `home`; anything else is unchanged.
    public static func expandingTilde(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }

    /// The same under this process's home (`HOME`, else the password database's).
    public static func expandingTilde(_ path: String) -> String {
        expandingTilde(path, home: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory())
    }
}
