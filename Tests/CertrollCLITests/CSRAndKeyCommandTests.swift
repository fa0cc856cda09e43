import CertrollPKI
import CertrollTestKit
import Foundation
import Testing

@Suite struct CSRCommandTests {
    @Test func encryptedRSAKeyAndCSRCrossCheckedWithOpenSSL() throws {
        let dir = try TestPKI.temporaryDirectory()
        let pass = try TestPKI.write("s3cret phrase\n", to: dir, "pass")
        let key = dir.appendingPathComponent("key.pem").path, csr = dir.appendingPathComponent("req.csr").path
        let result = try Certroll.run([
            "csr", "--cn", "xsoar.example.com", "--san", "xsoar-a.example.com", "--san", "198.18.1.5",
            "--key-type", "rsa:2048", "--subject", "/C=US/O=Example", "--key-out", key, "--csr-out", csr,
            "--key-passphrase-file", pass,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("s3cret") && !result.stderr.contains("s3cret"))

        let keyText = try String(contentsOfFile: key, encoding: .utf8)
        #expect(keyText.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"))
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let opened = try OpenSSLCLI.run(["pkey", "-in", key, "-passin", "pass:s3cret phrase", "-noout"])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(try OpenSSLCLI.run(["pkey", "-in", key, "-passin", "pass:wrong", "-noout"]).status != 0)

        let request = try OpenSSLCLI.run(["req", "-in", csr, "-verify", "-noout", "-text"])
        #expect(request.status == 0)
        #expect(request.stderr.contains("verify OK") || request.stdout.contains("verify OK"))
        #expect(request.stdout.contains("sha256WithRSAEncryption"))
        #expect(request.stdout.contains("DNS:xsoar.example.com, DNS:xsoar-a.example.com, IP Address:198.18.1.5"))
        #expect(request.stdout.contains("Public-Key: (2048 bit)"))
        let keyPublic = try OpenSSLCLI.run(["pkey", "-in", key, "-passin", "pass:s3cret phrase", "-pubout"]).stdout
        #expect(try OpenSSLCLI.run(["req", "-in", csr, "-noout", "-pubkey"]).stdout == keyPublic)
    }

    @Test func ecKeyWithPassphraseFromEnvironment() throws {
        let dir = try TestPKI.temporaryDirectory()
        let key = dir.appendingPathComponent("key.pem").path, csr = dir.appendingPathComponent("req.csr").path
        let result = try Certroll.run(
            ["csr", "--cn", "xsoar.example.com", "--key-type", "ec:p384", "--key-out", key, "--csr-out", csr],
            environment: ["CERTROLL_KEY_PASSPHRASE": "from env"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: key, encoding: .utf8).hasPrefix("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"))
        let text = try OpenSSLCLI.run(["pkey", "-in", key, "-passin", "pass:from env", "-noout", "-text"])
        #expect(text.status == 0 && text.stdout.contains("NIST CURVE: P-384"))
        #expect(try OpenSSLCLI.run(["req", "-in", csr, "-verify", "-noout"]).status == 0)
    }

    @Test func noEncrypt() throws {
        let dir = try TestPKI.temporaryDirectory()
        let key = dir.appendingPathComponent("key.pem").path
        let result = try Certroll.run([
            "csr", "--cn", "a.example.com", "--key-type", "ec:p256", "--no-encrypt", "--key-out", key,
            "--csr-out", dir.appendingPathComponent("r.csr").path,
        ])
        #expect(result.status == 0)
        #expect(try String(contentsOfFile: key, encoding: .utf8).hasPrefix("-----BEGIN EC PRIVATE KEY-----\nMH"))
    }

    @Test func noPassphraseWithoutTerminalIsAnError() throws {
        let dir = try TestPKI.temporaryDirectory()
        let key = dir.appendingPathComponent("key.pem").path
        let result = try Certroll.run([
            "csr", "--cn", "a.example.com", "--key-type", "ec:p256", "--key-out", key, "--csr-out", key + ".csr",
        ])
        #expect(result.status == 2)
        #expect(result.stderr == "certroll: the passphrase of the new key is needed and there is no terminal to ask on; give it with --key-passphrase-file FILE or CERTROLL_KEY_PASSPHRASE.\n")
        #expect(!FileManager.default.fileExists(atPath: key))
    }

    @Test func neverOverwritesAKeyAndRejectsBadNames() throws {
        let dir = try TestPKI.temporaryDirectory()
        let key = try TestPKI.write("precious", to: dir, "key.pem")
        let exists = try Certroll.run(["csr", "--cn", "a.example.com", "--no-encrypt", "--key-out", key, "--csr-out", key + ".csr"])
        #expect(exists.status == 2)
        #expect(exists.stderr.contains("\(key) already exists"))
        #expect(try String(contentsOfFile: key, encoding: .utf8) == "precious")
        let badName = try Certroll.run([
            "csr", "--cn", "a.example.com", "--san", "bad,name", "--no-encrypt", "--key-out", key + "2", "--csr-out", key + ".csr",
        ])
        #expect(badName.status == 2)
        #expect(badName.stderr.hasPrefix("certroll: 'bad,name' is not a valid DNS name or IP address"))
        let badType = try Certroll.run(["csr", "--cn", "a", "--key-type", "rsa:1024", "--key-out", "k", "--csr-out", "c"])
        #expect(badType.status == 2)
        #expect(badType.stderr.contains("--key-type rsa:1024 is not offered"))
    }
}

@Suite struct KeyConvertCommandTests {
    let pki = LivePKI.shared

