import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

@Suite struct BundleCommandTests {
    let pki = LivePKI.shared

    @Test func everyPermutationOfFourFilesComesOutInOrder() throws {
        let dir = try TestPKI.temporaryDirectory()
        let parts = [pki.deepLeaf, pki.subIntermediate.certificate, pki.intermediate.certificate, pki.root.certificate]
        let files = try parts.enumerated().map { index, certificate in
            try TestPKI.write("subject= noise from the CA mail\n" + certificate.pem, to: dir, "part\(index).pem")
        }
        let expected = TestPKI.pem(parts)
        var runs = 0
        for permutation in permutations(files) {
            let out = dir.appendingPathComponent("cert-\(runs).pem").path
            let result = try Certroll.run(["bundle", "--out", out] + permutation)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try String(contentsOfFile: out, encoding: .utf8) == expected)
            runs += 1
        }
        #expect(runs == 24)
    }

    @Test func gapIsRefusedNamingTheMissingIssuer() throws {
        let dir = try TestPKI.temporaryDirectory()
        let leaf = try TestPKI.write(pki.deepLeaf.pem, to: dir, "leaf.pem")
        let cas = try TestPKI.write(TestPKI.pem([pki.root.certificate, pki.intermediate.certificate]), to: dir, "cas.pem")
        let out = dir.appendingPathComponent("cert.pem").path
        let result = try Certroll.run(["bundle", "--out", out, leaf, cas])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: the chain stops at 'CN=xsoar.example.com,O=certroll tests,C=US': its issuer 'CN=certroll Test Issuing CA 2,O=certroll tests' is missing; add that CA certificate (your CA publishes it).\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    private func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[T]] in
            var rest = items
            let head = rest.remove(at: index)
            return permutations(rest).map { [head] + $0 }
        }
    }
}

@Suite struct CheckCommandTests {
    let pki = LivePKI.shared

    struct Files {
        var dir: URL
        var cert: String
        var key: String
    }

    func files(_ certificates: [Certificate]? = nil, keyPEM: String? = nil) throws -> Files {
        let dir = try TestPKI.temporaryDirectory()
        let cert = try TestPKI.write(TestPKI.pem(certificates ?? pki.chain), to: dir, "cert.pem", mode: 0o644)
        let key = try TestPKI.write(try keyPEM ?? pki.leafKey.traditionalPEM(), to: dir, "key.pem")
        return Files(dir: dir, cert: cert, key: key)
    }

    func inventory(in dir: URL, fqdn: String) throws -> String {
        try TestPKI.write("""
            clusters:
              - name: soc-prod
                fqdn: [\(fqdn)]
                nodes:
                  - { host: xsoar-a.example.com, role: primary }
                  - { host: xsoar-b.example.com, role: backup, ssh: { port: 2222 } }
              - name: lab
                nodes:
                  - { host: 198.18.1.5, role: primary }
            """, to: dir, "inventory.yaml")
    }

