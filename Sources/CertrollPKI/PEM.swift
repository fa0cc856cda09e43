public import Foundation

/// One `-----BEGIN label-----` … `-----END label-----` block of a PEM file.
public struct PEMBlock: Sendable, Equatable {
    /// The word(s) after BEGIN, e.g. `CERTIFICATE`, `RSA PRIVATE KEY`.
    public var label: String
    /// RFC 1421 headers such as `Proc-Type` and `DEK-Info` (legacy encrypted keys).
    public var headers: [String: String]
    /// The decoded body (DER, or ciphertext for a legacy encrypted key).
    public var der: Data
    /// The block exactly as written, BEGIN through END, newline-terminated.
    public var text: String
    /// 1-based position among the blocks of its file.
    public var index: Int
    /// 1-based line of the BEGIN line.
    public var line: Int
}

/// Splits PEM text into blocks. Text outside blocks (the "Bag Attributes" and
/// "subject=" lines some tools add, e-mail text) is ignored.
public enum PEM {
    /// Parses `data` read from `file` (the name is used in errors only).
    /// Throws for an empty file, a file with no PEM block (DER or other),
    /// a block without its END line, or a body that is not base64.
    public static func blocks(in data: Data, file: String) throws(PKIError) -> [PEMBlock] {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw .emptyFile(file)
        }
        let text = String(decoding: data, as: UTF8.self)
        var blocks: [PEMBlock] = []
        var open: (label: String, line: Int, lines: [String])?
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let label = marker("BEGIN", trimmed) {
                if let current = open {
                    throw .truncatedPEM(file, block: blocks.count + 1, line: current.line, label: current.label)
                }
                open = (label, lineNumber, [trimmed])
            } else if let label = marker("END", trimmed), let current = open {
                guard label == current.label else {
                    throw .truncatedPEM(file, block: blocks.count + 1, line: current.line, label: current.label)
                }
                blocks.append(
                    try block(current.label, lines: current.lines + [trimmed], index: blocks.count + 1,
                              line: current.line, file: file))
                open = nil
            } else if open != nil {
                open!.lines.append(trimmed)
            }
        }
        if let current = open {
            throw .truncatedPEM(file, block: blocks.count + 1, line: current.line, label: current.label)
        }
        if blocks.isEmpty {
            let binary = data.contains { $0 < 0x09 || $0 >= 0x80 }
            throw .notPEM(file, looksLikeDER: data.first == 0x30 && binary)
        }
        return blocks
    }

    /// `-----BEGIN X-----` → `X` for kind "BEGIN".
    private static func marker(_ kind: String, _ line: String) -> String? {
        let prefix = "-----\(kind) ", suffix = "-----"
        guard line.hasPrefix(prefix), line.hasSuffix(suffix), line.count > prefix.count + suffix.count else { return nil }
        return String(line.dropFirst(prefix.count).dropLast(suffix.count))
    }

    private static func block(
        _ label: String, lines: [String], index: Int, line: Int, file: String
    ) throws(PKIError) -> PEMBlock {
        var headers: [String: String] = [:]
        var body = ""
        var inHeaders = true
        for content in lines.dropFirst().dropLast() {
            if inHeaders, let colon = content.firstIndex(of: ":") {
                headers[String(content[..<colon])] = content[content.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
                continue
            }
            inHeaders = false
            body += content
        }
        guard !body.isEmpty, let der = Data(base64Encoded: body) else {
            throw .badPEMBody(file, block: index, line: line, label: label)
        }
        return PEMBlock(
            label: label, headers: headers, der: der, text: lines.joined(separator: "\n") + "\n",
            index: index, line: line)
    }

    /// Encodes DER as a PEM block with 64-character lines.
    public static func encode(_ der: Data, label: String) -> String {
        let base64 = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }
}
