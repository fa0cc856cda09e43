import ArgumentParser
import CertrollCore
import CertrollPKI
import Foundation

/// `certroll demo`: a local two-node sandbox (primary + live backup) and a full rollout on it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Roll a new certificate out to a local two-node sandbox (needs root).",
        discussion: """
            Brings up two simulated XSOAR nodes (primary + live backup) with scripts/sandbox \
            (network and mount namespaces, a real sshd each), makes a test CA and a \
            certificate for them with a legacy-encrypted key, runs plan and then apply --yes, \
            shows the certificate each node serves before and after, and tears the sandbox \
            down (also when something fails).
            """)

    @Option(help: ArgumentHelp("Sandbox name (1-8 lowercase letters or digits).", valueName: "name"))
    var name = "crdemo"

    func run() async throws {
        guard getuid() == 0 else { throw CLIError.notRoot("certroll demo") }
        let started = ContinuousClock.now
        let sandbox = try DemoSandbox.locate(name: name)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        Console.out("demo: bringing up sandbox \(name) (2 nodes: primary + live backup)…")
        // The sandbox script blocks for seconds: run it on a thread of its own.
        let description = try await Blocking.run("certroll.demo-sandbox") { () throws(CLIError) -> DemoSandbox.Description in
            try sandbox.up()
        }
        do {
            try await rollOut(on: description, in: work, started: started)
        } catch {
            await tearDown(sandbox)
            throw error
        }
        await tearDown(sandbox)
    }

    private func tearDown(_ sandbox: DemoSandbox) async {
        Console.out("demo: tearing sandbox \(name) down…")
        if let problem = await Blocking.run("certroll.demo-sandbox", { sandbox.down() }) {
            Console.note("certroll: \(problem)")
        }
    }

    private func rollOut(on description: DemoSandbox.Description, in work: URL, started: ContinuousClock.Instant) async throws {
        let files = try await DemoMaterial.make(in: work, for: description)
        Console.out("demo: test CA and certificate in \(work.path) (key legacy-encrypted; passphrase in a 0600 file).")
        await DemoServed.show("before", description)
        let common = ["-i", description.inventory, "--cert", files.cert, "--key", files.key,
                      "--key-passphrase-file", files.passphrase, "--state-dir", files.stateDir]
        for (label, arguments) in [("plan", ["plan"] + common), ("apply", ["apply", "--yes"] + common)] {
            Console.out("demo: certroll \(arguments.joined(separator: " "))")
            let status = await CertrollMain.run(arguments)
            guard status == 0 else {
                throw CLIError.demoFailed("demo: \(label) exited \(status); the sandbox is torn down, the run is in \(files.stateDir) (certroll runs --state-dir \(files.stateDir)).")
            }
        }
        await DemoServed.show("after", description)
        Console.out("demo: done in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s; certroll runs --state-dir \(files.stateDir) lists the run; rm -r \(work.path) removes it and the test key when you are done.")
    }
}

/// `scripts/sandbox` found beside the executable's repository or the current directory.
struct DemoSandbox {
    var script: String
    var name: String

    /// What `sandbox.json` says that the demo needs.
    struct Description: Decodable {
        struct Node: Decodable {
            var name: String
            var address: String
            var role: String
            var https_port: Int
        }
        var inventory: String
        var nodes: [Node]
    }

