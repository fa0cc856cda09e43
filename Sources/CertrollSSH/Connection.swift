import CertrollCore
import Foundation
import Logging

/// One authenticated SSH connection to a node: connect, host key check,
/// authentication, exec with all three streams, and SFTP file operations.
/// Blocking (non-blocking libssh2 + poll underneath); used by one thread at a
/// time — its `SSHHost`'s executor thread.
final class Connection {
    let node: String
    let address: String
    let settings: SSHSettings
    let timeouts: SSHTimeouts
    private var session: Session?
    private var sftpChannel: SFTP?
    /// What carries the session's bytes; ends a ProxyCommand when closed.
    private var link: Link?
    private let logger: Logger

    var isBroken: Bool { session?.broken ?? true }

    private init(node: String, settings: SSHSettings, timeouts: SSHTimeouts, session: Session, logger: Logger) {
        self.node = node
        self.address = settings.hostName
        self.settings = settings
        self.timeouts = timeouts
        self.session = session
        self.logger = logger
    }

    // MARK: - Connect

    /// Logs in to `settings.hostName` over `link` (which it takes over): TCP, a
    /// tunnel through jump hosts, or a ProxyCommand's stdin/stdout.
    static func open(node: String, settings: SSHSettings, secrets: SSHSecrets, timeouts: SSHTimeouts, link: Link,
                     logger: Logger) throws -> Connection {
        let session = try establish(name: node, settings: settings, secrets: secrets, keepalive: timeouts.keepalive,
                                    socket: link.fd, logger: logger)
        session.via = settings.proxyJump.map(\.description)
        let connection = Connection(node: node, settings: settings, timeouts: timeouts, session: session, logger: logger)
        connection.link = link
        return connection
    }

    /// Handshake, host key check and authentication on a connected socket (which
    /// the session takes over). `name` is who messages speak of: a node, or a jump host.
    static func establish(name: String, settings: SSHSettings, secrets: SSHSecrets, keepalive: Duration, socket fd: Int32,
                          logger: Logger) throws -> Session {
        let started = ContinuousClock.now
        let address = settings.hostName
        let session = try Session(node: name, socket: fd)
        let known: KnownHosts
        do {
            known = try KnownHosts.load(settings.knownHosts)
        } catch {
            throw SSHError.hostKey(node: name, reason: "cannot read \(settings.knownHosts): \(error.localizedDescription)",
                                   fix: "check the known_hosts path in the inventory and its permissions")
        }
        session.preferHostKeys(KnownHosts.hostKeyPreference(recordedTypes: known.keyTypes(host: address, port: settings.port)))
        try session.handshake(Deadline("the SSH handshake with \(address) port \(settings.port)", within: settings.connectTimeout))
        try verifyHostKey(session: session, known: known, node: name, address: address, settings: settings, logger: logger)
        session.enableKeepalive(interval: keepalive)
        let method = try authenticate(session: session, node: name, settings: settings, secrets: secrets)
        logger.debug("connected", metadata: [
            SSHLog.node: "\(name)", SSHLog.auth: "\(method)",
            SSHLog.milliseconds: "\(Int((ContinuousClock.now - started).seconds * 1000))",
        ])
        return session
    }

