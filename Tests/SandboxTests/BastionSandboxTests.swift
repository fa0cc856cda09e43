import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// `scripts/sandbox up N --bastion 2`: the host cannot reach the nodes, the
/// OpenSSH client reaches them through both jump hosts, and each jump host
/// counts the logins it accepted. Serialized: the tests share the bastions' logs.
// The sandbox makes network and mount namespaces, which needs root; CI runs as root.
@Suite(.serialized, .enabled(if: Sandbox.isRoot, "sandbox integration tests need root (network and mount namespaces); run them as root, e.g. in make test under CI"),
       .sandbox(nodes: 2, name: "crbs", bastions: 2))
struct BastionSandboxTests {

    @Test func theHostCannotConnectToANodeOrTheSecondBastion() async throws {
        let sandbox = try SandboxScope.sandbox()
        #expect(sandbox.bastions.count == 2)
        #expect(sandbox.proxyJump == "root@\(sandbox.bastions[0].address),root@\(sandbox.bastions[1].address)")
        for node in sandbox.nodes {
            for port in [node.sshPort, node.httpsPort] {
                let connect = try await tcpConnect(node.address, port)
                #expect(!connect.succeeded, "\(node.address):\(port) must not be reachable from the host")
                #expect(connect.stderrText.contains("No route to host"), "\(connect.stderrText)")
            }
        }
        #expect(!(try await tcpConnect(sandbox.bastions[1].address, 22)).succeeded, "bastion 2 sits behind bastion 1")
        let first = try await tcpConnect(sandbox.bastions[0].address, 22)
        #expect(first.succeeded, "bastion 1 is the host's way in: \(first.stderrText)")
        let direct = try await sandbox.ssh(toNode: 1, "true")
        #expect(!direct.succeeded, "plain ssh to a node must fail without the bastions")
    }

    @Test func eachHopReachesOnlyItsNeighbours() async throws {
        let sandbox = try SandboxScope.sandbox()
        let node = sandbox.nodes[0]
        let fromFirst = try await sandbox.run(onBastion: 1, tcpConnectScript(node.address, node.sshPort))
        #expect(!fromFirst.succeeded, "bastion 1 must not route to the nodes")
        for port in [node.sshPort, node.httpsPort] {
            let fromLast = try await sandbox.run(onBastion: 2, tcpConnectScript(node.address, port))
            #expect(fromLast.succeeded, "bastion 2 reaches \(node.address):\(port): \(fromLast.stderrText)")
        }
        let served = try await sandbox.run(onBastion: 2, "openssl s_client -connect \(node.address):\(node.httpsPort) </dev/null")
        #expect(served.stdoutText.contains("BEGIN CERTIFICATE"), "the node's TLS port through bastion 2's network: \(served.stderrText)")
    }

    @Test func opensshThroughBothBastionsReachesEveryNodeAndEachHopCountsOneLogin() async throws {
        let sandbox = try SandboxScope.sandbox()
        let before = (try sandbox.acceptedLogins(onBastion: 1), try sandbox.acceptedLogins(onBastion: 2))
        for node in sandbox.nodes {
            let result = try await sandbox.sshThroughBastions(toNode: node.index, "hostname -I; service demisto status")
            #expect(result.succeeded, "ssh -J \(sandbox.proxyJump ?? "") root@\(node.address): \(result.stderrText)")
            #expect(result.stdoutText.contains(node.address), "\(result.stdoutText)")
        }
        let viaAlias = try await SandboxProcess.run("/usr/bin/ssh", ["-F", sandbox.sshConfigFile, "crbs-node2", "true"])
        #expect(viaAlias.succeeded, "ssh -F ssh_config crbs-node2 goes through the bastions: \(viaAlias.stderrText)")
        // Three ssh runs, each logging in once on every hop.
        let after = (try sandbox.acceptedLogins(onBastion: 1), try sandbox.acceptedLogins(onBastion: 2))
        #expect(after.0 == before.0 + 3, "bastion 1: \(before.0) logins before, \(after.0) after")
        #expect(after.1 == before.1 + 3, "bastion 2: \(before.1) logins before, \(after.1) after")

        let oneHop = try await SandboxProcess.run("/usr/bin/ssh", [
            "-F", sandbox.sshConfigFile, "-J", "root@\(sandbox.bastions[0].address)", "root@\(sandbox.nodes[0].address)", "true",
        ])
        #expect(!oneHop.succeeded, "bastion 1 alone cannot reach the nodes")
    }

    @Test func theInventoriesNameBothHopsInOrder() throws {
        let sandbox = try SandboxScope.sandbox()
        for file in [sandbox.inventoryFile, sandbox.inventorySudoFile] {
            let inventory = try InventoryLoader(sshConfigPath: "/nonexistent").load(path: file)
            for node in inventory.clusters[0].nodes {
                #expect(node.ssh.proxyJump.map(\.hostName) == sandbox.bastions.map(\.address), "\(file)")
                #expect(node.ssh.proxyJump.allSatisfy { $0.user == "root" && $0.port == 22 && $0.identity == sandbox.identityFile })
            }
        }
    }

    @Test func aStoppedBastionRefusesUntilItsSSHDStartsAgain() async throws {
        let sandbox = try SandboxScope.sandbox()
        try await sandbox.stopSSHD(onBastion: 1)
        let refused = try await tcpConnect(sandbox.bastions[0].address, 22)
        #expect(!refused.succeeded)
        #expect(refused.stderrText.contains("Connection refused"), "\(refused.stderrText)")
        try await sandbox.startSSHD(onBastion: 1)
        let again = try await sandbox.sshThroughBastions(toNode: 1, "true")
        #expect(again.succeeded, "\(again.stderrText)")
    }

    /// A TCP connection from the host, given up after 5 s.
    private func tcpConnect(_ address: String, _ port: Int) async throws -> CommandResult {
        try await SandboxProcess.run("/bin/sh", ["-c", tcpConnectScript(address, port)])
    }

    /// A shell command that connects with bash's `/dev/tcp` and gives up after 5 s.
    private func tcpConnectScript(_ address: String, _ port: Int) -> String {
        "timeout 5 bash -c 'exec 3<>/dev/tcp/\(address)/\(port)'"
    }
}
