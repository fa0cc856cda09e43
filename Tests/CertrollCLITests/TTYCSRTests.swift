import CertrollTestKit
import Foundation
import Testing

/// `certroll csr` at a terminal (the built binary on a pseudo-terminal): the
/// passphrase is asked twice with echo off and never shown, a mismatch is a
/// clear error, Ctrl-C at the prompt leaves the terminal echoing, and a slow
/// RSA-4096 key shows a spinner.
@Suite struct TTYCSRTests {
    let dir: URL

    init() throws {
        dir = try TestPKI.temporaryDirectory()
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The terminal has turned echo off by the time the prompt shows.
    func answerPrompt(_ pty: PseudoTerminal, _ prompt: String, with answer: String) async throws {
        try await pty.expect(prompt, timeout: .seconds(20))
        #expect(!pty.echoes, "echo is off while \"\(prompt)\" waits for the answer")
        pty.send(answer + "\n")
    }

    @Test func passphraseAskedTwiceWithoutEchoOpensTheKeyAndRSA4096ShowsASpinner() async throws {
        let passphrase = "tty-\(UUID().uuidString.prefix(12))"
        let pty = try PseudoTerminal.certroll([
            "csr", "--cn", "xsoar.example.com", "--key-type", "rsa:4096",
            "--key-out", path("k.key"), "--csr-out", path("r.csr"),
        ])
        defer { pty.close() }
        try await answerPrompt(pty, "Enter the passphrase of the new key: ", with: passphrase)
        try await answerPrompt(pty, "Repeat the passphrase of the new key: ", with: passphrase)
        try await pty.expect("Generating a rsa:4096 key", timeout: .seconds(10))
        let status = try await pty.waitForExit(timeout: .seconds(120))
        let screen = pty.output
        #expect(status == 0, "\(screen)")
        #expect(!screen.contains(passphrase), "the typed passphrase is not echoed or printed")
        #expect(screen.contains("Generating a rsa:4096 key |"), "a spinner turns while the key is made:\n\(screen)")
        #expect(screen.contains("\rGenerating a rsa:4096 key done"), "\(screen)")
        #expect(screen.contains("wrote \(path("k.key"))"))
        #expect(pty.echoes, "echo is back on after the prompts")

        let keyText = try String(contentsOfFile: path("k.key"), encoding: .utf8)
        #expect(keyText.contains("Proc-Type: 4,ENCRYPTED"))
        let opens = try OpenSSLCLI.run(["pkey", "-in", path("k.key"), "-passin", "pass:\(passphrase)", "-noout"])
        #expect(opens.status == 0, "openssl opens the key with the typed passphrase: \(opens.stderr)")
        let wrong = try OpenSSLCLI.run(["pkey", "-in", path("k.key"), "-passin", "pass:not-\(passphrase)", "-noout"])
        #expect(wrong.status != 0, "and not with another")
        let bits = try OpenSSLCLI.run(["rsa", "-in", path("k.key"), "-passin", "pass:\(passphrase)", "-noout", "-text"])
        #expect(bits.stdout.contains("4096 bit"))
    }

    @Test func mismatchedPassphrasesAreAClearErrorAndWriteNothing() async throws {
        let first = "first-\(UUID().uuidString.prefix(8))", second = "second-\(UUID().uuidString.prefix(8))"
        let pty = try PseudoTerminal.certroll([
            "csr", "--cn", "xsoar.example.com", "--key-type", "ec:p256",
            "--key-out", path("k.key"), "--csr-out", path("r.csr"),
        ])
        defer { pty.close() }
        try await answerPrompt(pty, "Enter the passphrase of the new key: ", with: first)
        try await answerPrompt(pty, "Repeat the passphrase of the new key: ", with: second)
        let status = try await pty.waitForExit(timeout: .seconds(20))
        let screen = pty.output
        #expect(status == 2, "\(screen)")
        #expect(screen.contains("certroll: the two passphrases differ; run the command again."), "\(screen)")
        #expect(!screen.contains(first) && !screen.contains(second))
        #expect(!FileManager.default.fileExists(atPath: path("k.key")) && !FileManager.default.fileExists(atPath: path("r.csr")))
        #expect(pty.echoes)
    }

    @Test func ctrlCAtThePassphrasePromptLeavesTheTerminalEchoing() async throws {
        let pty = try PseudoTerminal.certroll([
            "csr", "--cn", "xsoar.example.com", "--key-type", "ec:p256",
            "--key-out", path("k.key"), "--csr-out", path("r.csr"),
        ])
        defer { pty.close() }
        try await pty.expect("Enter the passphrase of the new key: ", timeout: .seconds(20))
        #expect(!pty.echoes)
        pty.interrupt()
        let status = try await pty.waitForExit(timeout: .seconds(10))
        #expect(status == 130, "Ctrl-C at the prompt ends the command as interrupted: \(pty.output)")
        #expect(pty.echoes, "the terminal echoes again after Ctrl-C at a no-echo prompt")
        #expect(!FileManager.default.fileExists(atPath: path("k.key")))
    }
}
