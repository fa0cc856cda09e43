import CertrollCore
import Foundation
import Testing

/// `inventories/certbot-fleet.yaml`, which docs/renewal.md builds on, parses
/// and gives each cluster the source the comments promise.
@Suite struct CertbotFleetInventoryTests {
    @Test func eachClusterReadsItsOwnLineageAndTheLabItsInHouseFiles() throws {
        let inventories = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("inventories")
        let inventory = try InventoryLoader(homeDirectory: "/home/ops", sshConfigPath: "/nonexistent")
            .load(path: inventories.appendingPathComponent("certbot-fleet.yaml").path)
        let sources = Dictionary(uniqueKeysWithValues: inventory.clusters.map { ($0.name, $0.certificate) })
        #expect(sources["soc-eu"] == CertificateSource(
            cert: "/etc/letsencrypt/live/soc-eu.example.com/fullchain.pem",
            key: "/etc/letsencrypt/live/soc-eu.example.com/privkey.pem"))
        #expect(sources["soc-us"] == CertificateSource(
            cert: "/etc/letsencrypt/live/soc-us.example.com/fullchain.pem",
            key: "/etc/letsencrypt/live/soc-us.example.com/privkey.pem"), "the first fqdn names the lineage")
        #expect(sources["lab"] == CertificateSource(
            cert: inventories.appendingPathComponent("certs/lab/chain.pem").path,
            key: inventories.appendingPathComponent("certs/lab/key.pem").path,
            keyPassphraseFile: "/etc/certroll/lab.passphrase"), "relative to the inventory's folder")
        #expect(inventory.clusters.map(\.nodes.count) == [2, 2, 1])
        #expect(inventory.clusters[0].primary.ssh.become == .sudo)
    }
}
