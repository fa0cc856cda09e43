import CertrollCore
import Foundation
import Testing

/// Parses YAML text with a fixed home and an injected ssh_config.
private func parse(_ yaml: String, sshConfig: String = "") throws(InventoryError) -> Inventory {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-inv-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let configPath = dir.appendingPathComponent("ssh_config").path
    _ = FileManager.default.createFile(atPath: configPath, contents: Data(sshConfig.utf8))
    defer { try? FileManager.default.removeItem(at: dir) }
    return try InventoryLoader(homeDirectory: "/home/ops", sshConfigPath: configPath).parse(yaml: yaml, file: "inv.yaml")
}

private func failure(_ yaml: String) -> InventoryError? {
    do {
        _ = try parse(yaml)
        return nil
    } catch {
        return error
    }
}

@Suite struct InventoryTests {
    @Test func exampleInventoryParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let inv = try InventoryLoader(homeDirectory: "/home/ops", sshConfigPath: "/nonexistent")
            .load(path: root.appendingPathComponent("inventories/example.yaml").path)
        #expect(inv.clusters.map(\.name) == ["soc-prod", "lab"])
        let prod = inv.clusters[0]
        #expect(prod.primary.host == "xsoar-a.example.com")
        #expect(prod.backups.map(\.ssh.port) == [2222])
        #expect(prod.endpoints == [Endpoint(host: "xsoar.example.com", port: 443)])
        #expect(prod.afterSuccess == nil)
        #expect(prod.primary.ssh.knownHosts == "/home/ops/.ssh/known_hosts")
        #expect(prod.primary.xsoar == XSOARSettings.defaults)
        #expect(inv.clusters[1].nodes.count == 1)
        #expect(prod.primary.ssh.proxyJump.isEmpty && prod.primary.ssh.proxyCommand == nil)
        #expect(prod.certificate == nil, "a certificate: block of nulls names no source")
    }

    @Test func overridesApplyNodeOverClusterOverDefaults() throws {
        let inv = try parse("""
            defaults:
              ssh: { user: admin, become: sudo, connect_timeout: 5m }
              xsoar: { service: xsoar, start_timeout: 90s }
            clusters:
              - name: c
                xsoar: { cert_path: /opt/certs/cert.pem, stop_command: "systemctl stop {service}" }
                nodes:
                  - { host: b, role: backup, ssh: { user: ops }, xsoar: { https_port: 8443 } }
                  - { host: a, role: primary }
            """)
        let c = inv.clusters[0]
        #expect(c.nodes.map(\.host) == ["a", "b"], "primary is ordered first")
        let a = c.primary, b = c.backups.first!
        #expect(a.ssh.user == "admin" && b.ssh.user == "ops")
        #expect(a.ssh.become == .sudo && a.ssh.connectTimeout == .seconds(300))
        #expect(a.xsoar.stopCommand == "systemctl stop xsoar")
        #expect(a.xsoar.startCommand == "service xsoar start")
        #expect(a.xsoar.certPath == "/opt/certs/cert.pem" && a.xsoar.startTimeout == .seconds(90))
        #expect(a.xsoar.httpsPort == 443 && b.xsoar.httpsPort == 8443)
    }

    @Test func sshConfigFillsWhatTheInventoryLeavesUnsaid() throws {
        let config = """
            # comment
            Host xa
              HostName 10.0.0.1
              User cfguser
              Port 2200
              IdentityFile ~/.ssh/xsoar_key

            Host x? !xb
              Port 9999

            Host *
              User fallback
            """
        let inv = try parse("""
            clusters:
              - name: c
                nodes:
                  - { host: xa, role: primary }
                  - { host: xb, role: backup, ssh: { port: 22 } }
                  - { host: xc, role: backup }
            """, sshConfig: config)
        let (a, b, c) = (inv.clusters[0].nodes[0], inv.clusters[0].nodes[1], inv.clusters[0].nodes[2])
        #expect(a.ssh.hostName == "10.0.0.1" && a.ssh.user == "cfguser" && a.ssh.port == 2200)
        #expect(a.ssh.identity == "/home/ops/.ssh/xsoar_key")
        #expect(b.ssh.hostName == "xb" && b.ssh.port == 22 && b.ssh.user == "fallback")
        #expect(c.ssh.port == 9999)
    }

    @Test func inventoryDefaultsWinOverSSHConfig() throws {
        let inv = try parse("""
            defaults: { ssh: { user: admin } }
            clusters: [ { name: c, nodes: [ { host: xa, role: primary } ] } ]
            """, sshConfig: "Host xa\n  User cfguser\n  HostName real-a\n")
        #expect(inv.clusters[0].primary.ssh.user == "admin")
        #expect(inv.clusters[0].primary.ssh.hostName == "real-a")
    }

    @Test func sshConfigGlobbing() throws {
        let cfg = try SSHConfig(text: "Host *.prod !db.prod\n  User p\nHost x?z\n  Port 1\n", file: "cfg")
        #expect(try cfg.entry(for: "web.prod", home: "/h").user == "p")
        #expect(try cfg.entry(for: "db.prod", home: "/h").user == nil)
        #expect(try cfg.entry(for: "xyz", home: "/h").port == 1)
        #expect(try cfg.entry(for: "xyyz", home: "/h").port == nil)
    }

    @Test(arguments: [
        ("clusters: []\n", InventoryError.Code.emptyClusters, 1),
        ("defaults: {}\n", .missingKey, 1),
        ("clusters:\n  - name: c\n    colour: red\n    nodes: [ { host: a, role: primary } ]\n", .unknownKey, 3),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary, sshh: {} }\n", .unknownKey, 4),
        ("defaults:\n  ssh:\n    usr: root\nclusters: [ { name: c, nodes: [ { host: a, role: primary } ] } ]\n", .unknownKey, 3),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: backup }\n", .missingPrimary, 4),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary }\n      - { host: b, role: primary }\n", .twoPrimaries, 5),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary }\n      - { host: a, role: backup }\n", .duplicateNode, 5),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: leader }\n", .badRole, 4),
        ("defaults:\n  xsoar:\n    start_timeout: soon\nclusters: [ { name: c, nodes: [ { host: a, role: primary } ] } ]\n", .badDuration, 3),
        ("clusters:\n  - name: c\n    nodes:\n      - host: a\n        role: primary\n        ssh:\n          connect_timeout: 10 s\n", .badDuration, 7),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary, ssh: { host_key_policy: ignore } }\n", .badValue, 4),
        ("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary, ssh: { port: 70000 } }\n", .badValue, 4),
        ("clusters:\n  - name: c\n    nodes: [ { host: a, role: primary } ]\n  - name: c\n    nodes: [ { host: b, role: primary } ]\n", .duplicateCluster, 4),
        ("clusters:\n  - name: c\n    nodes: [ { host: a, role: primary } ]\n   - bad indent\n", .yamlSyntax, 4),
    ])
    func errorsNameFileAndLine(yaml: String, code: InventoryError.Code, line: Int) {
        let error = failure(yaml)
        #expect(error?.code == code, "\(String(describing: error))")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("inv.yaml:\(line): ") == true)
    }

    @Test func messagesNameTheObjectAndTheFix() {
        let ignore = failure("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary, ssh: { host_key_policy: ignore } }\n")
        #expect(ignore?.reason.contains("accept-new") == true)
        let two = failure("clusters:\n  - name: c\n    nodes:\n      - { host: a, role: primary }\n      - { host: b, role: primary }\n")
        #expect(two?.description == "inv.yaml:5: cluster 'c' has a second primary (b) besides the one on line 4; mark the standby nodes 'role: backup'.")
        let dup = failure("clusters:\n  - name: c\n    nodes: [ { host: a, role: primary } ]\n  - name: d\n    nodes: [ { host: a, role: primary } ]\n")
        #expect(dup?.code == .duplicateNode)
    }

    @Test func durations() {
        #expect(DurationText.parse("10s") == .seconds(10))
        #expect(DurationText.parse("5m") == .seconds(300))
        #expect(DurationText.parse("600") == .seconds(600))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("-1s") == nil)
        #expect(DurationText.parse("s") == nil)
        #expect(DurationText.format(.seconds(600)) == "600s")
    }

    @Test func sha256AndPEM() {
        #expect(SHA256.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Data(repeating: 0x61, count: 1_000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        let pem = Data("junk\n-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nZGVm\n-----END CERTIFICATE-----\n".utf8)
        #expect(PEM.fingerprints(in: pem) == [SHA256.hex(Data("abc".utf8)), SHA256.hex(Data("def".utf8))])
    }
}
