import CertrollCore
import CertrollTestKit
import Foundation

/// A test PKI made once per test run with the real `openssl` CLI: root CA →
/// intermediate → RSA leaf, the leaf key in every form XSOAR accepts or refuses.
struct TestChain: Sendable {
    let dir: URL
    /// leaf + intermediate + root, in that order.
    let chainPEM: Data
    let leafKey: Data
    /// Legacy `Proc-Type`/`DEK-Info` AES-256 encryption with `passphrase`.
    let legacyEncryptedKey: Data
    /// `BEGIN ENCRYPTED PRIVATE KEY` with `passphrase`.
    let pkcs8EncryptedKey: Data
    /// A key that belongs to no certificate here.
    let otherKey: Data
    let passphrase = "s3cret \"quoted\" pass"
    /// SHA-256 of the leaf's DER as `openssl x509 -fingerprint` prints it, lowercased, no colons.
    let leafFingerprint: String

    /// Made once per test run, on a thread of its own (the openssl CLI blocks).
    static func shared() async throws -> TestChain { try await TestChainStore.shared.chain() }

    static func make() throws -> TestChain {
        let dir = try Scratch.directory("sandbox-tests")
        func openssl(_ arguments: String...) throws {
            let result = try SandboxProcess.runBlocking("/bin/sh", ["-c", "cd '\(dir.path)' && openssl " + arguments.joined(separator: " ")])
            guard result.succeeded else { throw SandboxError(.spawnFailed, "openssl \(arguments.joined(separator: " ")): \(result.stderrText)") }
        }
        try Data("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".utf8).write(to: dir.appendingPathComponent("ca.ext"))
        try Data("basicConstraints=CA:FALSE\nsubjectAltName=DNS:xsoar.sandbox.test\nextendedKeyUsage=serverAuth\n".utf8)
            .write(to: dir.appendingPathComponent("leaf.ext"))
        try openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days 30",
                    "-subj '/CN=certroll test root' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign")
        try openssl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr -subj '/CN=certroll test intermediate'")
        try openssl("x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile ca.ext -out inter.pem")
        try openssl("req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj '/CN=xsoar.sandbox.test'")
        try openssl("x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 30 -extfile leaf.ext -out leaf.pem")
        let pass = "'s3cret \"quoted\" pass'"
        try openssl("rsa -in leaf.key -aes256 -traditional -passout pass:\(pass) -out leaf.legacy.key")
        try openssl("pkcs8 -topk8 -in leaf.key -v2 aes256 -passout pass:\(pass) -out leaf.p8.key")
        try openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key")
        let fingerprint = try SandboxProcess.runBlocking("/bin/sh", ["-c", "openssl x509 -in '\(dir.path)/leaf.pem' -noout -fingerprint -sha256"])
        func read(_ name: String) throws -> Data { try Data(contentsOf: dir.appendingPathComponent(name)) }
        let chain = try read("leaf.pem") + read("inter.pem") + read("root.pem")
        try chain.write(to: dir.appendingPathComponent("chain.pem"))
        return TestChain(
            dir: dir, chainPEM: chain, leafKey: try read("leaf.key"),
            legacyEncryptedKey: try read("leaf.legacy.key"), pkcs8EncryptedKey: try read("leaf.p8.key"),
            otherKey: try read("other.key"),
            leafFingerprint: fingerprint.stdoutText.split(separator: "=").last.map {
                $0.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            } ?? "")
    }

    /// Writes `data` to a file in the test dir and returns its path.
    func file(_ name: String, _ data: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    /// `{"keypass":"..."}`, JSON-escaped.
    func otc(keypass: String) -> Data {
        (try? JSONSerialization.data(withJSONObject: ["keypass": keypass])) ?? Data()
    }
}

/// Makes the test PKI once and hands it to every test.
actor TestChainStore {
    static let shared = TestChainStore()
    private var made: Task<TestChain, any Error>?

    func chain() async throws -> TestChain {
        if let made { return try await made.value }
        let task = Task { try await Blocking.run("certroll.test-pki") { () throws -> TestChain in try TestChain.make() } }
        made = task
        return try await task.value
    }
}
