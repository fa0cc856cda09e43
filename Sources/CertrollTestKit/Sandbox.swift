public import CertrollCore
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A sandbox made by `scripts/sandbox up`: simulated XSOAR nodes, each with
/// its own network and mount namespace, a real sshd and a `demisto` service.
///
/// Integration tests bring one up around a suite (`Sandbox.up`), connect to
/// `nodes[i].address` with `identityFile` and `knownHostsFile`, and look
/// inside a node with `run(onNode:_:)`. Everything needs root.
public struct Sandbox: Sendable, Decodable {
    /// One node as `sandbox.json` describes it.
    public struct Node: Sendable, Decodable, Equatable {
        /// 1-based, as `scripts/sandbox exec N` takes it.
        public var index: Int
        public var name: String
        public var address: String
        public var sshPort: Int
        public var httpsPort: Int
        /// `primary` or `backup`, as in the inventory.
        public var role: String
        public var netnsPath: String
        public var mountNamespacePath: String
        /// The host folder holding the node's files (its `/usr/local/demisto` is `usr-local-demisto/` in it).
        public var nodeDir: String

        enum CodingKeys: String, CodingKey {
            case index, name, address, role
            case sshPort = "ssh_port", httpsPort = "https_port", netnsPath = "netns_path"
            case mountNamespacePath = "mount_ns_path", nodeDir = "node_dir"
        }
    }

    public var prefix: String
    public var dir: String
    public var subnet: String
    public var identityFile: String
    public var knownHostsFile: String
    public var sshConfigFile: String
    /// Inventory connecting as root.
    public var inventoryFile: String
    /// Inventory connecting as `adminUser` with `become: sudo` (no password).
    public var inventorySudoFile: String
    /// Inventory connecting as `passwordAdminUser` with `become: sudo` (password in `becomePasswordFile`).
    public var inventorySudoPasswordFile: String
    public var adminUser: String
    public var passwordAdminUser: String
    public var becomePasswordFile: String
    public var nodes: [Node]
    /// The jump hosts in front of the nodes, first hop first (`up N --bastion K`);
    /// empty when the host reaches the nodes directly.
    public var bastions: [Bastion]
    /// The bastions as `proxy_jump` writes them (`root@ADDR,root@ADDR`); nil without bastions.
    public var proxyJump: String?
    /// The /24 of the links host ↔ bastion 1 ↔ bastion 2 …; nil without bastions.
    public var transitSubnet: String?

    enum CodingKeys: String, CodingKey {
        case prefix, dir, subnet, identity, nodes
        case knownHosts = "known_hosts", sshConfig = "ssh_config", inventory
        case inventorySudo = "inventory_sudo", inventorySudoPassword = "inventory_sudo_password"
        case adminUser = "admin_user", passwordAdminUser = "password_admin_user"
        case becomePasswordFile = "become_password_file"
        case bastions, proxyJump = "proxy_jump", transitSubnet = "transit_subnet"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prefix = try c.decode(String.self, forKey: .prefix)
        dir = try c.decode(String.self, forKey: .dir)
        subnet = try c.decode(String.self, forKey: .subnet)
        identityFile = try c.decode(String.self, forKey: .identity)
        knownHostsFile = try c.decode(String.self, forKey: .knownHosts)
        sshConfigFile = try c.decode(String.self, forKey: .sshConfig)
        inventoryFile = try c.decode(String.self, forKey: .inventory)
        inventorySudoFile = try c.decode(String.self, forKey: .inventorySudo)
        inventorySudoPasswordFile = try c.decode(String.self, forKey: .inventorySudoPassword)
        adminUser = try c.decode(String.self, forKey: .adminUser)
        passwordAdminUser = try c.decode(String.self, forKey: .passwordAdminUser)
        becomePasswordFile = try c.decode(String.self, forKey: .becomePasswordFile)
        nodes = try c.decode([Node].self, forKey: .nodes)
        bastions = try c.decodeIfPresent([Bastion].self, forKey: .bastions) ?? []
        proxyJump = try c.decodeIfPresent(String.self, forKey: .proxyJump)
        transitSubnet = try c.decodeIfPresent(String.self, forKey: .transitSubnet)
    }

