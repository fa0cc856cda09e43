import CertrollCore
import Foundation
import Testing

/// A throwaway home with `~/.ssh/config` and other files under it.
private struct Home {
    let path: String

    init(files: [String: String]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-home-\(UUID().uuidString)").path
        for (name, text) in files {
            let url = URL(fileURLWithPath: path).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    func inventory(_ yaml: String) throws(InventoryError) -> Inventory {
        try InventoryLoader(homeDirectory: path).parse(yaml: yaml, file: "inv.yaml")
    }

    func failure(_ yaml: String) -> InventoryError? {
        do {
            _ = try inventory(yaml)
            return nil
        } catch {
            return error
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct ProxyJumpTests {
    @Test func bastionExampleInventoryParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let inv = try InventoryLoader(homeDirectory: "/home/ops", sshConfigPath: "/nonexistent")
            .load(path: root.appendingPathComponent("inventories/bastion.yaml").path)
        #expect(inv.clusters.map(\.name) == ["soc-prod", "soc-dr", "lab"])
        let bastion = JumpHost(name: "jumper@bastion.soc.example.com", hostName: "bastion.soc.example.com", user: "jumper",
                               port: 22, identity: "/home/ops/.ssh/xsoar_ed25519")
        for node in inv.clusters[0].nodes {
            #expect(node.ssh.proxyJump == [bastion] && node.ssh.proxyCommand == nil)
            #expect(node.ssh.user == "root" && node.ssh.knownHosts == "/home/ops/.ssh/known_hosts")
        }
        #expect(inv.clusters[1].nodes.allSatisfy {
            $0.ssh.proxyJump == [bastion, JumpHost(name: "ops@dr-jump.dr.internal:2222", hostName: "dr-jump.dr.internal", user: "ops",
                                                   port: 2222, identity: "/home/ops/.ssh/xsoar_ed25519")]
        })
        #expect(inv.clusters[2].primary.ssh.proxyJump.isEmpty)
    }

    @Test(arguments: [
        ("bastion", JumpSpec(host: "bastion", text: "bastion")),
        ("ops@bastion", JumpSpec(user: "ops", host: "bastion", text: "ops@bastion")),
        ("ops@10.0.0.5:2222", JumpSpec(user: "ops", host: "10.0.0.5", port: 2222, text: "ops@10.0.0.5:2222")),
        ("ssh://ops@jump.example.com:22", JumpSpec(user: "ops", host: "jump.example.com", port: 22, text: "ssh://ops@jump.example.com:22")),
        ("[2001:db8::1]:2200", JumpSpec(host: "2001:db8::1", port: 2200, text: "[2001:db8::1]:2200")),
    ])
    func oneHopParses(text: String, expected: JumpSpec) throws {
        #expect(try JumpSpec.parse(text) == expected)
    }

    @Test func listsAndNone() throws {
        #expect(try JumpSpec.parseList("none") == nil)
        #expect(try JumpSpec.parseList("NONE") == nil)
        #expect(try JumpSpec.parseList("a, ops@b:2") == [JumpSpec(host: "a", text: "a"), JumpSpec(user: "ops", host: "b", port: 2, text: "ops@b:2")])
    }

    @Test(arguments: ["a,,b", "@host", "host:0", "host:ssh", "[::1", "[::1]x", "", "two words"])
    func badHopsAreRefusedWithTheFix(text: String) {
        #expect(throws: JumpSpec.SyntaxError.self) { try JumpSpec.parseList(text) }
        do {
            _ = try JumpSpec.parseList(text)
        } catch {
            #expect(error.reason.contains("[user@]host[:port]"), "\(error.reason)")
        }
    }

    @Test func inventoryProxyJumpAppliesNodeOverClusterOverDefaults() throws {
        let home = try Home(files: [".ssh/config": ""])
        defer { home.remove() }
        let inv = try home.inventory("""
            defaults:
              ssh: { user: admin, identity: ~/.ssh/xsoar, proxy_jump: "jump@bastion:2222" }
            clusters:
              - name: c
                ssh: { proxy_jump: "outer,inner" }
                nodes:
                  - { host: a, role: primary }
                  - { host: b, role: backup, ssh: { proxy_jump: none } }
              - name: d
                nodes: [ { host: e, role: primary } ]
            """)
        let a = inv.clusters[0].primary.ssh, b = inv.clusters[0].nodes[1].ssh, e = inv.clusters[1].primary.ssh
        #expect(a.proxyJump == [
            JumpHost(name: "outer", hostName: "outer", user: "admin", port: 22, identity: "\(home.path)/.ssh/xsoar"),
            JumpHost(name: "inner", hostName: "inner", user: "admin", port: 22, identity: "\(home.path)/.ssh/xsoar"),
        ])
        #expect(b.proxyJump.isEmpty && b.proxyCommand == nil)
        #expect(e.proxyJump == [JumpHost(name: "jump@bastion:2222", hostName: "bastion", user: "jump", port: 2222,
                                         identity: "\(home.path)/.ssh/xsoar")])
    }

    @Test func eachJumpHostIsResolvedThroughSSHConfigLikeANode() throws {
        let home = try Home(files: [".ssh/config": """
            Host bastion
              HostName 192.0.2.10
              User jumper
              Port 2022
              IdentityFile ~/.ssh/jump_key
            Host xsoar-*
              ProxyJump bastion
            """])
        defer { home.remove() }
        let inv = try home.inventory("""
            clusters:
              - name: c
                nodes:
                  - { host: xsoar-a, role: primary }
                  - { host: xsoar-b, role: backup, ssh: { proxy_jump: "other@bastion:22" } }
            """)
        let a = inv.clusters[0].primary.ssh, b = inv.clusters[0].nodes[1].ssh
        #expect(a.proxyJump == [JumpHost(name: "bastion", hostName: "192.0.2.10", user: "jumper", port: 2022,
                                         identity: "\(home.path)/.ssh/jump_key")])
        #expect(a.user == "root" && a.identity == nil, "the node keeps its own settings")
        #expect(b.proxyJump.map(\.user) == ["other"] && b.proxyJump.map(\.port) == [22], "what the hop text states wins")
    }

    @Test func aBastionReachedThroughAnotherInSSHConfigBecomesTwoHops() throws {
        let home = try Home(files: [".ssh/config": """
            Host inner
              HostName 10.1.0.2
              ProxyJump outer
            Host outer
              HostName 203.0.113.7
            Host node*
              ProxyJump inner
            """])
        defer { home.remove() }
        let node = try home.inventory("clusters: [ { name: c, nodes: [ { host: node1, role: primary } ] } ]\n").clusters[0].primary
        #expect(node.ssh.proxyJump.map(\.hostName) == ["203.0.113.7", "10.1.0.2"])
    }

    @Test func aJumpHostLoopInSSHConfigIsRefusedAtItsLine() throws {
        let home = try Home(files: [".ssh/config": "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n"])
        defer { home.remove() }
        let error = home.failure("clusters: [ { name: c, nodes: [ { host: n, role: primary, ssh: { proxy_jump: a } } ] } ]\n")
        #expect(error?.code == .badSSHConfig)
        #expect(error?.file == "\(home.path)/.ssh/config" && [2, 4].contains(error?.line ?? 0), "\(String(describing: error))")
        #expect(error?.reason.contains("loop") == true)
    }

    @Test func proxyCommandIsKeptRawAndNoneTurnsItOff() throws {
        let home = try Home(files: [".ssh/config": """
            Host via-cmd
              ProxyCommand ssh -W %h:%p bastion
              ProxyJump ignored-because-second
            Host direct
              ProxyCommand none
            Host other
              ProxyCommand nc %h %p
            """])
        defer { home.remove() }
        let inv = try home.inventory("""
            clusters:
              - name: c
                nodes:
                  - { host: via-cmd, role: primary }
                  - { host: direct, role: backup }
                  - { host: other, role: backup, ssh: { proxy_jump: none } }
                  - { host: jumped, role: backup, ssh: { proxy_jump: bastion } }
            """)
        let nodes = Dictionary(uniqueKeysWithValues: inv.clusters[0].nodes.map { ($0.host, $0.ssh) })
        #expect(nodes["via-cmd"]?.proxyCommand == "ssh -W %h:%p bastion")
        #expect(nodes["via-cmd"]?.proxyJump == [], "the first of ProxyCommand and ProxyJump wins, as in OpenSSH")
        #expect(nodes["direct"]?.proxyCommand == nil && nodes["direct"]?.proxyJump == [])
        #expect(nodes["other"]?.proxyCommand == nil, "proxy_jump: none turns off an inherited ProxyCommand")
        #expect(nodes["jumped"]?.proxyCommand == nil && nodes["jumped"]?.proxyJump.map(\.name) == ["bastion"])
    }

    @Test func aJumpHostBehindAProxyCommandIsRefused() throws {
        let home = try Home(files: [".ssh/config": "Host bastion\n  ProxyCommand corkscrew proxy 8080 %h %p\n"])
        defer { home.remove() }
        let error = home.failure("clusters: [ { name: c, nodes: [ { host: n, role: primary, ssh: { proxy_jump: bastion } } ] } ]\n")
        #expect(error?.code == .badSSHConfig && error?.line == 2, "\(String(describing: error))")
        #expect(error?.reason.contains("use ProxyJump") == true || error?.reason.contains("ProxyJump instead") == true)
    }

    @Test func includeReadsGlobsRelativeToDotSSHAndInsideAHostBlockOnlyForItsHosts() throws {
        let home = try Home(files: [
            ".ssh/config": """
                Include config.d/*.conf
                Host lab-*
                  Include lab.conf
                  Port 2201
                Host *
                  User everyone
                """,
            ".ssh/config.d/10-prod.conf": "Host prod-* !prod-bastion\n  ProxyJump prod-bastion\n  User produser\n",
            ".ssh/config.d/20-bastion.conf": "Host prod-bastion\n  HostName 198.51.100.1\n",
            ".ssh/config.d/skip.txt": "Host *\n  User wrong\n",
            ".ssh/config.d/.hidden.conf": "Host *\n  User hidden\n",
            ".ssh/lab.conf": "User labuser\nIdentityFile ~/.ssh/lab_key\n",
        ])
        defer { home.remove() }
        let inv = try home.inventory("""
            clusters:
              - name: c
                nodes:
                  - { host: prod-a, role: primary }
                  - { host: lab-b, role: backup }
                  - { host: other, role: backup }
            """)
        let (prod, lab, other) = (inv.clusters[0].nodes[0].ssh, inv.clusters[0].nodes[1].ssh, inv.clusters[0].nodes[2].ssh)
        #expect(prod.user == "produser")
        #expect(prod.proxyJump == [JumpHost(name: "prod-bastion", hostName: "198.51.100.1", user: "everyone", port: 22)])
        #expect(lab.user == "labuser" && lab.identity == "\(home.path)/.ssh/lab_key")
        #expect(lab.port == 2201, "lines after an Include belong to its Host block again")
        #expect(other.user == "everyone" && other.identity == nil, "lab.conf applies only to lab-*")
    }

    @Test func includeOfAMissingFileIsNoErrorButALoopIsRefusedAtTheIncludeLine() throws {
        let quiet = try Home(files: [".ssh/config": "Include nothing-here/*\nHost *\n  User u\n"])
        defer { quiet.remove() }
        #expect(try quiet.inventory("clusters: [ { name: c, nodes: [ { host: n, role: primary } ] } ]\n").clusters[0].primary.ssh.user == "u")

        let loop = try Home(files: [".ssh/config": "# loops\nInclude ~/.ssh/config\n"])
        defer { loop.remove() }
        let error = loop.failure("clusters: [ { name: c, nodes: [ { host: n, role: primary } ] } ]\n")
        #expect(error?.code == .badSSHConfig && error?.line == 2 && error?.file == "\(loop.path)/.ssh/config", "\(String(describing: error))")
        #expect(error?.reason.contains("more than \(SSHConfig.maxIncludeDepth)") == true)
    }

    @Test func badJumpHostsNameTheFileAndLine() throws {
        let home = try Home(files: [".ssh/config": "Host n\n  User x\n", ".ssh/extra": "\nHost m\n  ProxyJump bastion:99999\n"])
        defer { home.remove() }
        let inInventory = home.failure("""
            defaults:
              ssh:
                proxy_jump: "bastion:port"
            clusters: [ { name: c, nodes: [ { host: n, role: primary } ] } ]
            """)
        #expect(inInventory?.code == .badValue && inInventory?.file == "inv.yaml" && inInventory?.line == 3, "\(String(describing: inInventory))")
        #expect(inInventory?.reason.contains("[user@]host[:port]") == true)

        try Data("Include extra\n".utf8).write(to: URL(fileURLWithPath: home.path + "/.ssh/config"))
        let inConfig = home.failure("clusters: [ { name: c, nodes: [ { host: m, role: primary } ] } ]\n")
        #expect(inConfig?.code == .badSSHConfig && inConfig?.file == "\(home.path)/.ssh/extra" && inConfig?.line == 3,
                "\(String(describing: inConfig))")
    }

    @Test func matchBlocksAreListedAndNeverApplied() throws {
        let config = try SSHConfig(text: "Host *\n  User a\nMatch host x\n  ProxyJump never\n  Port 7\n", file: "cfg", home: "/h")
        #expect(config.unevaluatedMatches == [SSHConfig.Location(file: "cfg", line: 3)])
        let entry = try config.entry(for: "x", home: "/h")
        #expect(entry.proxyJump == nil && entry.port == nil && entry.user == "a")
    }
}
