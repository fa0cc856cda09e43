import Foundation

/// One hop of a `proxy_jump` / ssh_config `ProxyJump` value as written:
/// `[user@]host[:port]` or `ssh://[user@]host[:port]`, an IPv6 address in brackets.
public struct JumpSpec: Sendable, Equatable {
    public var user: String?
    public var host: String
    public var port: Int?
    /// The hop as written, for messages.
    public var text: String

    public init(user: String? = nil, host: String, port: Int? = nil, text: String) {
        self.user = user
        self.host = host
        self.port = port
        self.text = text
    }

    /// Why a value is not a jump host list: a sentence ending in the fix.
    public struct SyntaxError: Error, Sendable, Equatable {
        public var reason: String
    }

    /// Parses a comma-separated list of hops; nil for `none` (no jump host).
    public static func parseList(_ text: String) throws(SyntaxError) -> [JumpSpec]? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "none" { return nil }
        let hops = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !hops.contains(where: \.isEmpty) else {
            throw SyntaxError(reason: "'\(text)' has an empty hop; write [user@]host[:port], several separated by commas, or none.")
        }
        return try hops.map { hop throws(SyntaxError) in try parse(hop) }
    }

    /// Parses one hop.
    public static func parse(_ hop: String) throws(SyntaxError) -> JumpSpec {
        func bad(_ why: String) -> SyntaxError {
            SyntaxError(reason: "jump host '\(hop)' \(why); write [user@]host[:port], e.g. admin@bastion.example.com:2222.")
        }
        var rest = Substring(hop)
        if rest.hasPrefix("ssh://") { rest = rest.dropFirst("ssh://".count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            guard user?.isEmpty == false else { throw bad("has an empty user name") }
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("opens '[' without closing it") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("has text after ']' that is not :port") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw bad("has no valid host name") }
        var port: Int?
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("has port '\(portText)', not a number from 1 to 65535") }
            port = p
        }
        return JumpSpec(user: user, host: String(host), port: port, text: hop)
    }
}

/// Turns jump host lists into `JumpHost`s, each resolved through ssh_config
/// like a node (HostName, User, Port, IdentityFile of its alias). As with
/// OpenSSH, the first hop's own `ProxyJump` in ssh_config is followed (a
/// bastion reached through another); later hops are reached through the hop
/// before them.
struct JumpResolver {
    let sshConfig: SSHConfig
    let home: String
    /// What a hop uses when neither its text nor ssh_config says: the node's own.
    let nodeUser: String
    let nodeIdentity: String?

    /// A chain nested deeper than this through ssh_config is a loop.
    static let maxDepth = 8

    func chain(_ hops: [JumpSpec], depth: Int = 0) throws(InventoryError) -> [JumpHost] {
        guard let first = hops.first else { return [] }
        let entry = try sshConfig.entry(for: first.host, home: home)
        var before: [JumpHost] = []
        if let location = entry.proxyLocation {
            guard depth < Self.maxDepth else {
                throw InventoryError(code: .badSSHConfig,
                                     reason: "jump host \(first.host) leads to more than \(Self.maxDepth) jump hosts in a row through ProxyJump, probably a loop; fix the ProxyJump lines.",
                                     file: location.file, line: location.line)
            }
            if let command = entry.proxyCommand, command.lowercased() != "none" {
                throw InventoryError(code: .badSSHConfig,
                                     reason: "jump host \(first.host) is reached with a ProxyCommand; certroll cannot put a ProxyCommand in front of a jump host: reach it with ProxyJump instead.",
                                     file: location.file, line: location.line)
            }
            if let jump = entry.proxyJump,
               let nested = try Self.parse(jump, code: .badSSHConfig, file: location.file, line: location.line) {
                before = try chain(nested, depth: depth + 1)
            }
        }
        var result = before + [host(first, entry)]
        for hop in hops.dropFirst() {
            result.append(host(hop, try sshConfig.entry(for: hop.host, home: home)))
        }
        return result
    }

    private func host(_ hop: JumpSpec, _ entry: SSHConfig.Entry) -> JumpHost {
        JumpHost(name: hop.text, hostName: entry.hostName ?? hop.host, user: hop.user ?? entry.user ?? nodeUser,
                 port: hop.port ?? entry.port ?? 22, identity: entry.identityFile ?? nodeIdentity)
    }

    /// Parses a list read at `file:line`; nil for `none`.
    static func parse(_ text: String, code: InventoryError.Code, file: String, line: Int?) throws(InventoryError) -> [JumpSpec]? {
        do {
            return try JumpSpec.parseList(text)
        } catch {
            throw InventoryError(code: code, reason: error.reason, file: file, line: line)
        }
    }
}
