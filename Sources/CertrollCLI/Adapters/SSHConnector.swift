import CertrollCore
import CertrollSSH
import Logging

/// `HostConnector` over libssh2: each node's resolved `ssh:` settings (host
/// key policy, identity, become) plus the sudo password, which goes only to
/// sudo's stdin.
struct SSHConnector: HostConnector {
    var becomePassword: Secret?
    var logger: Logger

    func connect(to node: ClusterNode) async throws -> any RemoteHost {
        try await SSHHost.connect(name: node.host, address: node.ssh.hostName,
                                  settings: SSHConnectionSettings(node.ssh, becomePassword: becomePassword), logger: logger)
    }
}
