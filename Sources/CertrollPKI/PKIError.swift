/// What went wrong reading, writing or checking keys and certificates.
///
/// Equal by `code`; `reason` is a sentence for the user that names the file
/// and the next action. It never contains a secret.
public struct PKIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kinds of failure; scripts and tests match on these.
    public enum Code: String, Sendable, Equatable {
        case unreadableFile
        case emptyFile
        case notPEM
        case truncatedPEM
        case badPEMBody
        case noCertificate
        case noPrivateKey
        case certificateInsteadOfKey
        case keyInsteadOfCertificate
        case requestInsteadOfCertificate
        case passphraseRequired
        case wrongPassphrase
        case invalidKey
        case invalidCertificate
        case unsupportedKey
        case invalidName
        case invalidSubject
        case chainGap
        case unrelatedCertificate
        case severalLeaves
        case writeFailed
        case openSSL
    }

    public let code: Code
    public let reason: String
    /// The file the error is about, when there is one.
    public let file: String?

    public init(_ code: Code, _ reason: String, file: String? = nil) {
        self.code = code
        self.reason = reason
        self.file = file
    }

    public var description: String { reason }

    public static func == (lhs: PKIError, rhs: PKIError) -> Bool { lhs.code == rhs.code }

    // MARK: Factories, one per code.

    public static func unreadableFile(_ file: String, _ why: String) -> PKIError {
        PKIError(.unreadableFile, "\(file): cannot be read (\(why)); check the path and its permissions.", file: file)
    }
    public static func emptyFile(_ file: String) -> PKIError {
        PKIError(.emptyFile, "\(file) is empty; give the PEM file the CA or `certroll csr` produced.", file: file)
    }
    public static func notPEM(_ file: String, looksLikeDER: Bool) -> PKIError {
        let what = looksLikeDER ? "is binary DER, not PEM" : "holds no PEM block (-----BEGIN ...-----)"
        let fix = looksLikeDER
            ? "convert it to PEM first (for example `openssl x509 -inform der -in \(file) -out \(file).pem`, or `openssl pkey -inform der` for a key)"
            : "give the PEM file the CA or `certroll csr` produced"
        return PKIError(.notPEM, "\(file) \(what); \(fix).", file: file)
    }
    public static func truncatedPEM(_ file: String, block: Int, line: Int, label: String) -> PKIError {
        PKIError(
            .truncatedPEM,
            "\(file): PEM block \(block) (\(label), line \(line)) has no END line; the file is truncated, copy it again.",
            file: file)
    }
    public static func badPEMBody(_ file: String, block: Int, line: Int, label: String) -> PKIError {
        PKIError(
            .badPEMBody,
            "\(file): PEM block \(block) (\(label), line \(line)) is not valid base64; the file is damaged, copy it again.",
            file: file)
    }
    public static func noCertificate(_ file: String) -> PKIError {
        PKIError(.noCertificate, "\(file) holds no certificate; give the certificate chain the CA sent.", file: file)
    }
    public static func noPrivateKey(_ file: String) -> PKIError {
        PKIError(.noPrivateKey, "\(file) holds no private key; give the key made with the CSR.", file: file)
    }
    public static func certificateInsteadOfKey(_ file: String) -> PKIError {
        PKIError(
            .certificateInsteadOfKey,
            "\(file) holds a certificate, not a private key; give the key file made with the CSR.", file: file)
    }
    public static func keyInsteadOfCertificate(_ file: String) -> PKIError {
        PKIError(
            .keyInsteadOfCertificate,
            "\(file) holds a private key, not a certificate; give the certificate chain the CA sent.", file: file)
    }
    public static func requestInsteadOfCertificate(_ file: String) -> PKIError {
        PKIError(
            .requestInsteadOfCertificate,
            "\(file) holds a certificate signing request, not a certificate; send it to your CA and check the certificate it returns.",
            file: file)
    }
    public static func passphraseRequired(_ file: String) -> PKIError {
        PKIError(
            .passphraseRequired,
            "\(file) is encrypted and no passphrase was given; use --key-passphrase-file F or CERTROLL_KEY_PASSPHRASE (or run on a terminal to be asked).",
            file: file)
    }
    public static func wrongPassphrase(_ file: String) -> PKIError {
        PKIError(.wrongPassphrase, "\(file): the passphrase does not open this key; give the passphrase it was made with.", file: file)
    }
    public static func invalidKey(_ file: String, _ detail: String) -> PKIError {
        PKIError(.invalidKey, "\(file): the private key cannot be read (\(detail)); copy the file again.", file: file)
    }
    public static func invalidCertificate(_ file: String, block: Int, _ detail: String) -> PKIError {
        PKIError(
            .invalidCertificate,
            "\(file): certificate block \(block) cannot be parsed (\(detail)); copy the file again.", file: file)
    }
    public static func unsupportedKey(_ file: String?, _ detail: String) -> PKIError {
        PKIError(.unsupportedKey, "\(file.map { "\($0): " } ?? "")\(detail); use an RSA or EC (P-256, P-384) key.", file: file)
    }
    public static func invalidName(_ name: String, _ detail: String) -> PKIError {
        PKIError(.invalidName, "'\(name)' is not a valid DNS name or IP address (\(detail)).")
    }
    public static func invalidSubject(_ subject: String, _ detail: String) -> PKIError {
        PKIError(.invalidSubject, "subject '\(subject)': \(detail); write it as /C=US/O=Example/OU=IT.")
    }
    public static func chainGap(_ file: String?, after subject: String, missingIssuer: String) -> PKIError {
        PKIError(
            .chainGap,
            "\(file.map { "\($0): " } ?? "")the chain stops at '\(subject)': its issuer '\(missingIssuer)' is missing; add that CA certificate (your CA publishes it).",
            file: file)
    }
    public static func unrelatedCertificate(_ file: String?, subject: String) -> PKIError {
        PKIError(
            .unrelatedCertificate,
            "\(file.map { "\($0): " } ?? "")certificate '\(subject)' is not part of the leaf's chain; leave it out.",
            file: file)
    }
    public static func severalLeaves(_ file: String?, subjects: [String]) -> PKIError {
        PKIError(
            .severalLeaves,
            "\(file.map { "\($0): " } ?? "")several leaf certificates (\(subjects.map { "'\($0)'" }.joined(separator: ", "))); give one leaf and its CA certificates.",
            file: file)
    }
    public static func writeFailed(_ file: String, _ why: String) -> PKIError {
        PKIError(.writeFailed, "\(file): cannot be written (\(why)); check the folder exists and is writable.", file: file)
    }
    public static func openSSL(_ operation: String, _ detail: String) -> PKIError {
        PKIError(.openSSL, "OpenSSL failed to \(operation) (\(detail)).")
    }
}
