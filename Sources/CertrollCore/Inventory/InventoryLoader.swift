import Foundation
import Yams

/// Reads an inventory and resolves every node's settings.
///
/// Precedence, most specific first: the node's own `ssh:`/`xsoar:` keys, the
/// cluster's, the inventory `defaults:`, then `~/.ssh/config` for the node's
/// alias (HostName, User, Port, IdentityFile, ProxyJump, ProxyCommand), then
/// the built-in defaults. Whatever the inventory states wins; ssh_config fills
/// what it leaves unsaid, as plain `ssh alias` would. `HostName` comes only
/// from ssh_config; `proxy_jump: none` turns off a ProxyJump or ProxyCommand
/// that ssh_config gives the node.
public struct InventoryLoader: Sendable {
    /// `~`: `$HOME`, else the account's home folder (as the SSH layer expands `~`).
    public var homeDirectory: String
    /// The ssh client config consulted for aliases; nil reads `~/.ssh/config`.
    public var sshConfigPath: String?

    public init(homeDirectory: String? = nil, sshConfigPath: String? = nil) {
        self.homeDirectory = homeDirectory
            ?? ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        self.sshConfigPath = sshConfigPath
    }

    public func load(path: String) throws(InventoryError) -> Inventory {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InventoryError(code: .unreadable, reason: "cannot read inventory \(path); check the path and its permissions.",
                                 file: path, line: nil)
        }
        return try parse(yaml: String(decoding: data, as: UTF8.self), file: path)
    }

    public func parse(yaml: String, file: String) throws(InventoryError) -> Inventory {
        let sshConfig = try SSHConfig.load(path: sshConfigPath ?? homeDirectory + "/.ssh/config", home: homeDirectory)
        return try Parser(file: file, home: homeDirectory, sshConfig: sshConfig).inventory(yaml)
    }
}

/// A value as stated (nil = null) and its line.
private typealias Stated = (value: String?, line: Int?)

/// Settings one level (defaults, cluster or node) states; nil = not stated.
private struct Layer {
    var ssh: [String: (value: String?, line: Int?)] = [:]
    var xsoar: [String: (value: String?, line: Int?)] = [:]
}

private struct Parser {
    let file: String
    let home: String
    let sshConfig: SSHConfig

    static let topKeys = ["defaults", "clusters"]
    static let defaultsKeys = ["ssh", "xsoar", "certificate"]
    static let clusterKeys = ["name", "fqdn", "endpoints", "after_success", "nodes", "ssh", "xsoar", "certificate"]
    static let certificateKeys = ["cert", "key", "key_passphrase_file"]
    static let nodeKeys = ["host", "role", "ssh", "xsoar"]
    static let sshKeys = ["user", "port", "identity", "known_hosts", "host_key_policy", "connect_timeout", "become", "proxy_jump"]
    static let xsoarKeys = [
        "service", "stop_command", "start_command", "status_command", "cert_path", "key_path", "conf_path",
        "otc_path", "owner", "group", "https_port", "start_timeout", "work_dir",
    ]

