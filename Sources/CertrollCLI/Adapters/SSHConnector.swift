import CertrollCore
import CertrollSSH
import Logging

/// The one way certroll logs in to a node (rollout, plan, status, resume):
/// the node's resolved `ssh:` settings plus this run's SSH secrets, which go
/// only to libssh2 (identity passphrase) and sudo's stdin (sudo password).
struct SSHConnector: HostConnector {
    var secrets: SSHSecrets
    var logger: Logger

    /// A connected, authenticated host for `node`.
    func host(for node: ClusterNode) async throws -> SSHHost {
        try await SSHHost.connect(name: node.host, settings: node.ssh, secrets: secrets, logger: logger)
    }

    func connect(to node: ClusterNode) async throws -> any RemoteHost {
        try await host(for: node)
    }
}
