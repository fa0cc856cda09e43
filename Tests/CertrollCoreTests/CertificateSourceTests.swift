import CertrollCore
import Foundation
import Testing

/// The inventory's `certificate:` block: defaults, per-cluster overrides,
/// placeholders, relative paths and errors.
@Suite struct CertificateSourceTests {
    func parse(_ yaml: String) throws(InventoryError) -> Inventory {
        try InventoryLoader(homeDirectory: "/home/ops", sshConfigPath: "/nonexistent").parse(yaml: yaml, file: "/etc/certroll/fleet.yaml")
    }

    func failure(_ yaml: String) -> InventoryError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsServeACertbotFleetAndAClusterOverridesKeyByKey() throws {
        let inv = try parse("""
            defaults:
              certificate:
                cert: /etc/letsencrypt/live/{fqdn}/fullchain.pem
                key: /etc/letsencrypt/live/{fqdn}/privkey.pem
            clusters:
              - name: soc
                fqdn: [soc.example.com, soc-alias.example.com]
                nodes: [{ host: a, role: primary }]
              - name: lab
                fqdn: lab.example.com
                certificate:
                  key: keys/{cluster}.key
                  key_passphrase_file: ~/secrets/{cluster}.pass
                nodes: [{ host: b, role: primary }]
              - name: none
                certificate: { cert: null, key: null }
                nodes: [{ host: c, role: primary }]
            """)
        #expect(inv.clusters[0].certificate == CertificateSource(
            cert: "/etc/letsencrypt/live/soc.example.com/fullchain.pem", key: "/etc/letsencrypt/live/soc.example.com/privkey.pem"))
        #expect(inv.clusters[1].certificate == CertificateSource(
            cert: "/etc/letsencrypt/live/lab.example.com/fullchain.pem", key: "/etc/certroll/keys/lab.key",
            keyPassphraseFile: "/home/ops/secrets/lab.pass"))
        #expect(inv.clusters[2].certificate == nil)
    }

    @Test func noCertificateBlockMeansNoSource() throws {
        let inv = try parse("clusters: [{ name: soc, nodes: [{ host: a, role: primary }] }]")
        #expect(inv.clusters[0].certificate == nil)
    }

    @Test func relativePathsAreRelativeToTheInventoryFolder() throws {
        let inv = try parse("""
            clusters:
              - name: soc
                certificate: { cert: ../pki/soc/chain.pem, key: "./{cluster}.key" }
                nodes: [{ host: a, role: primary }]
            """)
        #expect(inv.clusters[0].certificate == CertificateSource(cert: "/etc/pki/soc/chain.pem", key: "/etc/certroll/soc.key"))
    }

    @Test func unknownKeyIsNamedWithItsLine() throws {
        let error = try #require(failure("""
            defaults:
              certificate:
                cert: a.pem
                chain: b.pem
            clusters: [{ name: soc, nodes: [{ host: a, role: primary }] }]
            """))
        #expect(error.code == .unknownKey)
        #expect(error.line == 4)
        #expect(error.reason.contains("'chain'") && error.reason.contains("key_passphrase_file"))
    }

    @Test func fqdnPlaceholderWithoutFqdnIsAClearError() throws {
        let error = try #require(failure("""
            defaults:
              certificate: { cert: "live/{fqdn}/fullchain.pem", key: "live/{fqdn}/privkey.pem" }
            clusters:
              - name: lab
                nodes: [{ host: a, role: primary }]
            """))
        #expect(error.code == .badValue)
        #expect(error.line == 2)
        #expect(error.cluster == "lab")
        #expect(error.reason.contains("{fqdn}") && error.reason.contains("cluster 'lab' has no fqdn"))
    }

    @Test func aChainWithoutItsKeyIsRefused() throws {
        let error = try #require(failure("""
            clusters:
              - name: soc
                certificate:
                  cert: soc.pem
                nodes: [{ host: a, role: primary }]
            """))
        #expect(error.code == .missingKey)
        #expect(error.line == 4)
        #expect(error.reason.contains("has no 'key'"))
    }

    @Test func aNodeCannotHaveItsOwnCertificate() throws {
        let error = try #require(failure("""
            clusters:
              - name: soc
                nodes: [{ host: a, role: primary, certificate: { cert: a.pem, key: a.key } }]
            """))
        #expect(error.code == .unknownKey)
    }
}
