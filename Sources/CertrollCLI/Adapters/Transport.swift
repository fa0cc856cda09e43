import CertrollCore
import CertrollPKI
import CertrollSSH
import Logging

/// The transport to the nodes (SSH over libssh2) and the TLS probe (OpenSSL).
enum Transport {
    static func connector(secrets: SSHSecrets, logger: Logger) -> SSHConnector {
        SSHConnector(secrets: secrets, logger: logger)
    }

    static var probe: any TLSProbe { OpenSSLTLSProbe() }
}