    /// True when this process may make namespaces (the sandbox needs root).
    public static var isRoot: Bool { getuid() == 0 }

    /// The repository root: the nearest folder above `file` holding `Package.swift`.
    public static func repositoryRoot(file: String = #filePath) -> URL {
        var url = URL(fileURLWithPath: file).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// `scripts/sandbox` of this repository.
    public static var script: String { repositoryRoot().appendingPathComponent("scripts/sandbox").path }

    /// Brings up `nodes` nodes named `name` (first removing a sandbox of that name
    /// left by a crashed run) and reads what the script wrote. With `bastions`
    /// above 0 the host cannot route to the nodes: they are reached through that
    /// many jump hosts in a row (`proxyJump`).
    public static func up(nodes: Int, name: String, startDelay: Double = 0, startTimeout: Int = 60,
                          clusterSize: Int? = nil, bastions: Int = 0) async throws(SandboxError) -> Sandbox {
        try await down(name: name)
        var arguments = ["up", String(nodes), "--name", name, "--start-delay", String(startDelay),
                         "--start-timeout", String(startTimeout)]
        if let clusterSize { arguments += ["--cluster-size", String(clusterSize)] }
        if bastions > 0 { arguments += ["--bastion", String(bastions)] }
        let sim = repositoryRoot().appendingPathComponent(".build/debug/xsoar-sim").path
        if FileManager.default.isExecutableFile(atPath: sim) { arguments += ["--sim", sim] }
        let result = try await SandboxProcess.run(script, arguments)
        guard result.succeeded else {
            throw SandboxError(.upFailed, "scripts/sandbox up \(nodes) --name \(name) failed (exit \(result.exitStatus)): \(result.stderrText)")
        }
        return try load(name: name)
    }

    /// Reads `sandbox.json` of a running sandbox.
    public static func load(name: String, root: String = "/run/certroll-sandbox") throws(SandboxError) -> Sandbox {
        let path = "\(root)/\(name)/sandbox.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SandboxError(.notUp, "\(path) is missing; bring the sandbox up with scripts/sandbox up N --name \(name)")
        }
        do {
            return try JSONDecoder().decode(Sandbox.self, from: data)
        } catch {
            throw SandboxError(.notUp, "\(path) does not parse (\(error)); run scripts/sandbox down --name \(name) and up again")
        }
    }

    /// Removes the sandbox named `name`; safe when it is not up.
    public static func down(name: String) async throws(SandboxError) {
        let result = try await SandboxProcess.run(script, ["down", "--name", name])
        guard result.succeeded else {
            throw SandboxError(.downFailed, "scripts/sandbox down --name \(name) failed (exit \(result.exitStatus)): \(result.stderrText)")
        }
    }

    public func down() async throws(SandboxError) { try await Self.down(name: prefix) }

    /// Runs `command` with `sh -c` inside node `index` (1-based) as root, in
    /// its mount and network namespaces, as sshd would run it on the node.
    public func run(onNode index: Int, _ command: String, stdin: Data? = nil) async throws(SandboxError) -> CommandResult {
        guard let node = nodes.first(where: { $0.index == index }) else {
            throw SandboxError(.noSuchNode, "sandbox \(prefix) has no node \(index); it has \(nodes.count)")
        }
        return try await SandboxProcess.run("/usr/bin/nsenter",
                                      ["--mount=\(node.mountNamespacePath)", "--net=\(node.netnsPath)", "/bin/sh", "-c", command],
                                      stdin: stdin)
    }

