import CertrollCore
import CertrollPKI
import Logging

/// The transport to the nodes (SSH over libssh2) and the TLS probe (OpenSSL).
enum Transport {
    static func connector(becomePassword: Secret?, logger: Logger) -> any HostConnector {
        SSHConnector(becomePassword: becomePassword, logger: logger)
    }

    static var probe: any TLSProbe { OpenSSLTLSProbe() }
}
