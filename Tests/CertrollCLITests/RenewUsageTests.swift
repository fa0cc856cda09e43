import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// `renew`, and `plan`/`apply` without `--cert/--key`, where the input alone
/// decides (no node is reachable at these addresses, and none is contacted).
@Suite struct RenewUsageTests {
    let dir: URL
    let inventory: String

    init() throws {
        dir = try TestPKI.temporaryDirectory()
        inventory = try TestPKI.write("""
            defaults:
              certificate:
                cert: live/{fqdn}/fullchain.pem
                key: live/{fqdn}/privkey.pem
            clusters:
              - name: soc
                fqdn: soc.example.com
                nodes: [{ host: 192.0.2.1, role: primary }]
              - name: lab
                certificate: { cert: null, key: null }
                nodes: [{ host: 192.0.2.2, role: primary }]
            """, to: dir, "inventory.yaml", mode: 0o644)
    }

    @Test func eachUnusableSourceRefusesItsOwnClusterWithoutContactingANode() throws {
        let state = dir.appendingPathComponent("state").path
        let result = try Certroll.run(["renew", "-i", inventory, "--state-dir", state, "--json"])
        #expect(result.status == 2, "\(result.stdout)\n\(result.stderr)")
        let id = try #require(Certroll.runID(fromJSON: result))
        let outcomes = try Certroll.clusterOutcomes(stateDir: state, runID: id)
        #expect(outcomes.map(\.outcome) == ["bad-source", "bad-source"])
        #expect(outcomes[0].reason?.contains("live/soc.example.com/fullchain.pem: cannot be read (no such file)") == true, "\(outcomes)")
        #expect(outcomes[1].reason?.contains("cluster lab was not touched: it has no 'certificate:' source") == true, "\(outcomes)")
        let journal = try JournalLine.read(stateDir: state, runID: id)
        #expect(!journal.contains { $0.kind == "facts" || $0.kind == "step" }, "no node was contacted")
    }

    @Test func aDeployHookOfAnotherCertificateIsNothingToDo() throws {
        let state = dir.appendingPathComponent("state").path
        let result = try Certroll.run(["renew", "-i", inventory, "--state-dir", state],
                                      environment: ["RENEWED_LINEAGE": "/etc/letsencrypt/live/other.example.com"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("/etc/letsencrypt/live/other.example.com/fullchain.pem; nothing to do."))
        #expect(!FileManager.default.fileExists(atPath: state + "/runs"), "no run was recorded")
    }

    @Test(arguments: ["plan", "apply"])
    func aClusterWithoutASourceIsNamedWhenNoCertificateIsGiven(command: String) throws {
        let result = try Certroll.run([command, "-i", inventory, "--yes"].filter { command == "apply" || $0 != "--yes" })
        #expect(result.status == 2)
        #expect(result.stderr.contains("cluster(s) lab in \(inventory) have no 'certificate:' source"), "\(result.stderr)")
    }

    @Test func certWithoutKeyIsBadUsage() throws {
        let result = try Certroll.run(["plan", "-i", inventory, "--cert", "x.pem"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("give --cert and --key together, or neither"))
    }
}
