import CertrollPKI
import Foundation

extension Sandbox {
    /// Brings up `nodes` nodes named `name`, runs `body`, and takes the sandbox
    /// down whether `body` succeeded or threw.
    public static func with(nodes: Int, name: String, clusterSize: Int? = nil,
                            _ body: (Sandbox) async throws -> Void) async throws {
        let sandbox = try await up(nodes: nodes, name: name, clusterSize: clusterSize)
        do {
            try await body(sandbox)
        } catch {
            try? await sandbox.down()
            throw error
        }
        try await sandbox.down()
    }

    /// The leaf each node serves now (SHA-256 of its DER), in node order,
    /// probed from the host (a sandbox without bastions).
    public func servedLeaves() async throws -> [String] {
        var result: [String] = []
        for node in nodes {
            result.append(try await OpenSSLTLSProbe().probe(host: node.address, port: node.httpsPort, serverName: nil, timeout: .seconds(5)).leafFingerprint)
        }
        return result
    }
}
