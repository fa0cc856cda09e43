import CertrollCore
import CertrollPKI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One start of the simulated XSOAR server: fault switches, conf, OTC,
/// keypass, slow start, certificate load, then HTTPS until SIGTERM.
///
/// Every refusal is logged as one `start failed:` line and returns a
/// non-zero exit status, like a real failed start.
struct SimServer {
    let options: SimOptions
    let log: SimLog

    /// Runs the server; returns only on a failed start (the status to exit with).
    func run() -> Int32 {
        // SIGTERM is taken by a thread that logs and exits cleanly.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        startSignalThread(signals)
        // A client that hangs up mid-write must not kill the server.
        signal(SIGPIPE, SIG_IGN)

        log.write("starting (conf \(options.confFile), state \(options.stateDir))")
        let readyFile = options.resolvedReadyFile
        unlink(readyFile)
        mkdir(options.simDir, 0o700)

        if consumeSwitch("fail-next-start") != nil {
            return fail(1, "fault switch fail-next-start is set; failing this start as asked")
        }
        if consumeSwitch("hang-next-start") != nil {
            log.write("fault switch hang-next-start is set; hanging without serving until stopped")
            while true { sleep(3600) }
        }
        var exitAfter: Double?
        if let text = consumeSwitch("exit-after") {
            guard let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), seconds >= 0 else {
                return fail(1, "fault switch exit-after holds \(text.debugDescription), not a number of seconds")
            }
            exitAfter = seconds
        }

        let conf: SimConf
        switch SimConf.load(options.confFile) {
        case .success(let loaded): conf = loaded
        case .failure(let problem): return fail(1, problem.message)
        }

        var keypass: Secret?
        switch readOTC() {
        case .success(let fromOTC): keypass = fromOTC
        case .failure(let problem): return fail(1, problem.message)
        }
        if keypass == nil { keypass = loadSavedKeypass() }

        if options.startDelay > 0 {
            log.write("slow start: waiting \(options.startDelay)s before loading the certificate")
            usleep(UInt32(min(options.startDelay, 4000) * 1_000_000))
        }