    private static func verifyHostKey(
        session: Session, known: KnownHosts, node: String, address: String, settings: SSHSettings, logger: Logger
    ) throws {
        guard let blob = session.hostKeyBlob(), let type = KnownHosts.keyType(ofBlob: blob) else {
            throw SSHError.hostKey(node: node, reason: "the server sent no usable host key", fix: "check sshd's HostKey settings on the node")
        }
        let fingerprint = KnownHosts.fingerprint(blob)
        let token = KnownHosts.hostToken(host: address, port: settings.port)
        switch known.verify(host: address, port: settings.port, keyType: type, blob: blob) {
        case .known:
            return
        case .revoked(let line):
            throw SSHError.hostKey(
                node: node, reason: "host \(token) offered \(type) key \(fingerprint), which \(known.displayPath):\(line) marks @revoked",
                fix: "do not connect; ask the node's administrator to install a new host key")
        case .changed(let line, let recordedType):
            throw SSHError.hostKey(
                node: node,
                reason: "the host key of \(token) has CHANGED: it offered \(type) \(fingerprint), but \(known.displayPath):\(line) records a different \(recordedType) key",
                fix: "if the node was re-installed or re-keyed, confirm \(fingerprint) with its administrator and remove line \(line) (ssh-keygen -R '\(token)' -f \(known.displayPath)); otherwise someone may be intercepting the connection")
        case .unknown:
            switch settings.hostKeyPolicy {
            case .strict:
                throw SSHError.hostKey(
                    node: node, reason: "the host key of \(token) (\(type) \(fingerprint)) is not in \(known.displayPath)",
                    fix: "confirm the fingerprint with the node's administrator (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the node) and add it, e.g. ssh-keyscan -p \(settings.port) \(address) >> \(known.displayPath), or run once with host_key_policy: accept-new")
            case .acceptNew:
                let line = KnownHosts.line(host: address, port: settings.port, keyType: type, blob: blob)
                do {
                    // Another connection may have added it meanwhile: re-read under the process lock.
                    let again = try KnownHosts.load(settings.knownHosts)
                    switch again.verify(host: address, port: settings.port, keyType: type, blob: blob) {
                    case .known: return
                    case .unknown: try KnownHosts.append(line: line, toFile: known.path)
                    case .changed, .revoked:
                        throw SSHError.hostKey(node: node, reason: "the host key of \(token) changed while connecting",
                                               fix: "check \(known.displayPath) and retry")
                    }
                } catch let error as SSHError {
                    throw error
                } catch {
                    throw SSHError.hostKey(node: node, reason: "cannot add the host key to \(known.displayPath): \(error.localizedDescription)",
                                           fix: "check that the file and its folder are writable")
                }
                logger.notice("accepted new host key", metadata: [
                    SSHLog.node: "\(node)", SSHLog.fingerprint: "\(type) \(fingerprint)", SSHLog.file: "\(known.displayPath)",
                ])
            }
        }
    }

    /// Returns how it authenticated ("publickey ~/.ssh/id_ed25519", "agent ssh-ed25519", "password").
    private static func authenticate(session: Session, node: String, settings: SSHSettings, secrets: SSHSecrets) throws -> String {
        let user = settings.user
        let deadline = Deadline("authenticating as \(user)", within: settings.connectTimeout)
        let methods = try session.authMethods(user: user, deadline)
        if session.isAuthenticated { return "none" }
        var tried: [String] = []
        var refusedRSA: [String] = []

        func tryKeyFile(_ display: String, explicit: Bool) throws -> Bool {
            let path = expandTilde(display)
            guard FileManager.default.fileExists(atPath: path) else {
                if explicit {
                    throw SSHError.auth(node: node, reason: "the key file \(display) does not exist",
                                        fix: "fix `identity:` in the inventory")
                }
                return false
            }
            let type = SSHIdentityFile.keyType(atPath: path)
            switch try session.authenticate(user: user, keyFile: path, passphrase: secrets.keyPassphrase, deadline) {
            case .success: return true
            case .failure(let e) where e.isKeyFileUnreadable:
                if explicit || secrets.keyPassphrase != nil {
                    throw SSHError.auth(
                        node: node, reason: "cannot open the key file \(display): wrong passphrase or unsupported key format",
                        fix: secrets.keyPassphrase == nil
                            ? "give its passphrase with --ssh-key-passphrase-file or CERTROLL_SSH_KEY_PASSPHRASE (or load the key into ssh-agent)"
                            : "check the passphrase, or convert the key with ssh-keygen -p -f \(display)")
                }
                tried.append("\(display) (could not open it: passphrase needed?)")
                return false
            case .failure:
                tried.append("key \(display)")
                if type == "ssh-rsa" { refusedRSA.append(display) }
                return false
            }
        }

        if methods.contains("publickey") {
            if let identity = settings.identity {
                if try tryKeyFile(identity, explicit: true) { return "publickey \(identity)" }
            } else {
                let agent = try session.authenticateWithAgent(user: user, deadline)
                if let type = agent.accepted { return "agent \(type)" }
                for key in agent.refused {
                    tried.append("agent key \(key)")
                    if key.hasPrefix("ssh-rsa") { refusedRSA.append("the agent's \(key)") }
                }
                for file in SSHIdentityFile.defaultFiles where !session.broken {
                    if try tryKeyFile(file, explicit: false) { return "publickey \(file)" }
                }
            }
        }
        if let password = secrets.password, !session.broken {
            if methods.contains("password") {
                if case .success = try session.authenticate(user: user, password: password, deadline) { return "password" }
                tried.append("password")
            }
            if methods.contains("keyboard-interactive"), !session.broken {
                if case .success = try session.authenticateInteractive(user: user, password: password, deadline) {
                    return "keyboard-interactive"
                }
                tried.append("keyboard-interactive")
            }
        }

        if !refusedRSA.isEmpty {
            throw SSHError.auth(
                node: node,
                reason: "the server refused the RSA key \(refusedRSA.joined(separator: ", ")) for \(user): libssh2 \(LibSSH2.version) signs RSA only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later refuse",
                fix: "use an ed25519 key: ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519, append ~/.ssh/id_ed25519.pub to ~\(user)/.ssh/authorized_keys on the node, and set identity: ~/.ssh/id_ed25519")
        }
        let triedText = tried.isEmpty ? "nothing to try" : "tried " + tried.joined(separator: ", ")
        throw SSHError.auth(
            node: node, reason: "user \(user) was refused (\(triedText); the server accepts \(methods.joined(separator: ",")))",
            fix: "put your public key in ~\(user)/.ssh/authorized_keys on the node, load it into ssh-agent, or set identity: in the inventory")
    }