    /// The real `ssh` client to node `index` under strict host-key checking, with the sandbox's key.
    public func ssh(toNode index: Int, user: String = "root", _ command: String, stdin: Data? = nil) async throws(SandboxError) -> CommandResult {
        guard let node = nodes.first(where: { $0.index == index }) else {
            throw SandboxError(.noSuchNode, "sandbox \(prefix) has no node \(index); it has \(nodes.count)")
        }
        return try await SandboxProcess.run("/usr/bin/ssh", [
            "-F", "/dev/null", "-i", identityFile, "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=\(knownHostsFile)", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "-p", String(node.sshPort), "\(user)@\(node.address)", command,
        ], stdin: stdin)
    }
}

/// A jump host in front of a sandbox's nodes: its own network namespace and a
/// real sshd that forwards TCP and logs every accepted login to `sshdLog`.
public struct Bastion: Sendable, Decodable, Equatable {
    /// 1-based, first hop first: bastion 1 is the one the host reaches.
    public var index: Int
    /// Its alias in the sandbox's `ssh_config` (`PREFIX-bastionK`).
    public var name: String
    public var address: String
    public var sshPort: Int
    public var netnsPath: String
    /// The host folder holding its host keys, `sshd_config` and `sshd.log`.
    public var dir: String
    public var sshdConfig: String
    public var sshdLog: String

    enum CodingKeys: String, CodingKey {
        case index, name, address, dir
        case sshPort = "ssh_port", netnsPath = "netns_path", sshdConfig = "sshd_config", sshdLog = "sshd_log"
    }
}

extension Sandbox {
    /// Bastion `index` (1-based), or `noSuchBastion`.
    public func bastion(_ index: Int) throws(SandboxError) -> Bastion {
        guard let bastion = bastions.first(where: { $0.index == index }) else {
            throw SandboxError(.noSuchBastion, "sandbox \(prefix) has no bastion \(index); it has \(bastions.count) (scripts/sandbox up N --bastion K)")
        }
        return bastion
    }

    /// How many logins bastion `index`'s sshd has accepted since the sandbox came up
    /// (its "Accepted publickey for …" log lines).
    public func acceptedLogins(onBastion index: Int = 1) throws(SandboxError) -> Int {
        let log = try bastion(index).sshdLog
        guard let data = FileManager.default.contents(atPath: log) else {
            throw SandboxError(.notUp, "cannot read \(log); is sandbox \(prefix) up with --bastion?")
        }
        // sshd -E ends lines with "\r\n", one Character in Swift: split on any newline.
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).filter { $0.contains("Accepted ") }.count
    }

    /// The real `ssh` client to node `index` through every bastion (`ssh -J`),
    /// with the sandbox's `ssh_config` so each hop gets the key and strict host-key checking.
    public func sshThroughBastions(toNode index: Int, user: String = "root", _ command: String,
                                   stdin: Data? = nil) async throws(SandboxError) -> CommandResult {
        guard let node = nodes.first(where: { $0.index == index }) else {
            throw SandboxError(.noSuchNode, "sandbox \(prefix) has no node \(index); it has \(nodes.count)")
        }
        guard let proxyJump else {
            throw SandboxError(.noSuchBastion, "sandbox \(prefix) has no bastion; bring it up with --bastion")
        }
        return try await SandboxProcess.run("/usr/bin/ssh", [
            "-F", sshConfigFile, "-J", proxyJump, "-p", String(node.sshPort), "\(user)@\(node.address)", command,
        ], stdin: stdin)
    }

    /// Runs `command` with `sh -c` in bastion `index`'s network namespace, as root
    /// (e.g. to check what that hop can reach).
    public func run(onBastion index: Int, _ command: String, stdin: Data? = nil) async throws(SandboxError) -> CommandResult {
        try await SandboxProcess.run("/usr/bin/nsenter", ["--net=\(try bastion(index).netnsPath)", "/bin/sh", "-c", command],
                                     stdin: stdin)
    }

    /// Kills every sshd of bastion `index` (listener and open sessions, as if the
    /// jump host went down) and waits until none is left.
    public func stopSSHD(onBastion index: Int) async throws(SandboxError) {
        let netns = try bastion(index).netnsPath
        // `ip netns pids` lists exactly the processes in the bastion's namespace: its sshd and their children.
        let script = """
            name=\(ShellQuote.quote(URL(fileURLWithPath: netns).lastPathComponent))
            for n in $(seq 1 50); do
                pids=$(ip netns pids "$name")
                [ -z "$pids" ] && exit 0
                kill -KILL $pids 2>/dev/null
                sleep 0.1
            done
            echo "processes $pids in $name did not end" >&2; exit 1
            """
        let result = try await SandboxProcess.run("/bin/sh", ["-c", script])
        guard result.succeeded else {
            throw SandboxError(.spawnFailed, "bastion \(index) of sandbox \(prefix): sshd did not stop (\(result.stderrText))")
        }
    }

    /// Starts bastion `index`'s sshd again (after `stopSSHD(onBastion:)`).
    public func startSSHD(onBastion index: Int) async throws(SandboxError) {
        let bastion = try bastion(index)
        let result = try await SandboxProcess.run("/usr/bin/nsenter", [
            "--net=\(bastion.netnsPath)", "/usr/sbin/sshd", "-f", bastion.sshdConfig, "-E", bastion.sshdLog,
        ])
        guard result.succeeded else {
            throw SandboxError(.spawnFailed, "bastion \(index) of sandbox \(prefix): sshd did not start (\(result.stderrText))")
        }
    }
}

