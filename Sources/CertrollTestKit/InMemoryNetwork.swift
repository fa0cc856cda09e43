public import CertrollCore
public import Foundation

/// A test PKI without OpenSSL: a "certificate" is a PEM block whose DER is a
/// label's bytes, so fingerprints are real SHA-256 values of known input, and a
/// "key" is a PEM block naming the leaf it belongs to and the SHA-256 of its
/// passphrase (never the passphrase itself).
public enum FakePKI {
    /// Leaf `name` then a test CA, as `cert.pem` would hold them.
    public static func chain(_ name: String) -> Data {
        Data((block("CERTIFICATE", Data("leaf:\(name)".utf8)) + block("CERTIFICATE", Data("ca:test-root".utf8))).utf8)
    }

    /// The key for `chain`, encrypted (legacy PEM headers) when a passphrase is given.
    public static func key(for chain: Data, passphrase: String? = nil) -> Data {
        let leaf = PEM.fingerprints(in: chain).first ?? ""
        let body = "FAKEKEY leaf=\(leaf) pass=\(passphrase.map { SHA256.hex(Data($0.utf8)) } ?? "-")"
        let headers = passphrase == nil ? "" : "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n"
        return Data(("-----BEGIN RSA PRIVATE KEY-----\n" + headers + Data(body.utf8).base64EncodedString()
                     + "\n-----END RSA PRIVATE KEY-----\n").utf8)
    }

    /// What `apply` is given for a fake chain and key.
    public static func toInstall(_ name: String, passphrase: String? = nil,
                                 notBefore: Date = Date(timeIntervalSinceNow: -86_400),
                                 notAfter: Date = Date(timeIntervalSinceNow: 86_400 * 90)) -> CertificateToInstall {
        let chain = chain(name)
        return CertificateToInstall(chainPEM: chain, keyPEM: key(for: chain, passphrase: passphrase), notBefore: notBefore,
                                    notAfter: notAfter, keyPassphrase: passphrase.map(Secret.init))
    }

    public static func leafFingerprint(_ name: String) -> String { SHA256.hex(Data("leaf:\(name)".utf8)) }

    private static func block(_ label: String, _ der: Data) -> String {
        "-----BEGIN \(label)-----\n\(der.base64EncodedString())\n-----END \(label)-----\n"
    }
}

/// A key made by `FakePKI`, read back.
public struct FakeKey: Sendable, Equatable {
    public var leafFingerprint: String
    /// nil when the key is not encrypted.
    public var passphraseSHA256: String?

    public init?(pem: Data) {
        let lines = String(decoding: pem, as: UTF8.self).split(separator: "\n")
        guard let b64 = lines.first(where: { !$0.hasPrefix("-----") && !$0.contains(":") }),
              let raw = Data(base64Encoded: String(b64)) else { return nil }
        let fields = String(decoding: raw, as: UTF8.self).split(separator: " ")
        guard fields.first == "FAKEKEY", fields.count == 3 else { return nil }
        leafFingerprint = String(fields[1].dropFirst("leaf=".count))
        let pass = String(fields[2].dropFirst("pass=".count))
        passphraseSHA256 = pass == "-" ? nil : pass
    }
}

/// `KeyInspector` for `FakePKI` keys.
public struct FakeKeyInspector: KeyInspector {
    public init() {}
    public func inspect(pem: Data, passphrase: Secret?) -> KeyInspection {
        guard let key = FakeKey(pem: pem) else { return .unreadable("not a test key") }
        guard let hash = key.passphraseSHA256 else { return .unencrypted }
        return passphrase.map { SHA256.hex($0.bytes) } == hash ? .encryptedOpened : .encryptedLocked
    }
}

/// In-memory hosts by name: the `HostConnector` and `TLSProbe` of a test.
public final class InMemoryNetwork: HostConnector, TLSProbe, @unchecked Sendable {
    private let lock = NSLock()
    private var hosts: [String: InMemoryHost] = [:]
    /// Endpoints (load balancers) and the chain they serve.
    private var endpoints: [String: [Data]] = [:]
    private var _connects = 0

    public init(_ hosts: [InMemoryHost] = []) {
        for h in hosts { self.hosts[h.name] = h }
    }

    public func add(_ host: InMemoryHost) { lock.withLock { hosts[host.name] = host } }
    public func setEndpoint(_ hostPort: String, serving chainPEM: Data) {
        lock.withLock { endpoints[hostPort] = PEM.certificateDERs(in: chainPEM) }
    }
    public func host(_ name: String) -> InMemoryHost? { lock.withLock { hosts[name] } }
    public var connects: Int { lock.withLock { _connects } }

    public func connect(to node: ClusterNode) async throws -> any RemoteHost {
        let host = lock.withLock { () -> InMemoryHost? in
            _connects += 1
            return hosts[node.host]
        }
        guard let host, host.reachable else { throw InMemoryHost.Unreachable(host: node.host) }
        return host
    }

    public func probe(host: String, port: Int, serverName: String?, timeout: Duration) async throws -> ServedChain {
        let (node, endpoint) = lock.withLock { (hosts[host], endpoints["\(host):\(port)"]) }
        let chain: [Data]
        if let node {
            chain = try node.serve()
        } else if let endpoint {
            chain = endpoint
        } else {
            throw InMemoryError(description: "\(host):\(port): no route to host")
        }
        return ServedChain(certificatesDER: chain, leafFingerprint: SHA256.hex(chain[0]), negotiatedProtocol: "TLSv1.3")
    }
}

/// `after_success` runner that records the commands it was asked to run.
public final class RecordingHook: AfterSuccessHook, @unchecked Sendable {
    private let lock = NSLock()
    private var _commands: [String] = []
    public init() {}
    public var commands: [String] { lock.withLock { _commands } }
    public func run(command: String, cluster: Cluster) async throws {
        lock.withLock { _commands.append("\(cluster.name): \(command)") }
    }
}
