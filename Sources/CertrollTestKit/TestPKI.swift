public import CertrollPKI
public import Foundation

/// A complete test PKI made at test time with real OpenSSL, valid around a
/// fixed reference time: root → intermediate → leaf, plus a deeper chain
/// (root → intermediate → sub-intermediate → leaf), a wrong key, expired,
/// not-yet-valid, expiring-soon, wildcard, no-SAN and client-only leaves, an
/// unrelated root, and an EC chain. RSA keys are 2048 bits for speed.
public final class TestPKI: Sendable {
    /// 2026-01-15T12:00:00Z: checks against this PKI pass `now: reference`.
    public static let referenceTime = Date(timeIntervalSince1970: 1_768_478_400)

    /// The cluster FQDN and node names the good leaves cover.
    public static let fqdn = "xsoar.example.com"
    public static let nodeNames = ["xsoar-a.example.com", "xsoar-b.example.com"]
    public static let nodeIP = "198.18.1.5"

    public let reference: Date

    public let root: CertificateIssuer
    public let intermediate: CertificateIssuer
    public let leafKey: PrivateKey
    /// CN xsoar.example.com; SAN the FQDN, both node names and the node IP.
    public let leaf: Certificate
    /// A key that belongs to no certificate here.
    public let wrongKey: PrivateKey
    public let expiredLeaf: Certificate
    public let notYetValidLeaf: Certificate
    /// Valid, but ends 10 days after the reference time.
    public let expiringSoonLeaf: Certificate
    /// SAN *.example.com only.
    public let wildcardLeaf: Certificate
    /// CN xsoar.example.com and no SAN extension at all.
    public let noSANLeaf: Certificate
    /// Covers the FQDN but not the node names.
    public let fqdnOnlyLeaf: Certificate
    /// extendedKeyUsage clientAuth only.
    public let clientOnlyLeaf: Certificate

    /// root → intermediate → subIntermediate → deepLeaf (key `leafKey`).
    public let subIntermediate: CertificateIssuer
    public let deepLeaf: Certificate

    /// A root that signed nothing here.
    public let unrelatedRoot: CertificateIssuer

    /// EC P-384 root → EC P-256 intermediate → leaf (key `ecLeafKey`, EC P-256).
    public let ecRoot: CertificateIssuer
    public let ecIntermediate: CertificateIssuer
    public let ecLeafKey: PrivateKey
    public let ecLeaf: Certificate

    /// Builds everything; about a second for the RSA-2048 keys.
    public init(reference: Date = TestPKI.referenceTime) throws {
        self.reference = reference
        let day: TimeInterval = 86_400
        func at(_ days: Double) -> Date { reference.addingTimeInterval(days * day) }
        let rsa = KeyType.rsa(bits: 2048)

        root = try .selfSigned(
            .certificateAuthority("certroll Test Root CA", organization: "certroll tests", notBefore: at(-365), notAfter: at(3650)),
            key: PrivateKey.generateBlocking(rsa))
        intermediate = try root.issueAuthority(
            .certificateAuthority("certroll Test Intermediate CA", organization: "certroll tests", notBefore: at(-300), notAfter: at(1800)),
            key: PrivateKey.generateBlocking(rsa))
        leafKey = try PrivateKey.generateBlocking(rsa)
        wrongKey = try PrivateKey.generateBlocking(rsa)

        func server(_ cn: String, _ sans: [String], from: Double, to: Double, noSAN: Bool = false) throws -> CertificateProfile {
            .tlsServer(
                try CertificateSubject(commonName: cn, subject: "/C=US/O=certroll tests", sans: sans, sanIncludesCommonName: !noSAN),
                notBefore: at(from), notAfter: at(to))
        }
        let allNames = Self.nodeNames + [Self.nodeIP]
        leaf = try intermediate.issue(server(Self.fqdn, allNames, from: -30, to: 365), for: leafKey)
        expiredLeaf = try intermediate.issue(server(Self.fqdn, allNames, from: -400, to: -35), for: leafKey)
        notYetValidLeaf = try intermediate.issue(server(Self.fqdn, allNames, from: 10, to: 400), for: leafKey)
        expiringSoonLeaf = try intermediate.issue(server(Self.fqdn, allNames, from: -300, to: 10), for: leafKey)
        wildcardLeaf = try intermediate.issue(server("*.example.com", [], from: -30, to: 365), for: leafKey)
        noSANLeaf = try intermediate.issue(server(Self.fqdn, [], from: -30, to: 365, noSAN: true), for: leafKey)
        fqdnOnlyLeaf = try intermediate.issue(server(Self.fqdn, [], from: -30, to: 365), for: leafKey)
        var clientOnly = try server(Self.fqdn, [], from: -30, to: 365)
        clientOnly.extendedKeyUsage = [.clientAuth]
        clientOnlyLeaf = try intermediate.issue(clientOnly, for: leafKey)

        subIntermediate = try intermediate.issueAuthority(
            .certificateAuthority("certroll Test Issuing CA 2", organization: "certroll tests", notBefore: at(-200), notAfter: at(1000)),
            key: PrivateKey.generateBlocking(rsa))
        deepLeaf = try subIntermediate.issue(server(Self.fqdn, allNames, from: -30, to: 365), for: leafKey)

        unrelatedRoot = try .selfSigned(
            .certificateAuthority("Unrelated Root CA", organization: "elsewhere", notBefore: at(-365), notAfter: at(3650)),
            key: PrivateKey.generateBlocking(.ec(.p256)))

        ecRoot = try .selfSigned(
            .certificateAuthority("certroll Test EC Root CA", notBefore: at(-365), notAfter: at(3650)),
            key: PrivateKey.generateBlocking(.ec(.p384)))
        ecIntermediate = try ecRoot.issueAuthority(
            .certificateAuthority("certroll Test EC Intermediate CA", notBefore: at(-300), notAfter: at(1800)),
            key: PrivateKey.generateBlocking(.ec(.p256)))
        ecLeafKey = try PrivateKey.generateBlocking(.ec(.p256))
        ecLeaf = try ecIntermediate.issue(server(Self.fqdn, allNames, from: -30, to: 365), for: ecLeafKey)
    }

    /// The good chain in XSOAR's order.
    public var chain: [Certificate] { [leaf, intermediate.certificate, root.certificate] }
    /// The EC chain in XSOAR's order.
    public var ecChain: [Certificate] { [ecLeaf, ecIntermediate.certificate, ecRoot.certificate] }

    /// Concatenated PEM of `certificates`.
    public static func pem(_ certificates: [Certificate]) -> String {
        certificates.map(\.pem).joined()
    }

    /// Writes `text` to `directory/name` with `mode`; returns the path.
    @discardableResult
    public static func write(_ text: String, to directory: URL, _ name: String, mode: Int = 0o600) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url.path
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory() throws -> URL {
        try Scratch.directory("pki")
    }

    /// Shared instance at the reference time, built once per test process.
    public static let shared: TestPKI = {
        do { return try TestPKI() } catch { fatalError("test PKI: \(error)") }
    }()
}
