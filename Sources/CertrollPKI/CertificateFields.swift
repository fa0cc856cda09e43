public import Foundation

/// A subject or issuer name.
public struct DistinguishedName: Sendable, Hashable, CustomStringConvertible {
    /// RFC 4514 text, most specific first: `CN=xsoar.example.com,O=Example`.
    public var text: String
    /// The DER encoding; names are compared by it.
    public var der: Data
    /// The (last) common name, when there is one.
    public var commonName: String?

    public init(text: String, der: Data, commonName: String?) {
        self.text = text
        self.der = der
        self.commonName = commonName
    }

    public var description: String { text }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.der == rhs.der }
    public func hash(into hasher: inout Hasher) { hasher.combine(der) }
}

/// One subjectAltName entry.
public enum SubjectAlternativeName: Sendable, Hashable, CustomStringConvertible {
    case dns(String)
    /// Text form: dotted quad or RFC 5952 IPv6.
    case ip(String)
    /// e-mail, URI and the rest: kept for display only.
    case other(String)

    public var description: String {
        switch self {
        case .dns(let name): "DNS:\(name)"
        case .ip(let address): "IP:\(address)"
        case .other(let text): text
        }
    }
}

/// The basicConstraints extension.
public struct BasicConstraints: Sendable, Hashable {
    public var isCA: Bool
    /// nil when unlimited or absent.
    public var pathLength: Int?
    public init(isCA: Bool, pathLength: Int?) {
        self.isCA = isCA
        self.pathLength = pathLength
    }
}

/// The keyUsage bits certroll cares about.
public struct KeyUsage: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let digitalSignature = KeyUsage(rawValue: 1 << 0)
    public static let keyEncipherment = KeyUsage(rawValue: 1 << 1)
    public static let keyAgreement = KeyUsage(rawValue: 1 << 2)
    public static let keyCertSign = KeyUsage(rawValue: 1 << 3)
    public static let crlSign = KeyUsage(rawValue: 1 << 4)
    public static let nonRepudiation = KeyUsage(rawValue: 1 << 5)
    public static let dataEncipherment = KeyUsage(rawValue: 1 << 6)

    public var description: String {
        let names: [(KeyUsage, String)] = [
            (.digitalSignature, "digitalSignature"), (.nonRepudiation, "nonRepudiation"),
            (.keyEncipherment, "keyEncipherment"), (.dataEncipherment, "dataEncipherment"),
            (.keyAgreement, "keyAgreement"), (.keyCertSign, "keyCertSign"), (.crlSign, "cRLSign"),
        ]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}

/// The extendedKeyUsage purposes certroll cares about.
public struct ExtendedKeyUsage: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let serverAuth = ExtendedKeyUsage(rawValue: 1 << 0)
    public static let clientAuth = ExtendedKeyUsage(rawValue: 1 << 1)
    public static let codeSigning = ExtendedKeyUsage(rawValue: 1 << 2)
    public static let emailProtection = ExtendedKeyUsage(rawValue: 1 << 3)
    public static let timeStamping = ExtendedKeyUsage(rawValue: 1 << 4)
    public static let ocspSigning = ExtendedKeyUsage(rawValue: 1 << 5)
    public static let any = ExtendedKeyUsage(rawValue: 1 << 6)

    public var description: String {
        let names: [(ExtendedKeyUsage, String)] = [
            (.serverAuth, "serverAuth"), (.clientAuth, "clientAuth"), (.codeSigning, "codeSigning"),
            (.emailProtection, "emailProtection"), (.timeStamping, "timeStamping"),
            (.ocspSigning, "OCSPSigning"), (.any, "anyExtendedKeyUsage"),
        ]
        let text = names.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
        return text.isEmpty ? "none certroll knows" : text
    }
}
