import ArgumentParser
@testable import CertrollCLI
import CertrollCore
import CertrollPKI
import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

@Suite struct AfterSuccessHookTests {
    let cluster = Cluster(name: "soc", nodes: [
        ClusterNode(host: "xsoar-a", role: .primary, ssh: SSHSettings(hostName: "xsoar-a", knownHosts: "/dev/null"), xsoar: .defaults),
        ClusterNode(host: "xsoar-b", role: .backup, ssh: SSHSettings(hostName: "xsoar-b", knownHosts: "/dev/null"), xsoar: .defaults),
    ])

    @Test func runsTheCommandWithShAndTheClusterInItsEnvironment() async throws {
        let dir = try TestPKI.temporaryDirectory()
        let out = dir.appendingPathComponent("hook.txt").path
        try await ShellAfterSuccessHook().run(command: "echo \"$CERTROLL_CLUSTER:$CERTROLL_NODES\" > '\(out)'", cluster: cluster)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "soc:xsoar-a xsoar-b\n")
    }

    @Test func failureNamesClusterCommandAndStatus() async throws {
        await #expect {
            try await ShellAfterSuccessHook().run(command: "exit 7", cluster: cluster)
        } throws: { error in
            "\(error)" == "cluster soc: after_success `exit 7` exited 7; the nodes serve the new certificate, run it again by hand."
        }
    }

    @Test func secretsInTheEnvironmentDoNotReachTheHook() async throws {
        setenv("CERTROLL_KEY_PASSPHRASE", "hunter2", 1)
        defer { unsetenv("CERTROLL_KEY_PASSPHRASE") }
        let dir = try TestPKI.temporaryDirectory()
        let out = dir.appendingPathComponent("env.txt").path
        try await ShellAfterSuccessHook().run(command: "env > '\(out)'", cluster: cluster)
        #expect(!(try String(contentsOfFile: out, encoding: .utf8)).contains("hunter2"))
    }
}

@Suite struct OpenSSLAdapterTests {
    let pki = TestPKI.shared

    @Test func keyInspectorTellsEncryptionAndWhetherThePassphraseOpens() throws {
        let inspector = OpenSSLKeyInspector()
        let plain = Data(try pki.leafKey.traditionalPEM().utf8)
        let locked = Data(try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret("s3cret"))).utf8)
        #expect(inspector.inspect(pem: plain, passphrase: nil) == .unencrypted)
        #expect(inspector.inspect(pem: locked, passphrase: nil) == .encryptedLocked)
        #expect(inspector.inspect(pem: locked, passphrase: Secret("wrong")) == .encryptedLocked)
        #expect(inspector.inspect(pem: locked, passphrase: Secret("s3cret")) == .encryptedOpened)
        guard case .unreadable = inspector.inspect(pem: Data(pki.leaf.pem.utf8), passphrase: nil) else {
            Issue.record("a certificate given as a key must be unreadable")
            return
        }
    }

    @Test func datesComeFromTheCertificate() {
        let dates = OpenSSLCertificateDates().validity(der: pki.leaf.der)
        #expect(dates?.notBefore == pki.leaf.notBefore)
        #expect(dates?.notAfter == pki.leaf.notAfter)
        #expect(OpenSSLCertificateDates().validity(der: Data("nope".utf8)) == nil)
    }

    @Test func certificateToInstallIsTheOrderedChainAndTheKeyBlock() async throws {
        let dir = try TestPKI.temporaryDirectory()
        let cert = try TestPKI.write("noise\n" + TestPKI.pem(pki.chain), to: dir, "cert.pem")
        let keyPEM = try pki.leafKey.traditionalPEM(encryption: (.aes256, Secret("s3cret")))
        let key = try TestPKI.write("Bag Attributes\n" + keyPEM, to: dir, "cert.key")
        let report = await CertificateCheck().run(CheckInput(certificateFile: cert, keyFile: key, passphrase: Secret("s3cret"), now: pki.reference))
        let install = try CertificateToInstall(checked: report, keyPassphrase: Secret("s3cret"))
        #expect(install.chainPEM == Data(TestPKI.pem(pki.chain).utf8))
        #expect(install.keyPEM == Data(keyPEM.utf8))
        #expect(install.leafFingerprint == pki.leaf.fingerprintSHA256)
        #expect(install.notAfter == pki.leaf.notAfter)
        #expect(install.keyPassphrase == Secret("s3cret"))
    }
}

@Suite struct ExitStatusTests {
    @Test func aFinishedRunExitsWithItsReportStatus() {
        for code: Int32 in [1, 3, 4, 130] {
            #expect(ExitStatus.of(ExitCode(code)).rawValue == code)
            #expect(ExitStatus.message(for: ExitCode(code)) == nil)
        }
    }

    @Test func inventoryAndEngineErrorsAreBadInput() {
        let error = InventoryError(code: .twoPrimaries, reason: "cluster 'c' has a second primary.", file: "inv.yaml", line: 5)
        #expect(ExitStatus.of(error) == .badInput)
        #expect(ExitStatus.message(for: error) == "inv.yaml:5: cluster 'c' has a second primary.")
        let unreadable = InventoryError(code: .unreadable, reason: "cannot read inventory x.yaml; check the path and its permissions.", file: "x.yaml", line: nil)
        #expect(ExitStatus.message(for: unreadable) == "cannot read inventory x.yaml; check the path and its permissions.")
    }

    @Test func liveRunRendersEveryEventAndReturnsTheReport() async throws {
        let report = try await LiveRun.run(JSONEventRenderer(), toStandardError: true) { sink, _ in
            for event in FixedRun.events { sink.receive(event) }
            return FixedRun.report
        }
        #expect(report == FixedRun.report)
        #expect(throws: ExitCode(4)) { try LiveRun.finish(report) }
    }
}
