import CertrollCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An OpenSSH `known_hosts` file, parsed by us rather than by libssh2 (which
/// matches plain `host` lines for a non-22 port and ignores markers).
///
/// Understands plain and hashed (`|1|salt|hmac`) host patterns, `[host]:port`,
/// `*`/`?` wildcards, `!` negation, `@revoked` (refuses the key) and
/// `@cert-authority` (skipped: certroll does not do host certificates).
struct KnownHosts {
    /// One key line.
    struct Entry: Equatable {
        enum Marker: Equatable { case certAuthority, revoked }
        /// 1-based line number in the file.
        var line: Int
        var marker: Marker?
        var hostPatterns: String
        var keyType: String
        var blob: [UInt8]
    }

    /// What the file says about the key a node offered.
    enum Verdict: Equatable {
        /// Recorded for this host at `line`.
        case known(line: Int)
        /// Nothing recorded for this host.
        case unknown
        /// The host is recorded with another key at `line` (of type `recordedType`).
        case changed(line: Int, recordedType: String)
        /// The offered key is marked `@revoked` at `line`.
        case revoked(line: Int)
    }

    /// The path as the user wrote it (for messages).
    var displayPath: String
    /// The path with `~` expanded.
    var path: String
    var entries: [Entry]

    /// Reads `path`; a missing file is an empty list.
    static func load(_ displayPath: String) throws -> KnownHosts {
        let path = expandTilde(displayPath)
        guard FileManager.default.fileExists(atPath: path) else {
            return KnownHosts(displayPath: displayPath, path: path, entries: [])
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return KnownHosts(displayPath: displayPath, path: path, entries: parse(text))
    }

    static func parse(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            var marker: Entry.Marker?
            if let first = fields.first, first.hasPrefix("@") {
                switch first {
                case "@cert-authority": marker = .certAuthority
                case "@revoked": marker = .revoked
                default: continue
                }
                fields.removeFirst()
            }
            guard fields.count >= 3, let blob = Data(base64Encoded: fields[2]) else { continue }
            entries.append(Entry(line: index + 1, marker: marker, hostPatterns: fields[0],
                                 keyType: fields[1], blob: [UInt8](blob)))
        }
        return entries
    }

    /// How OpenSSH names a host in the file: `host`, or `[host]:port` off port 22.
    static func hostToken(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Key types recorded for the host, in file order, without duplicates.
    func keyTypes(host: String, port: Int) -> [String] {
        let token = Self.hostToken(host: host, port: port)
        var seen: [String] = []
        for e in entries where e.marker == nil && Self.matches(e.hostPatterns, token) && !seen.contains(e.keyType) {
            seen.append(e.keyType)
        }
        return seen
    }

    func verify(host: String, port: Int, keyType: String, blob: [UInt8]) -> Verdict {
        let token = Self.hostToken(host: host, port: port)
        if let revoked = entries.first(where: { $0.marker == .revoked && $0.blob == blob && Self.matches($0.hostPatterns, token) }) {
            return .revoked(line: revoked.line)
        }
        let mine = entries.filter { $0.marker == nil && Self.matches($0.hostPatterns, token) }
        if let same = mine.first(where: { $0.blob == blob }) { return .known(line: same.line) }
        if let other = mine.first(where: { $0.keyType == keyType }) ?? mine.first {
            return .changed(line: other.line, recordedType: other.keyType)
        }
        return .unknown
    }

    /// The one line `accept-new` appends (plain, not hashed, like `ssh -o HashKnownHosts=no`).
    static func line(host: String, port: Int, keyType: String, blob: [UInt8]) -> String {
        "\(hostToken(host: host, port: port)) \(keyType) \(Data(blob).base64EncodedString())"
    }

    private static let appendLock = NSLock()

    /// Appends exactly one line, creating the file 0600 (and its folder 0700) when missing.
    /// Serialised within the process and with `flock` against other processes.
    static func append(line: String, toFile path: String) throws {
        appendLock.lock()
        defer { appendLock.unlock() }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        var text = line + "\n"
        let size = lseek(fd, 0, SEEK_END)
        if size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, size - 1) == 1 && last != UInt8(ascii: "\n") { text = "\n" + text }
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        fsync(fd)
    }

    /// `SHA256:` + unpadded base64 of the key blob's SHA-256, as `ssh-keygen -l` prints.
    static func fingerprint(_ blob: [UInt8]) -> String {
        var b64 = Data(Digest.sha256(blob)).base64EncodedString()
        while b64.hasSuffix("=") { b64.removeLast() }
        return "SHA256:" + b64
    }

    /// The key type named inside an SSH public key blob (its first string).
    static func keyType(ofBlob blob: [UInt8]) -> String? {
        guard blob.count >= 4 else { return nil }
        let n = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard n > 0, blob.count >= 4 + n else { return nil }
        return String(decoding: blob[4..<(4 + n)], as: UTF8.self)
    }

    /// Host key algorithms to offer for the recorded key types, OpenSSH's order
    /// for types with nothing recorded.
    static func hostKeyPreference(recordedTypes: [String]) -> String {
        let all = recordedTypes.isEmpty
            ? ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
            : recordedTypes
        return all.flatMap { t in t == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t] }
            .joined(separator: ",")
    }

    // MARK: - Matching

    /// OpenSSH `match_hostname`: any positive pattern matches and no negated one does.
    static func matches(_ patterns: String, _ token: String) -> Bool {
        if patterns.hasPrefix("|1|") { return hashedMatches(patterns, token) }
        var matched = false
        for raw in patterns.split(separator: ",") {
            let negated = raw.hasPrefix("!")
            let pattern = negated ? String(raw.dropFirst()) : String(raw)
            if SSHConfig.glob(pattern, token) {
                if negated { return false }
                matched = true
            }
        }
        return matched
    }

    private static func hashedMatches(_ field: String, _ token: String) -> Bool {
        let parts = field.split(separator: "|", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[0] == "1",
              let salt = Data(base64Encoded: String(parts[1])),
              let hash = Data(base64Encoded: String(parts[2]))
        else { return false }
        return Digest.hmacSHA1(key: [UInt8](salt), message: Array(token.utf8)) == [UInt8](hash)
    }
}

func expandTilde(_ path: String) -> String { PathText.expandingTilde(path) }