    static func locate(name: String) throws(CLIError) -> DemoSandbox {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let starts = [executable.deletingLastPathComponent(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        for start in starts {
            var dir = start
            while dir.path != "/" {
                let script = dir.appendingPathComponent("scripts/sandbox").path
                if FileManager.default.isExecutableFile(atPath: script) { return DemoSandbox(script: script, name: name) }
                dir.deleteLastPathComponent()
            }
        }
        throw .sandboxUnavailable(
            "cannot find scripts/sandbox above \(executable.deletingLastPathComponent().path) or the current directory; run certroll demo from the certroll repository (make demo).")
    }

    /// The repository holding the script (for `.build/debug/xsoar-sim`).
    var repository: URL { URL(fileURLWithPath: script).deletingLastPathComponent().deletingLastPathComponent() }

    func up() throws(CLIError) -> Description {
        var arguments = ["up", "2", "--name", name]
        let sim = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("xsoar-sim").path
        if FileManager.default.isExecutableFile(atPath: sim) { arguments += ["--sim", sim] }
        _ = down()
        let status = Self.run(script, arguments)
        guard status == 0 else {
            _ = down()
            throw .sandboxUnavailable("scripts/sandbox \(arguments.joined(separator: " ")) exited \(status) (its message is above); nothing was left running.")
        }
        let path = "/run/certroll-sandbox/\(name)/sandbox.json"
        guard let data = FileManager.default.contents(atPath: path), let description = try? JSONDecoder().decode(Description.self, from: data) else {
            _ = down()
            throw .sandboxUnavailable("\(path) is missing or unreadable after scripts/sandbox up; the sandbox was taken down again.")
        }
        return description
    }

    /// Takes the sandbox down; a sentence when that failed.
    func down() -> String? {
        let status = Self.run(script, ["down", "--name", name])
        return status == 0 ? nil : "scripts/sandbox down --name \(name) exited \(status); run it again by hand (ip netns list shows what is left)."
    }

    /// Runs a local program with our stderr (its progress stays visible), stdout to stderr too.
    static func run(_ program: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        do { try process.run() } catch { return 127 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// The demo's test CA, certificate and key, written under its work folder.
struct DemoMaterial {
    var cert: String
    var key: String
    var passphrase: String
    var stateDir: String

    static func make(in work: URL, for sandbox: DemoSandbox.Description) async throws -> DemoMaterial {
        let now = Date()
        let day: TimeInterval = 86_400
        let root = try CertificateIssuer.selfSigned(
            .certificateAuthority("certroll demo Root CA", organization: "certroll demo",
                                  notBefore: now - day, notAfter: now + 3650 * day),
            key: try await PrivateKey.generate(.ec(.p384)))
        let issuing = try root.issueAuthority(
            .certificateAuthority("certroll demo Issuing CA", organization: "certroll demo",
                                  notBefore: now - day, notAfter: now + 1825 * day),
            key: try await PrivateKey.generate(.ec(.p256)))
        let leafKey = try await PrivateKey.generate(.rsa(bits: 2048))
        let names = sandbox.nodes.flatMap { [$0.name + ".sandbox.test", $0.address] }
        let leaf = try issuing.issue(
            .tlsServer(try CertificateSubject(commonName: "xsoar.sandbox.test", subject: "/O=certroll demo", sans: names),
                       notBefore: now - 3600, notAfter: now + 397 * day),
            for: leafKey)
        let secret = Secret(UUID().uuidString)
        let files = DemoMaterial(cert: work.appendingPathComponent("cert.pem").path, key: work.appendingPathComponent("cert.key").path,
                                 passphrase: work.appendingPathComponent("key.passphrase").path,
                                 stateDir: work.appendingPathComponent("state").path)
        try writePKIFile(files.cert, contents: Data([leaf, issuing.certificate, root.certificate].map(\.pem).joined().utf8), mode: 0o644)
        try writePKIFile(files.key, contents: Data(try leafKey.traditionalPEM(encryption: (.aes256, secret)).utf8), mode: 0o600)
        try writePKIFile(files.passphrase, contents: Data(secret.bytes + [0x0A]), mode: 0o600)
        return files
    }
}

/// What each sandbox node serves, by a TLS handshake from here.
enum DemoServed {
    static func show(_ when: String, _ sandbox: DemoSandbox.Description) async {
        Console.out("demo: served certificate \(when):")
        for node in sandbox.nodes {
            do {
                let served = try await Transport.probe.probe(host: node.address, port: node.https_port, serverName: nil, timeout: .seconds(5))
                guard let der = served.certificatesDER.first else { throw CLIError.demoFailed("no certificate was served") }
                let leaf = try Certificate(der: der)
                Console.out("  \(node.name) (\(node.role), \(node.address)): \(leaf.subject.text)")
                Console.out("    sha256 \(leaf.fingerprintSHA256)  not after \(leaf.notAfter.formatted(.iso8601))  chain of \(served.certificatesDER.count)")
            } catch {
                Console.out("  \(node.name) (\(node.role), \(node.address)): nothing served (\(error))")
            }
        }
    }
}