/// Why a sandbox operation failed; equal by code.
public struct SandboxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        case upFailed = "sandbox.up-failed"
        case downFailed = "sandbox.down-failed"
        case notUp = "sandbox.not-up"
        case noSuchNode = "sandbox.no-such-node"
        case noSuchBastion = "sandbox.no-such-bastion"
        case spawnFailed = "sandbox.spawn-failed"
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (lhs: SandboxError, rhs: SandboxError) -> Bool { lhs.code == rhs.code }
    public var description: String { "\(reason) [\(code.rawValue)]" }
}

/// Runs a local program to the end, collecting stdout and stderr.
public enum SandboxProcess {
    /// Runs the program on a thread of its own (`Blocking.run`), never blocking
    /// the cooperative pool while it waits.
    public static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil) async throws(SandboxError) -> CommandResult {
        try await Blocking.run("certroll.sandbox-process") { () throws(SandboxError) -> CommandResult in
            try runBlocking(executable, arguments, stdin: stdin)
        }
    }

    /// The same, blocking the calling thread: only for threads of your own.
    public static func runBlocking(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws(SandboxError) -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        do {
            try process.run()
        } catch {
            throw SandboxError(.spawnFailed, "cannot run \(executable): \(error)")
        }
        let collected = SandboxOutput()
        let group = DispatchGroup()
        for (handle, isStdout) in [(out.fileHandleForReading, true), (err.fileHandleForReading, false)] {
            group.enter()
            Thread.detachNewThread {
                let data = handle.readDataToEndOfFile()
                collected.set(data, stdout: isStdout)
                group.leave()
            }
        }
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try? input.fileHandleForWriting.close()
        }
        group.wait()
        process.waitUntilExit()
        let signal = process.terminationReason == .uncaughtSignal ? String(process.terminationStatus) : nil
        return CommandResult(exitStatus: process.terminationStatus, signal: signal,
                             stdout: collected.stdout, stderr: collected.stderr)
    }
}

/// Output gathered by the reader threads of `SandboxProcess`.
private final class SandboxOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data(), err = Data()
    func set(_ data: Data, stdout: Bool) {
        lock.lock(); defer { lock.unlock() }
        if stdout { out = data } else { err = data }
    }
    var stdout: Data { lock.lock(); defer { lock.unlock() }; return out }
    var stderr: Data { lock.lock(); defer { lock.unlock() }; return err }
}
