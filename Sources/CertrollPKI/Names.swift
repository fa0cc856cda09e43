/// Parsing subject strings and host names, and matching host names against a
/// certificate per RFC 6125.
public enum Names {
    /// Parses `/C=US/O=Example Inc/OU=IT` into attribute/value pairs, in order.
    /// `\/` escapes a slash inside a value.
    public static func parseSubject(_ subject: String) throws(PKIError) -> [(attribute: String, value: String)] {
        guard subject.hasPrefix("/") else { throw .invalidSubject(subject, "it must start with /") }
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in subject.dropFirst() {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "/" {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        var result: [(String, String)] = []
        for part in parts where !part.isEmpty {
            guard let equals = part.firstIndex(of: "="), equals != part.startIndex else {
                throw .invalidSubject(subject, "'\(part)' is not ATTRIBUTE=value")
            }
            let value = String(part[part.index(after: equals)...])
            guard !value.isEmpty else { throw .invalidSubject(subject, "'\(part)' has no value") }
            result.append((String(part[..<equals]).trimmingSpaces, value))
        }
        guard !result.isEmpty else { throw .invalidSubject(subject, "it names no attribute") }
        return result
    }

    /// Classifies and validates a name for a SAN: an IP literal, or a DNS name
    /// (letters, digits, hyphens; labels of 1–63; an optional `*.` wildcard as
    /// the whole left-most label). Trailing dots are dropped; DNS names are lowercased.
    public static func alternativeName(_ text: String) throws(PKIError) -> SubjectAlternativeName {
        if let ip = IPAddress.canonical(text) { return .ip(ip) }
        var name = text.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty else { throw .invalidName(text, "it is empty") }
        guard name.utf8.count <= 253 else { throw .invalidName(text, "longer than 253 characters") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if label == "*" && index == 0 && labels.count >= 3 { continue }
            if label == "*" { throw .invalidName(text, "a wildcard must be the whole left-most label of a name with at least three labels") }
            guard !label.isEmpty else { throw .invalidName(text, "it has an empty label") }
            guard label.utf8.count <= 63 else { throw .invalidName(text, "label '\(label)' is longer than 63 characters") }
            guard label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw .invalidName(text, "label '\(label)' may hold only letters, digits and hyphens")
            }
            guard !label.hasPrefix("-"), !label.hasSuffix("-") else {
                throw .invalidName(text, "label '\(label)' starts or ends with a hyphen")
            }
        }
        return .dns(name)
    }

    /// True for a host that is a DNS name (not an IP literal, and with at least
    /// one dot: a bare word is an ssh_config alias, not something a browser uses).
    public static func isDNSName(_ host: String) -> Bool {
        IPAddress.canonical(host) == nil && host.contains(".")
    }

    /// True when `certificate` covers `host` per RFC 6125: DNS names against
    /// DNS SANs (the CN only when there is no SAN extension at all), IP
    /// literals against IP SANs only; a wildcard `*` matches exactly one whole
    /// left-most label and never a public suffix-like two-label name.
    public static func covers(_ certificate: Certificate, host: String) -> Bool {
        if let ip = IPAddress.canonical(host) {
            return (certificate.subjectAlternativeNames ?? []).contains { $0 == .ip(ip) }
        }
        let presented: [String]
        if let sans = certificate.subjectAlternativeNames {
            presented = sans.compactMap { if case .dns(let name) = $0 { name } else { nil } }
        } else {
            presented = certificate.subject.commonName.map { [$0] } ?? []
        }
        return presented.contains { matches(pattern: $0, host: host) }
    }

    /// RFC 6125 §6.4: case-insensitive; `*` only as the whole left-most label.
    public static func matches(pattern: String, host: String) -> Bool {
        func normalized(_ s: String) -> String {
            var s = s.lowercased()
            while s.hasSuffix(".") { s.removeLast() }
            return s
        }
        let pattern = normalized(pattern), host = normalized(host)
        guard !pattern.isEmpty, !host.isEmpty else { return false }
        if !pattern.contains("*") { return pattern == host }
        let patternLabels = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let hostLabels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard patternLabels.first == "*", patternLabels.count >= 3,
              !patternLabels.dropFirst().contains(where: { $0.contains("*") || $0.isEmpty }),
              hostLabels.count == patternLabels.count, let first = hostLabels.first, !first.isEmpty
        else { return false }
        return Array(hostLabels.dropFirst()) == Array(patternLabels.dropFirst())
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