    func publicKey(_ path: String, pass: String? = nil) throws -> String {
        try OpenSSLCLI.run(["pkey", "-in", path, "-pubout"] + (pass.map { ["-passin", "pass:\($0)"] } ?? [])).stdout
    }

    @Test func pkcs8EncryptedToLegacyKeepsPassphraseAndPublicKey() throws {
        let dir = try TestPKI.temporaryDirectory()
        let plain = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "plain.pem")
        let p8 = dir.appendingPathComponent("p8.pem").path
        #expect(try OpenSSLCLI.run(["pkcs8", "-topk8", "-in", plain, "-out", p8, "-passout", "pass:old pw"]).status == 0)
        let pass = try TestPKI.write("old pw\n", to: dir, "pass")
        let out = dir.appendingPathComponent("legacy.pem").path
        let result = try Certroll.run(["key", "convert", "--in", p8, "--out", out, "--key-passphrase-file", pass])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("same passphrase as \(p8)"))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"))
        #expect(try publicKey(out, pass: "old pw") == publicKey(plain))
        #expect(try publicKey(plain).hasPrefix("-----BEGIN PUBLIC KEY-----"))
    }

    @Test func inPlaceWithNewPassphraseAndDes3() throws {
        let dir = try TestPKI.temporaryDirectory()
        let key = try TestPKI.write(try pki.ecLeafKey.traditionalPEM(encryption: (.aes256, .init("one"))), to: dir, "key.pem")
        let before = try publicKey(key, pass: "one")
        let result = try Certroll.run(
            ["key", "convert", "--in", key, "--out", key, "--cipher", "des3"],
            environment: ["CERTROLL_KEY_PASSPHRASE": "one", "CERTROLL_NEW_KEY_PASSPHRASE": "two"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: key, encoding: .utf8).contains("DEK-Info: DES-EDE3-CBC,"))
        #expect(try publicKey(key, pass: "two") == before)
    }

    @Test func unencryptedStaysUnencryptedAndNoEncryptDecrypts() throws {
        let dir = try TestPKI.temporaryDirectory()
        let plain = try TestPKI.write(try pki.leafKey.traditionalPEM(), to: dir, "plain.pem")
        let p8 = dir.appendingPathComponent("p8.pem").path
        #expect(try OpenSSLCLI.run(["pkcs8", "-topk8", "-nocrypt", "-in", plain, "-out", p8]).status == 0)
        let out = dir.appendingPathComponent("out.pem").path
        let result = try Certroll.run(["key", "convert", "--in", p8, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\nMII"))
        #expect(try publicKey(out) == publicKey(plain))

        let cipherOnly = try Certroll.run(["key", "convert", "--in", p8, "--out", out, "--cipher", "aes128"])
        #expect(cipherOnly.status == 2)
        #expect(cipherOnly.stderr.contains("is not encrypted, so --cipher needs a new passphrase"))

        let encrypted = try TestPKI.write(try pki.leafKey.traditionalPEM(encryption: (.aes128, .init("pw"))), to: dir, "enc.pem")
        let decrypted = try Certroll.run(
            ["key", "convert", "--in", encrypted, "--out", out, "--no-encrypt"], environment: ["CERTROLL_KEY_PASSPHRASE": "pw"])
        #expect(decrypted.status == 0)
        #expect(try publicKey(out) == publicKey(plain))
    }
}