    // MARK: - Exec

    private func live() throws -> Session {
        guard let session, !session.broken else {
            throw SSHError.connect(node: node, reason: "the connection is closed", fix: "reconnect")
        }
        return session
    }

    /// Runs `command`, writing `stdin` then EOF, reading stdout and stderr as they
    /// come (no deadlock at any size), within `timeout` for the whole call.
    func exec(_ command: String, stdin: [UInt8], timeout: Duration, display: String) throws -> CommandResult {
        let session = try live()
        let deadline = Deadline("running `\(display)`", within: timeout)
        let channel = try Channel(session: session, deadline)
        try channel.exec(command, deadline)
        var out = Data()
        var err = Data()
        var outDone = false
        var errDone = false
        var written = 0
        var eofSent = false
        let bufferSize = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }

        // A step that left part of a packet in libssh2's send buffer is retried before
        // any other: libssh2 1.10 refuses a different packet until that one is out (a
        // read's window adjust in between fails the whole session). Small socket
        // buffers (a tunnel through a jump host) make that common.
        enum Step { case readOut, readErr, write }
        var owed: Step?
        func attempt(_ step: Step) throws -> Bool {
            var progress = false
            switch step {
            case .readOut, .readErr:
                let stderr = step == .readErr
                while !(stderr ? errDone : outDone) {
                    guard let n = try channel.read(stderr: stderr, into: buffer, deadline) else { break }
                    if n > 0 {
                        if stderr { err.append(contentsOf: buffer[0..<n]) } else { out.append(contentsOf: buffer[0..<n]) }
                    } else if stderr {
                        errDone = true
                    } else {
                        outDone = true
                    }
                    // Reaching EOF counts as progress: the read that finds it may have taken the
                    // channel's last packets off the socket, and polling then waits for nothing.
                    progress = true
                }
            case .write:
                guard !eofSent && !channel.remoteEOF else { return false }
                if written < stdin.count {
                    if let n = try stdin.withUnsafeBytes({ try channel.write(UnsafeRawBufferPointer(rebasing: $0[written...]), deadline) }) {
                        written += n
                        progress = n > 0
                    }
                } else if try channel.sendEOF(deadline) {
                    eofSent = true
                    progress = true
                }
            }
            if !progress && session.sendPending { owed = step }
            return progress
        }

