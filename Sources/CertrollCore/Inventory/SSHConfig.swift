import Foundation

/// The part of an OpenSSH client config that certroll honours for a host alias:
/// `Host` blocks (patterns with `*`, `?` and `!` negation), `Include` (globs;
/// relative paths under `~/.ssh`; inside a `Host` block only for that block's
/// hosts, as in OpenSSH) and the keywords HostName, User, Port, IdentityFile,
/// ProxyJump and ProxyCommand. As in OpenSSH, the first value found for a
/// keyword wins, and whichever of ProxyJump and ProxyCommand comes first wins
/// over the other. `Match` blocks are not evaluated: their settings never
/// apply, and `unevaluatedMatches` lists where they are.
public struct SSHConfig: Sendable, Equatable {
    /// One setting, keyword lowercased, with where it was read.
    struct Setting: Sendable, Equatable {
        var key: String
        var value: String
        var location: Location
    }

    /// A `Host` block: its settings apply to a host every pattern list matches
    /// (more than one when the block was pulled in by an `Include` inside another block).
    struct Block: Sendable, Equatable {
        var conditions: [[String]]
        var settings: [Setting]
    }

    /// A file and 1-based line, for messages.
    public struct Location: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public init(file: String, line: Int) {
            self.file = file
            self.line = line
        }
        public var description: String { "\(file):\(line)" }
    }

    /// What ssh_config says about one alias; nil fields were not set.
    public struct Entry: Sendable, Equatable {
        public var hostName: String?
        public var user: String?
        public var port: Int?
        public var identityFile: String?
        /// `ProxyJump` as written (`none` included); nil when not set or when ProxyCommand came first.
        public var proxyJump: String?
        /// `ProxyCommand` as written (`none` included); nil when not set or when ProxyJump came first.
        public var proxyCommand: String?
        /// Where the ProxyJump or ProxyCommand that applies was read.
        public var proxyLocation: Location?
    }

    /// OpenSSH's limit on nested `Include`s; deeper is almost surely a loop.
    public static let maxIncludeDepth = 16

    var blocks: [Block]
    public var file: String
    /// Where each `Match` block starts: certroll does not evaluate them.
    public var unevaluatedMatches: [Location]

    /// Parses config text; `file` names it in messages. `home` resolves `~` and
    /// relative `Include` paths (under `home/.ssh`); nil: this user's home.
    public init(text: String, file: String, home: String? = nil) throws(InventoryError) {
        self.file = file
        var reader = Reader(home: home ?? NSHomeDirectory())
        // Lines before the first Host apply to every host, like `Host *`.
        reader.blocks = [Block(conditions: [["*"]], settings: [])]
        try reader.read(text: text, file: file, context: [], depth: 0)
        blocks = reader.blocks
        unevaluatedMatches = reader.matches
    }

    /// Reads `path`; a missing file is an empty config.
    public static func load(path: String, home: String? = nil) throws(InventoryError) -> SSHConfig {
        guard FileManager.default.fileExists(atPath: path) else { return try SSHConfig(text: "", file: path, home: home) }
        return try SSHConfig(text: Reader.contents(of: path), file: path, home: home)
    }

    /// The settings that apply to `alias`; `home` expands `~` and `%d` in IdentityFile.
    public func entry(for alias: String, home: String) throws(InventoryError) -> Entry {
        var entry = Entry()
        for block in blocks where block.conditions.allSatisfy({ Self.matches(alias, patterns: $0) }) {
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
                                             file: s.location.file, line: s.location.line)
                    }
                    entry.port = p
                case "identityfile" where entry.identityFile == nil:
                    entry.identityFile = PathText.expandingTilde(
                        s.value.replacingOccurrences(of: "%d", with: home).replacingOccurrences(of: "%h", with: alias),
                        home: home)
                case "proxyjump" where entry.proxyLocation == nil:
                    entry.proxyJump = s.value
                    entry.proxyLocation = s.location
                case "proxycommand" where entry.proxyLocation == nil:
                    entry.proxyCommand = s.value
                    entry.proxyLocation = s.location
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

    /// `*` any run, `?` one character; case-insensitive like OpenSSH host
    /// matching unless `caseSensitive` (file names).
    public static func glob(_ pattern: String, _ text: String, caseSensitive: Bool = false) -> Bool {
        let p = Array(caseSensitive ? pattern : pattern.lowercased()), t = Array(caseSensitive ? text : text.lowercased())
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

    static func split(_ line: String) -> (String, String) {
        guard let sep = line.firstIndex(where: { $0 == "=" || $0.isWhitespace }) else { return (line, "") }
        let key = String(line[..<sep])
        var rest = line[sep...].drop(while: \.isWhitespace)
        if rest.first == "=" { rest = rest.dropFirst().drop(while: \.isWhitespace) }
        return (key, String(rest).trimmingCharacters(in: .whitespaces))
    }

    static func unquote(_ v: String) -> String {
        v.count >= 2 && v.hasPrefix("\"") && v.hasSuffix("\"") ? String(v.dropFirst().dropLast()) : v
    }

    /// Builds the block list, following `Include`s.
    private struct Reader {
        let home: String
        var blocks: [Block] = []
        var matches: [Location] = []

        /// Reads one file's lines; `context` is the pattern lists of the block an
        /// `Include` of this file sits in (empty at top level).
        mutating func read(text: String, file: String, context: [[String]], depth: Int) throws(InventoryError) {
            for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let here = Location(file: file, line: index + 1)
                let (key, value) = SSHConfig.split(line)
                guard !value.isEmpty else {
                    throw InventoryError(code: .badSSHConfig, reason: "'\(key)' has no value; give it one or remove the line.",
                                         file: file, line: here.line)
                }
                switch key.lowercased() {
                case "host":
                    blocks.append(Block(conditions: context + [value.split(whereSeparator: \.isWhitespace).map(String.init)],
                                        settings: []))
                case "match":
                    matches.append(here)
                    // Never matches: an empty pattern list has no positive match.
                    blocks.append(Block(conditions: context + [[]], settings: []))
                case "include":
                    let enclosing = blocks[blocks.count - 1].conditions
                    try include(value, at: here, context: enclosing, depth: depth)
                    // Lines after the Include belong to the block it sat in again.
                    blocks.append(Block(conditions: enclosing, settings: []))
                default:
                    blocks[blocks.count - 1].settings.append(
                        Setting(key: key.lowercased(), value: SSHConfig.unquote(value), location: here))
                }
            }
        }

        private mutating func include(_ value: String, at here: Location, context: [[String]], depth: Int) throws(InventoryError) {
            guard depth < SSHConfig.maxIncludeDepth else {
                throw InventoryError(code: .badSSHConfig,
                                     reason: "Include is nested more than \(SSHConfig.maxIncludeDepth) files deep, probably a file that includes itself; remove the loop.",
                                     file: here.file, line: here.line)
            }
            for word in value.split(whereSeparator: \.isWhitespace) {
                var pattern = PathText.expandingTilde(SSHConfig.unquote(String(word)), home: home)
                if !pattern.hasPrefix("/") { pattern = home + "/.ssh/" + pattern }
                // Like OpenSSH's glob(3): a pattern matching nothing is no error.
                for path in PathGlob.expand(pattern) {
                    try read(text: Self.contents(of: path), file: path, context: context, depth: depth + 1)
                }
            }
        }

        static func contents(of path: String) throws(InventoryError) -> String {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InventoryError(code: .unreadable, reason: "cannot read ssh config \(path); check its permissions.",
                                     file: path, line: nil)
            }
            return String(decoding: data, as: UTF8.self)
        }
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

/// Shell-style path globbing (`*`, `?` in any component) over the file system,
/// for `Include`: matches sorted, hidden entries only when the pattern names them.
enum PathGlob {
    static func expand(_ pattern: String) -> [String] {
        let parts = pattern.split(separator: "/").map(String.init)
        var paths = [""]
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            var next: [String] = []
            for base in paths {
                if !part.contains("*") && !part.contains("?") {
                    next.append(base + "/" + part)
                    continue
                }
                let names = (try? FileManager.default.contentsOfDirectory(atPath: base.isEmpty ? "/" : base)) ?? []
                for name in names.sorted() where (part.hasPrefix(".") || !name.hasPrefix(".")) && SSHConfig.glob(part, name, caseSensitive: true) {
                    next.append(base + "/" + name)
                }
            }
            paths = last ? next : next.filter { isDirectory($0) }
        }
        return paths.filter { FileManager.default.fileExists(atPath: $0) && !isDirectory($0) }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }
}
