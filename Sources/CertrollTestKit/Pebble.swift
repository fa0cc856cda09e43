public import CertrollCore
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's `pebble`, Let's Encrypt's test CA, on loopback: its own config
/// and listener certificate in a scratch folder, every challenge answered
/// valid (`PEBBLE_VA_ALWAYS_VALID`), so issuing needs no network and no
/// challenge server. Each start makes a new random root and intermediate,
/// unrelated to the test PKI, as a real CA is. Stop it with `stop()` (by
/// pid); deinit stops it too.
public final class Pebble: @unchecked Sendable {
    /// The ACME directory URL (`https://127.0.0.1:PORT/dir`).
    public let directoryURL: String
    /// The self-signed certificate pebble's HTTPS listener presents: the CA
    /// bundle an ACME client needs to talk to it.
    public let listenerCA: String
    /// Scratch folder with the listener certificate, the config and the log (`pebble-N.json`, `pebble-N.log`).
    public let folder: URL
    private let process: Process
    private let lock = NSLock()

    private init(directoryURL: String, listenerCA: String, folder: URL, process: Process) {
        self.directoryURL = directoryURL
        self.listenerCA = listenerCA
        self.folder = folder
        self.process = process
    }

    deinit { stop() }

    /// Starts pebble and waits until it listens. A port taken between
    /// choosing and binding it is tried again with new ports.
    public static func start() async throws(SandboxError) -> Pebble {
        let folder: URL
        do { folder = try Scratch.directory("pebble") } catch {
            throw SandboxError(.spawnFailed, "cannot create pebble's scratch folder: \(error)")
        }
        let cert = folder.appendingPathComponent("listener.pem").path
        let key = folder.appendingPathComponent("listener-key.pem").path
        let made = try await SandboxProcess.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=pebble listener", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", key, "-out", cert,
        ])
        guard made.succeeded else {
            throw SandboxError(.spawnFailed, "openssl could not make pebble's listener certificate: \(made.stderrText)")
        }
        var lastLog = ""
        for attempt in 1...3 {
            let ports = (0..<4).map { _ in LoopbackPort.free() }
            let config = folder.appendingPathComponent("pebble-\(attempt).json")
            let log = folder.appendingPathComponent("pebble-\(attempt).log")
            let json = """
                {"pebble": {"listenAddress": "127.0.0.1:\(ports[0])", "managementListenAddress": "127.0.0.1:\(ports[1])",
                 "certificate": "\(cert)", "privateKey": "\(key)", "httpPort": \(ports[2]), "tlsPort": \(ports[3]),
                 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/pebble")
            process.arguments = ["-config", config.path]
            var environment = ProcessInfo.processInfo.environment
            // Every authorization valid and no artificial delays; no nonce
            // rejected on purpose, so a test never depends on a client's retry.
            environment["PEBBLE_VA_ALWAYS_VALID"] = "1"
            environment["PEBBLE_VA_NOSLEEP"] = "1"
            environment["PEBBLE_WFE_NONCEREJECT"] = "0"
            process.environment = environment
            process.standardInput = FileHandle.nullDevice
            guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
                throw SandboxError(.spawnFailed, "cannot create \(log.path)")
            }
            do {
                try Data(json.utf8).write(to: config)
                let handle = try FileHandle(forWritingTo: log)
                process.standardOutput = handle
                process.standardError = handle
                try process.run()
                try handle.close()
            } catch {
                throw SandboxError(.spawnFailed, "cannot start /usr/bin/pebble (scripts/install-deps installs it): \(error)")
            }
            let pebble = Pebble(directoryURL: "https://127.0.0.1:\(ports[0])/dir", listenerCA: cert,
                                folder: folder, process: process)
            // Generous: a loaded machine starts it in well under a second.
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline {
                lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if lastLog.contains("Listening on: 127.0.0.1:\(ports[0])") { return pebble }
                try? await Task.sleep(for: .milliseconds(50))
            }
            pebble.stop()
            lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? lastLog
        }
        throw SandboxError(.spawnFailed, "pebble did not start listening (log: \(lastLog))")
    }

    /// Stops pebble by its pid and waits for it; safe to call twice.
    public func stop() {
        lock.withLock {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }
}

/// Debian's `certbot` as an ACME client of a `Pebble`, with its own config,
/// work and logs folders, so it touches nothing of the machine's
/// `/etc/letsencrypt`. Certificates land in `live/NAME/` as symlinks into
/// `archive/NAME/`, as on a real certbot host.
public struct Certbot: Sendable {
    /// certbot's `--config-dir`: holds `live/` and `archive/`.
    public let configDir: URL
    /// The CA it talks to.
    public let pebble: Pebble

    public init(pebble: Pebble) throws(SandboxError) {
        self.pebble = pebble
        do { configDir = try Scratch.directory("certbot") } catch {
            throw SandboxError(.spawnFailed, "cannot create certbot's scratch folder: \(error)")
        }
    }

    /// `live/NAME/fullchain.pem` and `live/NAME/privkey.pem` of lineage `name`.
    public func live(_ name: String) -> CertificateSource {
        let folder = configDir.appendingPathComponent("live/\(name)")
        return CertificateSource(cert: folder.appendingPathComponent("fullchain.pem").path,
                                 key: folder.appendingPathComponent("privkey.pem").path)
    }

    /// `certbot certonly` for `names` (the first names the lineage unless
    /// `certName` does). The manual plugin with a hook that does nothing:
    /// pebble answers every challenge valid anyway, so no port is bound.
    @discardableResult
    public func obtain(_ names: [String], certName: String? = nil, keyType: String = "ecdsa") async throws(SandboxError) -> CommandResult {
        var arguments = ["certonly", "--server", pebble.directoryURL, "--agree-tos", "--register-unsafely-without-email",
                         "--manual", "--preferred-challenges", "http", "--manual-auth-hook", "/bin/true",
                         "--key-type", keyType, "--cert-name", certName ?? names[0]]
        for name in names { arguments += ["-d", name] }
        return try await run(arguments)
    }

    /// `certbot renew --force-renewal` of lineage `certName`, running
    /// `deployHook` (a shell command) after it with `environment` added to
    /// certbot's (and so the hook's) environment.
    @discardableResult
    public func renew(_ certName: String, deployHook: String? = nil,
                      environment: [String: String] = [:]) async throws(SandboxError) -> CommandResult {
        // certbot sleeps up to 8 minutes before renewing when stdin is no terminal.
        var arguments = ["renew", "--force-renewal", "--no-random-sleep-on-renew", "--cert-name", certName]
        if let deployHook { arguments += ["--deploy-hook", deployHook] }
        return try await run(arguments, environment: environment)
    }

    private func run(_ arguments: [String], environment: [String: String] = [:]) async throws(SandboxError) -> CommandResult {
        let folders = ["--config-dir", configDir.path,
                       "--work-dir", configDir.appendingPathComponent("work").path,
                       "--logs-dir", configDir.appendingPathComponent("logs").path]
        // /usr/bin/env carries the CA bundle for pebble's listener (certbot
        // talks to it through python-requests) and the caller's variables.
        let variables = (["REQUESTS_CA_BUNDLE": pebble.listenerCA].merging(environment) { $1 })
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let result = try await SandboxProcess.run("/usr/bin/env", variables + ["/usr/bin/certbot"] + arguments
            + folders + ["--non-interactive"])
        guard result.succeeded else {
            let log = (try? String(contentsOf: configDir.appendingPathComponent("logs/letsencrypt.log"), encoding: .utf8)) ?? ""
            throw SandboxError(.spawnFailed,
                               "certbot \(arguments[0]) failed (exit \(result.exitStatus)): \(result.stderrText)\n\(log.suffix(4000))")
        }
        return result
    }
}