    @Test func goodChainExitsZeroWithOneLinePerCheck() throws {
        let f = try files()
        let inv = try inventory(in: f.dir, fqdn: "xsoar.example.com")
        let result = try Certroll.run(["check", "--cert", f.cert, "--key", f.key, "-i", inv])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdoutLines
        #expect(lines.count == CertificateCheck.standardPolicies.count + 1)
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("ok    ") }, "\(result.stdout)")
        #expect(lines.contains("ok    names covered: xsoar.example.com, xsoar-a.example.com, xsoar-b.example.com covered"))
        #expect(lines.last == "0 FAIL, 0 warn, \(CertificateCheck.standardPolicies.count) ok")
        #expect(result.stderr.isEmpty)
    }

    @Test func warningsStillExitZero() throws {
        let f = try files([pki.fqdnOnlyLeaf, pki.intermediate.certificate, pki.root.certificate])
        let inv = try inventory(in: f.dir, fqdn: "xsoar.example.com")
        let result = try Certroll.run(["check", "--cert", f.cert, "--key", f.key, "-i", inv])
        #expect(result.status == 0)
        #expect(result.stdout.contains("warn  names covered: the leaf does not cover node name(s) xsoar-a.example.com, xsoar-b.example.com"))
    }

    @Test func uncoveredInventoryFQDNFailsNamingIt() throws {
        let f = try files()
        let inv = try inventory(in: f.dir, fqdn: "soc.example.org")
        let result = try Certroll.run(["check", "--cert", f.cert, "--key", f.key, "-i", inv])
        #expect(result.status == 2)
        #expect(result.stdout.contains("FAIL  names covered: the leaf does not cover soc.example.org (it covers DNS:xsoar.example.com, DNS:xsoar-a.example.com, DNS:xsoar-b.example.com, IP:198.18.1.5)"))
        #expect(result.stderr == "certroll: 1 check(s) failed; fix the FAIL lines above and run certroll check again (nothing was changed).\n")
    }

    @Test func badInventoryNamesFileAndLine() throws {
        let f = try files()
        let inv = try TestPKI.write("clusters:\n  - name: x\n    nodes:\n      - { role: primary }\n", to: f.dir, "bad.yaml")
        let result = try Certroll.run(["check", "--cert", f.cert, "--key", f.key, "-i", inv])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: \(inv):4: a node of cluster 'x' has no 'host'; add it.\n")
    }

    /// Runs check and returns the status and the FAIL line (with its fix line) for `title`.
    func failing(_ f: Files, _ title: String, environment: [String: String] = [:], extra: [String] = []) throws -> (Int32, String) {
        let result = try Certroll.run(["check", "--cert", f.cert, "--key", f.key] + extra, environment: environment)
        let lines = result.stdoutLines
        guard let index = lines.firstIndex(where: { $0.hasPrefix("FAIL  \(title): ") }) else {
            Issue.record("no FAIL line for \(title):\n\(result.stdout)\(result.stderr)")
            return (result.status, "")
        }
        let fix = index + 1 < lines.count && lines[index + 1].hasPrefix("      fix: ") ? "\n" + lines[index + 1] : ""
        return (result.status, lines[index] + fix)
    }

    // MARK: Bad input: one line naming the file, exit 2.

    @Test func emptyCertificateFile() throws {
        var f = try files()
        f.cert = try TestPKI.write("", to: f.dir, "empty.pem")
        let (status, line) = try failing(f, "certificate file")
        #expect(status == 2)
        #expect(line == "FAIL  certificate file: \(f.cert) is empty; give the PEM file the CA or `certroll csr` produced.")
    }

    @Test func derInsteadOfPEM() throws {
        var f = try files()
        f.cert = f.dir.appendingPathComponent("leaf.der").path
        try pki.leaf.der.write(to: URL(fileURLWithPath: f.cert))
        let (status, line) = try failing(f, "certificate file")
        #expect(status == 2)
        #expect(line.hasPrefix("FAIL  certificate file: \(f.cert) is binary DER, not PEM; convert it to PEM first"))
    }

    @Test func truncatedPEM() throws {
        var f = try files()
        let pem = TestPKI.pem(pki.chain)
        f.cert = try TestPKI.write(String(pem.prefix(pem.count - 100)), to: f.dir, "cut.pem")
        let (status, line) = try failing(f, "certificate file")
        #expect(status == 2)
        #expect(line.hasPrefix("FAIL  certificate file: \(f.cert): PEM block 3 (CERTIFICATE, line "))
        #expect(line.hasSuffix(") has no END line; the file is truncated, copy it again."))
    }

    @Test func certificateWhereKeyExpectedAndTheReverse() throws {
        let f = try files()
        let swapped = Files(dir: f.dir, cert: f.key, key: f.cert)
        let result = try Certroll.run(["check", "--cert", swapped.cert, "--key", swapped.key])
        #expect(result.status == 2)
        #expect(result.stdout.contains("FAIL  certificate file: \(f.key) holds a private key, not a certificate; give the certificate chain the CA sent."))
        #expect(result.stdout.contains("FAIL  key format: \(f.cert) holds a certificate, not a private key; give the key file made with the CSR."))
    }

    @Test func wrongPassphrase() throws {
        let f = try files(keyPEM: try pki.leafKey.traditionalPEM(encryption: (.aes256, .init("right"))))
        let (status, line) = try failing(f, "passphrase", environment: ["CERTROLL_KEY_PASSPHRASE": "wrong"])
        #expect(status == 2)
        #expect(line == "FAIL  passphrase: \(f.key): the passphrase does not open this key; give the passphrase it was made with.")
    }

    @Test func encryptedKeyWithoutPassphraseOrTerminal() throws {
        let f = try files(keyPEM: try pki.leafKey.traditionalPEM(encryption: (.aes256, .init("right"))))
        let (status, line) = try failing(f, "passphrase")
        #expect(status == 2)
        #expect(line.hasPrefix("FAIL  passphrase: \(f.key) is encrypted and no passphrase was given; use --key-passphrase-file F or CERTROLL_KEY_PASSPHRASE"))
        let ok = try Certroll.run(["check", "--cert", f.cert, "--key", f.key], environment: ["CERTROLL_KEY_PASSPHRASE": "right"])
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.contains("note: legacy PEM encryption does not stretch the passphrase, so keep the file 0600"))
    }

    @Test func unreadablePassphraseFile() throws {
        let f = try files(keyPEM: try pki.leafKey.traditionalPEM(encryption: (.aes256, .init("right"))))
        let missing = f.dir.appendingPathComponent("nope.txt").path
        let result = try Certroll.run(["check", "--cert", f.cert, "--key", f.key, "--key-passphrase-file", missing])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: passphrase file \(missing) cannot be read (no such file); check the path and its permissions.\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func pkcs8EncryptedKeyGetsTheConvertCommand() throws {
        var f = try files()
        let p8 = f.dir.appendingPathComponent("p8.pem").path
        #expect(try OpenSSLCLI.run(["pkcs8", "-topk8", "-in", f.key, "-out", p8, "-passout", "pass:pw"]).status == 0)
        f.key = p8
        let (status, lines) = try failing(f, "key format", environment: ["CERTROLL_KEY_PASSPHRASE": "pw"])
        #expect(status == 2)
        #expect(lines == """
            FAIL  key format: \(p8) is encrypted PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY), which XSOAR cannot load
                  fix: certroll key convert --in \(p8) --out \(p8)
            """)
    }

    @Test func chainGapNamesTheMissingIssuer() throws {
        let f = try files([pki.leaf, pki.root.certificate])
        let (status, line) = try failing(f, "chain complete")
        #expect(status == 2)
        #expect(line.hasPrefix("FAIL  chain complete: \(f.cert): missing intermediate: the chain stops at 'xsoar.example.com', whose issuer 'CN=certroll Test Intermediate CA,O=certroll tests' is not in the file"))
    }

    @Test func expiredLeafAndWrongKeyAndOrder() throws {
        let expired = try failing(try files([pki.expiredLeaf, pki.intermediate.certificate, pki.root.certificate]), "validity dates")
        #expect(expired.0 == 2 && expired.1.contains("'xsoar.example.com' expired on "))
        let wrongKey = try failing(try files(keyPEM: try pki.wrongKey.traditionalPEM()), "key matches leaf")
        #expect(wrongKey.0 == 2 && wrongKey.1.contains("does not belong to 'xsoar.example.com'"))
        let order = try failing(try files([pki.root.certificate, pki.intermediate.certificate, pki.leaf]), "chain order")
        #expect(order.0 == 2 && order.1.contains("fix: certroll bundle --out "))
    }

    @Test func keyConvertBadInputs() throws {
        let dir = try TestPKI.temporaryDirectory()
        let out = dir.appendingPathComponent("out.pem").path
        let empty = try TestPKI.write("", to: dir, "empty.pem")
        let cert = try TestPKI.write(pki.leaf.pem, to: dir, "cert.pem")
        let der = dir.appendingPathComponent("key.der").path
        let plain = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "plain.pem")
        #expect(try OpenSSLCLI.run(["pkey", "-in", plain, "-outform", "DER", "-out", der]).status == 0)
        let encrypted = try TestPKI.write(try pki.leafKey.traditionalPEM(encryption: (.aes256, .init("pw"))), to: dir, "enc.pem")
        let cases: [([String], [String: String], String)] = [
            (["--in", empty], [:], "certroll: \(empty) is empty; give the PEM file the CA or `certroll csr` produced.\n"),
            (["--in", cert], [:], "certroll: \(cert) holds a certificate, not a private key; give the key file made with the CSR.\n"),
            (["--in", der], [:], "certroll: \(der) is binary DER, not PEM; convert it to PEM first (for example `openssl x509 -inform der -in \(der) -out \(der).pem`, or `openssl pkey -inform der` for a key).\n"),
            (["--in", encrypted], ["CERTROLL_KEY_PASSPHRASE": "nope"], "certroll: \(encrypted): the passphrase does not open this key; give the passphrase it was made with.\n"),
            (["--in", encrypted], [:], "certroll: the passphrase of \(encrypted) is needed and there is no terminal to ask on; give it with --key-passphrase-file FILE or CERTROLL_KEY_PASSPHRASE.\n"),
            (["--in", encrypted, "--key-passphrase-file", dir.path], [:], "certroll: passphrase file \(dir.path) cannot be read (permission denied or not a file); check the path and its permissions.\n"),
        ]
        for (arguments, environment, message) in cases {
            let result = try Certroll.run(["key", "convert", "--out", out] + arguments, environment: environment)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr == message)
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let truncated = try TestPKI.write(String(try pki.leafKey.traditionalPEM().prefix(300)), to: dir, "cut.pem")
        let result = try Certroll.run(["key", "convert", "--out", out, "--in", truncated])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: \(truncated): PEM block 1 (RSA PRIVATE KEY, line 1) has no END line; the file is truncated, copy it again.\n")
    }

    @Test func usageErrorsExitTwoAndHelpExitsZero() throws {
        let missing = try Certroll.run(["check", "--cert", "x"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Missing expected argument '--key <file>'"))
        let help = try Certroll.run(["check", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: certroll check --cert <file> --key <file> [--inventory <file>] [--key-passphrase-file <file>]"))
    }
}
