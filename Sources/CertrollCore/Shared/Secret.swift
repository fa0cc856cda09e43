import Foundation

/// A secret value (key passphrase, sudo password, OTC content).
///
/// It never prints itself: `description`, `debugDescription` and string
/// interpolation all yield `<redacted>`, and it is not `Codable`, so it cannot
/// reach a log, the journal, a report or an error message by accident. Read the
/// bytes only where they are handed to OpenSSL, a remote stdin, or a 0600 file.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw bytes; use only at the point of use.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// The secret as UTF-8 text (for JSON escaping into an OTC file).
    public var utf8String: String { String(decoding: bytes, as: UTF8.self) }
    public var isEmpty: Bool { bytes.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