        while !(outDone && errDone) {
            var progress = false
            let steps: [Step] = owed.map { [$0] } ?? [.readOut, .readErr, .write]
            owed = nil
            for step in steps where owed == nil {
                if try attempt(step) { progress = true }
            }
            if (owed != nil || !progress) && !(outDone && errDone) { try session.wait(deadline) }
        }
        try channel.closeAndWait(deadline)
        let signal = channel.exitSignal()
        return CommandResult(exitStatus: signal == nil ? channel.exitStatus : -1, signal: signal, stdout: out, stderr: err)
    }

    // MARK: - SFTP

    private func sftp() throws -> SFTP {
        let session = try live()
        if let sftpChannel { return sftpChannel }
        let opened = try SFTP(session: session, Deadline("starting SFTP", within: timeouts.io))
        sftpChannel = opened
        return opened
    }

    private func step(_ what: String) -> Deadline { Deadline(what, within: timeouts.io) }

    /// Creates or truncates `path` at 0600 (re-tightening an existing file to 0600
    /// before any byte is written), writes `contents`, then sets owner and mode.
    func writeFile(_ path: String, contents: Data, mode: UInt32, uid: UInt32?, gid: UInt32?) throws {
        let sftp = try sftp()
        let d = step("writing \(path)")
        let file = try sftp.open(path, write: true, creationMode: 0o600, d)
        let before = try file.attributes(d)
        if before.permissions != 0o600 { try file.setAttributes(permissions: 0o600, d) }
        try contents.withUnsafeBytes { bytes in
            try file.write(bytes, deadlineFor: { step("uploading \(path)") })
        }
        if let uid, let gid, uid != before.uid || gid != before.gid {
            try file.setAttributes(uid: uid, gid: gid, d)
        }
        if mode != 0o600 { try file.setAttributes(permissions: mode, d) }
        try file.close(d)
    }

    func readFile(_ path: String) throws -> Data {
        let sftp = try sftp()
        let file = try sftp.open(path, write: false, creationMode: 0, step("opening \(path)"))
        let bytes = try file.readAll(deadlineFor: { step("reading \(path)") })
        try file.close(step("closing \(path)"))
        return Data(bytes)
    }

    func stat(_ path: String) throws -> SFTPAttributes? {
        try sftp().stat(path, step("reading the attributes of \(path)"))
    }

    /// No error when the file is already gone.
    func remove(_ path: String) throws {
        let sftp = try sftp()
        let d = step("removing \(path)")
        switch try sftp.unlink(path, d) {
        case .success: return
        case .failure(let e) where e.isSFTPStatus && sftp.lastStatusCode == SFTP.Status.noSuchFile.rawValue:
            return
        case .failure(let e): throw e.sshError(node: node, step: d.step, code: .sftp)
        }
    }

    /// `mkdir -p`, then `mode` on the last component.
    func makeDirectory(_ path: String, mode: UInt32) throws {
        let sftp = try sftp()
        let d = step("creating the directory \(path)")
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if let attrs = try sftp.stat(prefix, d) {
                guard attrs.isDirectory else {
                    throw SSHError.sftp(node: node, reason: "cannot create \(path): \(prefix) exists and is not a directory",
                                        fix: "move \(prefix) away on the node")
                }
                continue
            }
            if case .failure(let e) = try sftp.mkdir(prefix, mode: mode, d), try sftp.stat(prefix, d)?.isDirectory != true {
                throw e.sshError(node: node, step: d.step, code: .sftp)
            }
        }
        try sftp.setPermissions(path, mode, d)
    }

    /// Closes SFTP, says goodbye, frees the session.
    func close() {
        sftpChannel = nil
        session?.disconnect(Deadline("disconnecting", within: .seconds(2)))
        session = nil
        link?.close()
        link = nil
    }
}

/// Metadata keys of this module's log lines. Never a secret in any of them.
enum SSHLog {
    static let node = "node"
    static let auth = "auth"
    static let milliseconds = "ms"
    static let fingerprint = "fingerprint"
    static let file = "file"
    static let command = "command"
    static let exitStatus = "exit"
}