    func inventory(_ yaml: String) throws(InventoryError) -> Inventory {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error)
        } catch {
            throw InventoryError(code: .yamlSyntax, reason: "the file is not valid YAML (\(error)).", file: file, line: nil)
        }
        guard let root else {
            throw InventoryError(code: .emptyClusters, reason: "the inventory is empty; add a 'clusters:' list.", file: file, line: 1)
        }
        let top = try mapping(root, "the inventory", allowed: Self.topKeys)
        let defaults = try top["defaults"].map { node throws(InventoryError) in try layer(node, "defaults") } ?? Layer()
        let defaultCertificate = try top["defaults"].map { node throws(InventoryError) in
            try statedCertificate(mapping(node, "defaults", allowed: Self.defaultsKeys)["certificate"], "certificate of defaults")
        } ?? [:]
        guard let clustersNode = top["clusters"] else {
            throw .missingKey("clusters", in: "the inventory", file: file, line: root.mark?.line)
        }
        guard case .sequence(let seq) = clustersNode, !seq.isEmpty else {
            throw InventoryError(code: .emptyClusters, reason: "'clusters' has no cluster; add at least one with a primary node.",
                                 file: file, line: clustersNode.mark?.line)
        }
        var clusters: [Cluster] = []
        var seenNames: Set<String> = []
        for c in seq {
            let cluster = try self.cluster(c, defaults: defaults, defaultCertificate: defaultCertificate)
            guard seenNames.insert(cluster.name).inserted else {
                throw InventoryError(code: .duplicateCluster,
                                     reason: "cluster '\(cluster.name)' is defined twice; give each cluster its own name.",
                                     file: file, line: c.mark?.line, cluster: cluster.name)
            }
            clusters.append(cluster)
        }
        var owner: [String: String] = [:]
        for cluster in clusters {
            for node in cluster.nodes {
                if let other = owner[node.host] {
                    throw InventoryError(code: .duplicateNode,
                                         reason: "node \(node.host) appears in cluster '\(other)' and in cluster '\(cluster.name)'; a node belongs to one cluster.",
                                         file: file, line: nil, cluster: cluster.name, node: node.host)
                }
                owner[node.host] = cluster.name
            }
        }
        return Inventory(file: file, clusters: clusters)
    }

    private func cluster(_ node: Yams.Node, defaults: Layer, defaultCertificate: [String: Stated]) throws(InventoryError) -> Cluster {
        let m = try mapping(node, "a cluster", allowed: Self.clusterKeys)
        guard let nameNode = m["name"] else { throw .missingKey("name", in: "a cluster", file: file, line: node.mark?.line) }
        let name = try string(nameNode, "name")
        let layer = try m["ssh"] != nil || m["xsoar"] != nil ? self.layer(node, "cluster \(name)", only: Self.defaultsKeys) : Layer()
        let fqdn = try m["fqdn"].map { n throws(InventoryError) in try stringList(n, "fqdn") } ?? []
        let endpoints = try (m["endpoints"].map { n throws(InventoryError) in try stringList(n, "endpoints") } ?? [])
            .map { text throws(InventoryError) in try endpoint(text, line: m["endpoints"]?.mark?.line) }
        let afterSuccess = try m["after_success"].flatMap { n throws(InventoryError) in try optionalString(n, "after_success") }
        guard let nodesNode = m["nodes"] else {
            throw InventoryError(code: .missingPrimary, reason: "cluster '\(name)' has no nodes; add one with 'role: primary'.",
                                 file: file, line: node.mark?.line, cluster: name)
        }
        guard case .sequence(let seq) = nodesNode, !seq.isEmpty else {
            throw InventoryError(code: .missingPrimary, reason: "cluster '\(name)' has no nodes; add one with 'role: primary'.",
                                 file: file, line: nodesNode.mark?.line, cluster: name)
        }
        var nodes: [ClusterNode] = []
        var primaryLine: Int?
        var seen: Set<String> = []
        for n in seq {
            let resolved = try self.node(n, cluster: name, layers: [layer, defaults])
            guard seen.insert(resolved.host).inserted else {
                throw InventoryError(code: .duplicateNode,
                                     reason: "node \(resolved.host) is listed twice in cluster '\(name)'; remove one entry.",
                                     file: file, line: n.mark?.line, cluster: name, node: resolved.host)
            }
            if resolved.role == .primary {
                if let first = primaryLine {
                    throw InventoryError(code: .twoPrimaries,
                                         reason: "cluster '\(name)' has a second primary (\(resolved.host)) besides the one on line \(first); mark the standby nodes 'role: backup'.",
                                         file: file, line: n.mark?.line, cluster: name, node: resolved.host)
                }
                primaryLine = n.mark?.line ?? 0
            }
            nodes.append(resolved)
        }
        guard primaryLine != nil else {
            throw InventoryError(code: .missingPrimary,
                                 reason: "cluster '\(name)' has no primary; mark its active node 'role: primary'.",
                                 file: file, line: nodesNode.mark?.line, cluster: name)
        }
        let stated = try statedCertificate(m["certificate"], "certificate of cluster \(name)")
        let certificate = try certificateSource(defaultCertificate.merging(stated) { $1 }, cluster: name, fqdn: fqdn.first)
        return Cluster(name: name, fqdn: fqdn, endpoints: endpoints, afterSuccess: afterSuccess, certificate: certificate, nodes: nodes)
    }

    /// A `certificate:` block's stated keys (a cluster's override the defaults' one by one).
    private func statedCertificate(_ node: Yams.Node?, _ object: String) throws(InventoryError) -> [String: Stated] {
        guard let node else { return [:] }
        var stated: [String: Stated] = [:]
        for (k, v) in try mapping(node, object, allowed: Self.certificateKeys) {
            stated[k] = (value: try optionalString(v, k), line: v.mark?.line)
        }
        return stated
    }

    /// The cluster's source with `{cluster}`/`{fqdn}` substituted and paths made
    /// absolute (relative ones from the inventory's folder); nil when none is named.
    private func certificateSource(_ stated: [String: Stated], cluster: String, fqdn: String?) throws(InventoryError) -> CertificateSource? {
        func resolve(_ key: String) throws(InventoryError) -> String? {
            guard let (value, line) = stated[key], var text = value, !text.isEmpty else { return nil }
            if text.contains("{fqdn}") {
                guard let fqdn else {
                    throw InventoryError(code: .badValue,
                                         reason: "certificate '\(key)' uses {fqdn}, but cluster '\(cluster)' has no fqdn; add 'fqdn:' to the cluster or name its files without {fqdn}.",
                                         file: file, line: line, cluster: cluster)
                }
                text = text.replacingOccurrences(of: "{fqdn}", with: fqdn)
            }
            text = PathText.expandingTilde(text.replacingOccurrences(of: "{cluster}", with: cluster), home: home)
            if text.hasPrefix("/") { return text }
            let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
            return folder.appendingPathComponent(text).standardizedFileURL.path
        }
        let cert = try resolve("cert"), key = try resolve("key")
        switch (cert, key) {
        case (nil, nil):
            return nil
        case let (cert?, key?):
            return CertificateSource(cert: cert, key: key, keyPassphraseFile: try resolve("key_passphrase_file"))
        case (nil, _?), (_?, nil):
            let missing = cert == nil ? "cert" : "key"
            let line = stated["key"]?.line ?? stated["cert"]?.line
            throw InventoryError(code: .missingKey,
                                 reason: "the certificate of cluster '\(cluster)' has no '\(missing)'; name both the chain file and its key.",
                                 file: file, line: line, cluster: cluster)
        }
    }

    private func node(_ yaml: Yams.Node, cluster: String, layers: [Layer]) throws(InventoryError) -> ClusterNode {
        let m = try mapping(yaml, "a node of cluster '\(cluster)'", allowed: Self.nodeKeys)
        guard let hostNode = m["host"] else {
            throw .missingKey("host", in: "a node of cluster '\(cluster)'", file: file, line: yaml.mark?.line)
        }
        let host = try string(hostNode, "host")
        guard let roleNode = m["role"] else {
            throw InventoryError(code: .badRole, reason: "node \(host) has no role; write 'role: primary' or 'role: backup'.",
                                 file: file, line: yaml.mark?.line, cluster: cluster, node: host)
        }
        let roleText = try string(roleNode, "role")
        guard let role = Role(rawValue: roleText) else {
            throw InventoryError(code: .badRole, reason: "node \(host) has role '\(roleText)'; write 'primary' or 'backup'.",
                                 file: file, line: roleNode.mark?.line, cluster: cluster, node: host)
        }
        let own = try m["ssh"] != nil || m["xsoar"] != nil ? layer(yaml, "node \(host)", only: Self.defaultsKeys) : Layer()
        let stack = [own] + layers
        let entry = try sshConfig.entry(for: host, home: home)

        func pick(_ key: String, ssh: Bool) -> (value: String?, line: Int?)? {
            for l in stack { if let v = ssh ? l.ssh[key] : l.xsoar[key] { return v } }
            return nil
        }
        func text(_ key: String, ssh: Bool, fallback: String) -> String {
            pick(key, ssh: ssh)?.value ?? fallback
        }
        func int(_ key: String, ssh: Bool, fallback: Int) throws(InventoryError) -> Int {
            guard let (v, line) = pick(key, ssh: ssh), let v else { return fallback }
            guard let n = Int(v), (1...65535).contains(n) else {
                throw .badValue(key, value: v, expected: "a port number from 1 to 65535", file: file, line: line)
            }
            return n
        }
        func duration(_ key: String, ssh: Bool, fallback: Duration) throws(InventoryError) -> Duration {
            guard let (v, line) = pick(key, ssh: ssh), let v else { return fallback }
            guard let d = DurationText.parse(v) else { throw .badDuration(key, value: v, file: file, line: line) }
            return d
        }

        let policyText = text("host_key_policy", ssh: true, fallback: "strict")
        guard let policy = HostKeyPolicy(rawValue: policyText) else {
            let line = pick("host_key_policy", ssh: true)?.line
            if policyText == "ignore" {
                throw InventoryError(code: .badValue,
                                     reason: "host_key_policy 'ignore' is not supported: certroll always checks host keys; use 'strict', or 'accept-new' to record a first-seen key.",
                                     file: file, line: line, cluster: cluster, node: host)
            }
            throw .badValue("host_key_policy", value: policyText, expected: "'strict' or 'accept-new'", file: file, line: line)
        }
        let becomeText = text("become", ssh: true, fallback: "none")
        guard let become = Become(rawValue: becomeText) else {
            throw .badValue("become", value: becomeText, expected: "'none' or 'sudo'", file: file,
                            line: pick("become", ssh: true)?.line)
        }
        let identity = pick("identity", ssh: true)?.value.map { PathText.expandingTilde($0, home: home) } ?? entry.identityFile
        let user = pick("user", ssh: true)?.value ?? entry.user ?? "root"
        let proxy = try self.proxy(stated: pick("proxy_jump", ssh: true), entry: entry, user: user, identity: identity)
        let ssh = SSHSettings(
            hostName: entry.hostName ?? host,
            user: user,
            port: try int("port", ssh: true, fallback: entry.port ?? 22),
            identity: identity,
            knownHosts: PathText.expandingTilde(text("known_hosts", ssh: true, fallback: "~/.ssh/known_hosts"), home: home),
            hostKeyPolicy: policy,
            connectTimeout: try duration("connect_timeout", ssh: true, fallback: .seconds(10)),
            become: become, proxyJump: proxy.jump, proxyCommand: proxy.command)

        let d = XSOARSettings.defaults
        let service = text("service", ssh: false, fallback: d.service)
        func command(_ key: String) -> String {
            text(key, ssh: false, fallback: "service {service} " + key.replacingOccurrences(of: "_command", with: ""))
                .replacingOccurrences(of: "{service}", with: service)
        }
        let xsoar = XSOARSettings(
            service: service,
            stopCommand: command("stop_command"), startCommand: command("start_command"),
            statusCommand: command("status_command"),
            certPath: try path("cert_path", pick("cert_path", ssh: false), fallback: d.certPath),
            keyPath: try path("key_path", pick("key_path", ssh: false), fallback: d.keyPath),
            confPath: try path("conf_path", pick("conf_path", ssh: false), fallback: d.confPath),
            otcPath: try path("otc_path", pick("otc_path", ssh: false), fallback: d.otcPath),
            owner: text("owner", ssh: false, fallback: d.owner),
            group: text("group", ssh: false, fallback: d.group),
            httpsPort: try int("https_port", ssh: false, fallback: d.httpsPort),
            startTimeout: try duration("start_timeout", ssh: false, fallback: d.startTimeout),
            workDir: try path("work_dir", pick("work_dir", ssh: false), fallback: d.workDir))
        return ClusterNode(host: host, role: role, ssh: ssh, xsoar: xsoar)
    }

    /// The node's way through jump hosts: the inventory's `proxy_jump` when
    /// stated (`none`: direct), else ssh_config's ProxyJump or ProxyCommand.
    private func proxy(stated: (value: String?, line: Int?)?, entry: SSHConfig.Entry, user: String,
                       identity: String?) throws(InventoryError) -> (jump: [JumpHost], command: String?) {
        let resolver = JumpResolver(sshConfig: sshConfig, home: home, nodeUser: user, nodeIdentity: identity)
        if let stated, let text = stated.value {
            let hops = try JumpResolver.parse(text, code: .badValue, file: file, line: stated.line)
            return (try resolver.chain(hops ?? []), nil)
        }
        guard let location = entry.proxyLocation else { return ([], nil) }
        if let command = entry.proxyCommand {
            return ([], command.lowercased() == "none" ? nil : command)
        }
        let hops = try JumpResolver.parse(entry.proxyJump ?? "none", code: .badSSHConfig, file: location.file, line: location.line)
        return (try resolver.chain(hops ?? []), nil)
    }

    private func path(_ key: String, _ stated: (value: String?, line: Int?)?, fallback: String) throws(InventoryError) -> String {
        guard let stated, let v = stated.value else { return fallback }
        guard v.hasPrefix("/"), v.count > 1 else {
            throw .badValue(key, value: v, expected: "an absolute path on the node", file: file, line: stated.line)
        }
        return v
    }

    /// Reads the `ssh:`/`xsoar:` sections of a mapping, checking every key.
    private func layer(_ node: Yams.Node, _ object: String, only: [String]? = nil) throws(InventoryError) -> Layer {
        let m = try mapping(node, object, allowed: only == nil ? Self.defaultsKeys : nil)
        var layer = Layer()
        for (section, allowed) in [("ssh", Self.sshKeys), ("xsoar", Self.xsoarKeys)] {
            guard let s = m[section] else { continue }
            let sm = try mapping(s, "\(section) of \(object)", allowed: allowed)
            for (k, v) in sm {
                let entry = (value: try optionalString(v, k), line: v.mark?.line)
                if let value = entry.value, k.hasSuffix("_timeout"), DurationText.parse(value) == nil {
                    throw .badDuration(k, value: value, file: file, line: entry.line)
                }
                if section == "ssh" { layer.ssh[k] = entry } else { layer.xsoar[k] = entry }
            }
        }
        return layer
    }

    /// A mapping's pairs by key, refusing keys outside `allowed` (when given).
    private func mapping(_ node: Yams.Node, _ object: String, allowed: [String]?) throws(InventoryError) -> [String: Yams.Node] {
        guard case .mapping(let m) = node else {
            throw InventoryError(code: .wrongType, reason: "\(object) must be a mapping of keys to values.",
                                 file: file, line: node.mark?.line)
        }
        var result: [String: Yams.Node] = [:]
        for (k, v) in m {
            guard let key = k.string else { throw .wrongType("key", expected: "text", file: file, line: k.mark?.line) }
            if let allowed, !allowed.contains(key) {
                throw .unknownKey(key, in: object, allowed: allowed, file: file, line: k.mark?.line)
            }
            guard result[key] == nil else {
                throw InventoryError(code: .badValue, reason: "key '\(key)' appears twice in \(object); keep one.",
                                     file: file, line: k.mark?.line)
            }
            result[key] = v
        }
        return result
    }

    private func string(_ node: Yams.Node, _ key: String) throws(InventoryError) -> String {
        guard case .scalar(let s) = node, node.null == nil, !s.string.isEmpty else {
            throw .wrongType(key, expected: "a non-empty value", file: file, line: node.mark?.line)
        }
        return s.string
    }

    private func optionalString(_ node: Yams.Node, _ key: String) throws(InventoryError) -> String? {
        if node.null != nil { return nil }
        guard case .scalar(let s) = node else {
            throw .wrongType(key, expected: "a single value", file: file, line: node.mark?.line)
        }
        return s.string
    }

    private func stringList(_ node: Yams.Node, _ key: String) throws(InventoryError) -> [String] {
        switch node {
        case .scalar: return [try string(node, key)]
        case .sequence(let seq): return try seq.map { n throws(InventoryError) in try string(n, key) }
        case .mapping, .alias:
            throw .wrongType(key, expected: "a list of names", file: file, line: node.mark?.line)
        }
    }

    private func endpoint(_ text: String, line: Int?) throws(InventoryError) -> Endpoint {
        guard let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") else { return Endpoint(host: text, port: 443) }
        let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port), !host.isEmpty else {
            throw .badValue("endpoints", value: text, expected: "host:port", file: file, line: line)
        }
        return Endpoint(host: host, port: port)
    }

    private func syntaxError(_ error: YamlError) -> InventoryError {
        let (problem, mark): (String, Mark?) = switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            (problem, mark)
        default:
            ("\(error)", nil)
        }
        return InventoryError(code: .yamlSyntax, reason: "the file is not valid YAML: \(problem); fix the indentation or quoting there.",
                              file: file, line: mark?.line)
    }
}
