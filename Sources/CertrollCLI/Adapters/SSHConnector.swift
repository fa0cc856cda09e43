import CertrollCore
import CertrollPKI
import CertrollSSH
import Foundation
import Logging

/// The one way certroll reaches a node (rollout, plan, status, resume): the
/// node's resolved `ssh:` settings plus this run's SSH secrets, which go only
/// to libssh2 (identity passphrase) and sudo's stdin (sudo password). Nodes
/// behind jump hosts share one session per jump host (`JumpHosts.shared`), and
/// their TLS checks go through the same hops: nothing assumes the controller
/// can route to a node.
struct SSHConnector: HostConnector {
    var secrets: SSHSecrets
    var logger: Logger
    /// The nodes this run logged in to, by the address the engine probes.
    let routes = RouteBook()

    /// A connected, authenticated host for `node`.
    func host(for node: ClusterNode) async throws -> SSHHost {
        routes.record(node)
        return try await SSHHost.connect(name: node.host, settings: node.ssh, secrets: secrets, logger: logger)
    }

    func connect(to node: ClusterNode) async throws -> any RemoteHost {
        try await host(for: node)
    }

    /// A TLS handshake with `port` of `node`, reached as its SSH is (through its
    /// jump hosts, or its ProxyCommand). Off the cooperative pool.
    func probe(_ node: String, _ settings: SSHSettings, port: Int, serverName: String?, timeout: Duration) async throws -> ServedChain {
        let (secrets, logger) = (self.secrets, self.logger)
        return try await Blocking.run("certroll.tls-probe") { () throws -> ServedChain in
            guard let socket = try SSHRoute.tunnel(to: port, of: settings, node: node, secrets: secrets, logger: logger) else {
                return try OpenSSLTLSProbe.probeBlocking(host: settings.hostName, port: port, serverName: serverName, timeout: timeout)
            }
            return try OpenSSLTLSProbe.probeBlocking(socket: socket, host: settings.hostName, port: port, serverName: serverName, timeout: timeout)
        }
    }

    /// The engine's TLS probe: a node it logged in to is probed the way SSH reaches
    /// it; anything else (a load balancer endpoint) directly.
    var tlsProbe: any TLSProbe { RoutedTLSProbe(connector: self) }
}

/// The `TLSProbe` the engine uses (it probes by address; see `SSHConnector.tlsProbe`).
struct RoutedTLSProbe: TLSProbe {
    var connector: SSHConnector

    func probe(host: String, port: Int, serverName: String?, timeout: Duration) async throws -> ServedChain {
        if let node = connector.routes[host] {
            return try await connector.probe(node.host, node.ssh, port: port, serverName: serverName, timeout: timeout)
        }
        return try await OpenSSLTLSProbe().probe(host: host, port: port, serverName: serverName, timeout: timeout)
    }
}

/// Each node by the address it is dialled at, as nodes are reached.
final class RouteBook: @unchecked Sendable {
    private let lock = NSLock()
    private var byAddress: [String: ClusterNode] = [:]

    func record(_ node: ClusterNode) {
        lock.withLock { byAddress[node.ssh.hostName] = node }
    }

    subscript(address: String) -> ClusterNode? {
        lock.withLock { byAddress[address] }
    }
}
