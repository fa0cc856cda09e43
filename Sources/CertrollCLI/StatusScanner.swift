import CertrollCore
import CertrollPKI
import CertrollSSH
import Foundation

/// Looks at every node of the selected clusters, `parallel` at a time, and
/// reports what each serves and stores. Changes nothing anywhere: a TLS
/// handshake, and over SSH two file reads.
///
/// Per node the TLS probe and the SSH reads run at once. The probe runs on a
/// thread of its own, and every `SSHHost` has its own thread, so no blocking
/// call sits on the cooperative pool.
struct StatusScanner: Sendable {
    /// Read `cert_path` and `key_path` over SSH (`--no-ssh` clears it).
    var useSSH: Bool
    /// Nodes in flight at once.
    var parallel: Int
    /// Logs in to the nodes, as a rollout does.
    var connector: SSHConnector

    private struct Target: Sendable {
        var cluster: Cluster
        var node: ClusterNode
    }

    func scan(_ clusters: [Cluster]) async -> [NodeObservation] {
        let targets = clusters.flatMap { cluster in cluster.nodes.map { Target(cluster: cluster, node: $0) } }
        let results = await Fleet.forEachNode(targets, parallel: parallel) { target in await observe(target) }
        return zip(targets, results).map { target, result in
            switch result {
            case .success(let observation): return observation
            case .failure(let error):
                // observe() does not throw; kept total so a new failure mode cannot drop a node.
                let failure = ObservationFailure("node \(target.node.host): \(error)")
                return NodeObservation(cluster: target.cluster.name, node: target.node.host, role: target.node.role.rawValue,
                                       served: .failure(failure), stored: useSSH ? .failure(failure) : nil)
            }
        }
    }

    private func observe(_ target: Target) async -> NodeObservation {
        async let served = serve(target)
        async let stored = useSSH ? store(target) : nil
        return NodeObservation(
            cluster: target.cluster.name, node: target.node.host, role: target.node.role.rawValue,
            served: await served, stored: await stored)
    }

    /// TLS handshake with `hostName:https_port` (through the node's jump hosts, if
    /// any), SNI the cluster's first fqdn.
    private func serve(_ target: Target) async -> Result<ServedCertificate, ObservationFailure> {
        let node = target.node
        let host = node.ssh.hostName, port = node.xsoar.httpsPort
        let names = target.cluster.fqdn
        let chain: ServedChain
        do {
            chain = try await connector.probe(node.host, node.ssh, port: port, serverName: names.first, timeout: node.ssh.connectTimeout)
        } catch let error as TLSError {
            return .failure(ObservationFailure(
                "node \(node.host): no TLS handshake with \(host):\(port): \(error.reason); check that the service runs (\(node.xsoar.statusCommand))."))
        } catch {
            return .failure(ObservationFailure("node \(node.host): no TLS handshake with \(host):\(port): \(error)"))
        }
        do throws(PKIError) {
            return .success(try ServedCertificate(served: chain, requiredNames: names, now: Date()))
        } catch {
            return .failure(ObservationFailure("node \(node.host): \(host):\(port) served a certificate that cannot be read: \(error.reason)"))
        }
    }

    /// Reads `cert_path` and `key_path` over SSH. The key's bytes stay in this
    /// function: only its format leaves it.
    private func store(_ target: Target) async -> Result<StoredCertificate, ObservationFailure> {
        let node = target.node
        let host: SSHHost
        do {
            host = try await connector.host(for: node)
        } catch {
            return .failure(ObservationFailure("\(error)"))
        }
        let files: Result<(chain: Data, key: Data), ObservationFailure>
        do {
            files = .success((try await host.readFile(node.xsoar.certPath), try await host.readFile(node.xsoar.keyPath)))
        } catch {
            files = .failure(ObservationFailure("\(error)"))
        }
        await host.close()
        let chainPEM: Data, keyPEM: Data
        switch files {
        case .success(let read): (chainPEM, keyPEM) = read
        case .failure(let failure): return .failure(failure)
        }
        do throws(PKIError) {
            return .success(try StoredCertificate(
                chainPEM: chainPEM, chainFile: node.xsoar.certPath, keyPEM: keyPEM, keyFile: node.xsoar.keyPath))
        } catch {
            return .failure(ObservationFailure("node \(node.host): \(error.reason)"))
        }
    }
}