        let identity: TLSServerIdentity
        do {
            identity = try TLSServerIdentity.load(certificateFile: conf.certFile, keyFile: conf.keyFile, keypass: keypass)
        } catch {
            return fail(1, "cannot load the HTTPS certificate: \(error)")
        }
        let port = options.port ?? conf.httpsPort ?? 443
        let server: TLSServer
        do {
            server = try TLSServer(identity: identity, address: options.address, port: port)
        } catch {
            return fail(1, "cannot serve HTTPS: \(error)")
        }
        log.write("serving HTTPS on \(server.endpoint): \(identity.chainLength) certificate(s) from \(conf.certFile), leaf sha256 \(identity.leafFingerprint), key \(conf.keyFile)\(identity.keyWasEncrypted ? " (encrypted, keypass accepted)" : "")")
        writeReady(readyFile)
        if let exitAfter {
            let log = self.log
            Thread.detachNewThread {
                usleep(UInt32(min(exitAfter, 4000) * 1_000_000))
                log.write("fault switch exit-after: exiting after \(exitAfter)s as asked")
                unlink(readyFile)
                exit(1)
            }
        }
        serve(server)
    }

    private func serve(_ server: TLSServer) -> Never {
        let log = self.log
        while true {
            do {
                let connection = try server.accept()
                Thread.detachNewThread { SimHTTP.handle(connection, log: log) }
            } catch {
                log.write("accept failed: \(error)")
                usleep(100_000)
            }
        }
    }

    private func fail(_ status: Int32, _ message: String) -> Int32 {
        log.write("start failed: \(message)")
        return status
    }

    /// Returns the switch file's content and removes it, or nil when absent.
    private func consumeSwitch(_ name: String) -> String? {
        let path = options.simDir + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        unlink(path)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads and deletes the one-time configuration file; saves its keypass
    /// for later starts, as XSOAR keeps it in its database.
    private func readOTC() -> Result<Secret?, SimStartProblem> {
        let path = options.otcFile
        guard let data = FileManager.default.contents(atPath: path) else { return .success(nil) }
        guard unlink(path) == 0 else {
            return .failure(SimStartProblem("cannot delete the OTC file \(path): \(String(cString: strerror(errno))); check its folder's owner"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(SimStartProblem("OTC file \(path) is not a JSON object; it was deleted, write it again as {\"keypass\":\"...\"}"))
        }
        guard let keypass = object["keypass"] as? String else {
            log.write("OTC file \(path) read and deleted; it holds no keypass")
            return .success(nil)
        }
        let secret = Secret(keypass)
        saveKeypass(secret)
        log.write("OTC file \(path) read and deleted; keypass taken and kept for later starts")
        return .success(secret)
    }

    private var keypassFile: String { options.simDir + "/keypass" }

    private func saveKeypass(_ keypass: Secret) {
        let temp = keypassFile + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            log.write("cannot keep the keypass in \(keypassFile): \(String(cString: strerror(errno)))")
            return
        }
        _ = keypass.bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        rename(temp, keypassFile)
    }

    private func loadSavedKeypass() -> Secret? {
        FileManager.default.contents(atPath: keypassFile).map { Secret(bytes: Array($0)) }
    }

    private func writeReady(_ path: String) {
        let text = "\(getpid())\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    private func startSignalThread(_ signals: sigset_t) {
        let log = self.log
        let readyFile = options.resolvedReadyFile
        Thread.detachNewThread {
            var set = signals
            var received: Int32 = 0
            sigwait(&set, &received)
            log.write("stopping on signal \(received)")
            unlink(readyFile)
            exit(0)
        }
    }
}

/// A start refused before the certificate is loaded; the message names the file.
struct SimStartProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The parts of `/etc/demisto.conf` the simulator reads.
struct SimConf {
    var certFile = "/usr/local/demisto/cert.pem"
    var keyFile = "/usr/local/demisto/cert.key"
    var httpsPort: Int?

    /// A missing file means defaults, like XSOAR; a file that does not parse is a failed start.
    static func load(_ path: String) -> Result<SimConf, SimStartProblem> {
        var conf = SimConf()
        guard let data = FileManager.default.contents(atPath: path) else { return .success(conf) }
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return .success(conf) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(SimStartProblem("conf file \(path) is not a JSON object; fix it or restore it from the backup"))
        }
        if let security = object["Security"] as? [String: Any] {
            if let cert = security["CertFile"] as? String, !cert.isEmpty { conf.certFile = cert }
            if let key = security["KeyFile"] as? String, !key.isEmpty { conf.keyFile = key }
        }
        if let server = object["Server"] as? [String: Any] {
            if let port = server["HttpsPort"] as? String { conf.httpsPort = Int(port) }
            if let port = server["HttpsPort"] as? Int { conf.httpsPort = port }
        }
        return .success(conf)
    }
}

/// Minimal HTTP/1.1 over one TLS connection: `GET /health` → 200, `GET /` → 200, else 404.
enum SimHTTP {
    static func handle(_ connection: TLSServerConnection, log: SimLog) {
        do {
            try connection.handshake(timeout: .seconds(10))
            var request = Data()
            while request.count < 16384, request.range(of: Data("\r\n\r\n".utf8)) == nil {
                let chunk = try connection.read()
                if chunk.isEmpty { break }
                request.append(chunk)
            }
            let firstLine = String(decoding: request.prefix { $0 != 0x0d && $0 != 0x0a }, as: UTF8.self)
            let parts = firstLine.split(separator: " ")
            let (status, body): (String, String)
            if parts.count >= 2, parts[0] == "GET" || parts[0] == "HEAD" {
                switch parts[1] {
                case "/health": (status, body) = ("200 OK", "ok\n")
                case "/": (status, body) = ("200 OK", "<html><body>xsoar-sim</body></html>\n")
                default: (status, body) = ("404 Not Found", "not found\n")
                }
            } else {
                (status, body) = ("400 Bad Request", "bad request\n")
            }
            let response = "HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                + (parts.first == "HEAD" ? "" : body)
            try connection.write(Data(response.utf8))
        } catch {
            // Probes that only look at the certificate close after the handshake; not worth a log line each.
        }
    }
}
