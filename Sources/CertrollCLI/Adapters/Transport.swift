import CertrollCore
import Foundation
import Logging

/// The transport to the nodes and the TLS probe. Until the SSH transport and
/// the OpenSSL TLS probe are merged, both refuse with a sentence saying so.
enum Transport {
    /// Why a node cannot be reached by this build.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    static func connector(becomePassword: Secret?, logger: Logger) -> any HostConnector {
        UnavailableConnector()
    }

    static var probe: any TLSProbe { UnavailableProbe() }

    private struct UnavailableConnector: HostConnector {
        func connect(to node: ClusterNode) async throws -> any RemoteHost {
            throw Unavailable(description: "this certroll was built without the SSH transport, so node \(node.host) cannot be reached")
        }
    }

    private struct UnavailableProbe: TLSProbe {
        func probe(host: String, port: Int, serverName: String?, timeout: Duration) async throws -> ServedChain {
            throw Unavailable(description: "this certroll was built without the TLS probe, so \(host):\(port) cannot be checked")
        }
    }
}
