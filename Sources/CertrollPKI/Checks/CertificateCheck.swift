public import CertrollCore
public import Foundation

/// The outcome of one check.
public enum CheckVerdict: Sendable, Equatable {
    /// Fine; the text says what was found.
    case pass(String)
    /// Works, but deserves attention; nothing will break today.
    case warn(String)
    /// XSOAR or its clients would fail; `fix` is the next action.
    case fail(String, fix: String?)
    /// Could not be evaluated because an earlier input failed to load.
    case skipped(String)

    public var isFailure: Bool { if case .fail = self { true } else { false } }
    public var isWarning: Bool { if case .warn = self { true } else { false } }
}

/// One evaluated check.
public struct CheckResult: Sendable {
    public let id: String
    public let title: String
    public let verdict: CheckVerdict
}

/// What to check: local files, optional passphrase, names, and the time.
public struct CheckInput: Sendable {
    public var certificateFile: String
    public var keyFile: String
    public var passphrase: Secret?
    /// Names that must be covered (cluster FQDNs): FAIL when not.
    public var requiredNames: [String]
    /// Names that should be covered (node host names): WARN when not. Names
    /// that are not DNS names (IP literals, bare ssh aliases) are skipped.
    public var advisoryNames: [String]
    public var now: Date
    /// Days before notAfter at which the dates check warns.
    public var warnDays: Int

    public init(
        certificateFile: String, keyFile: String, passphrase: Secret? = nil, requiredNames: [String] = [],
        advisoryNames: [String] = [], now: Date, warnDays: Int = 30
    ) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.passphrase = passphrase
        self.requiredNames = requiredNames
        self.advisoryNames = advisoryNames
        self.now = now
        self.warnDays = warnDays
    }
}

/// Everything the policies look at, loaded once from the input.
public struct CheckMaterial: Sendable {
    public let input: CheckInput
    /// The certificates in file order, or why the file could not be read.
    public let certificates: Result<[Certificate], PKIError>
    /// Non-certificate PEM blocks found in the certificate file.
    public let otherBlocks: [PEMBlock]
    /// nil when the certificate file did not load.
    public let chain: Chain?
    public let keyFile: Result<KeyFile, PKIError>
    /// nil when the key file did not load.
    public let key: Result<PrivateKey, PKIError>?
    /// Permission bits of the key file.
    public let keyFileMode: UInt32?

    /// Reads the files named in `input`. Blocking (file I/O, decryption).
    public init(loading input: CheckInput) {
        self.input = input
        var others: [PEMBlock] = []
        do throws(PKIError) {
            let bundle = try Certificate.bundle(from: try readPKIFile(input.certificateFile), file: input.certificateFile)
            certificates = .success(bundle.certificates)
            others = bundle.others
        } catch {
            certificates = .failure(error)
        }
        otherBlocks = others
        chain = (try? certificates.get()).map { Chain(arranging: $0) }
        do throws(PKIError) {
            keyFile = .success(try KeyFile(contentsOf: input.keyFile))
        } catch {
            keyFile = .failure(error)
        }
        if case .success(let file) = keyFile {
            do throws(PKIError) {
                key = .success(try file.open(passphrase: input.passphrase))
            } catch {
                key = .failure(error)
            }
        } else {
            key = nil
        }
        var info = stat()
        keyFileMode = stat(input.keyFile, &info) == 0 ? UInt32(info.st_mode) & 0o777 : nil
    }
}

/// One local check as a policy: looks at the material, returns a verdict.
public protocol CertificatePolicy: Sendable {
    /// Stable identifier for scripts (`order`, `names`, …).
    var id: String { get }
    /// What the check is about, as printed before the verdict.
    var title: String { get }
    func evaluate(_ material: CheckMaterial) -> CheckVerdict
}

/// The results of every policy, with the loaded chain and key for callers
/// (plan/apply use the ordered chain and its fingerprint).
public struct CheckReport: Sendable {
    public let results: [CheckResult]
    public let material: CheckMaterial

    public var hasFailures: Bool { results.contains { $0.verdict.isFailure } }
    public var failures: [CheckResult] { results.filter { $0.verdict.isFailure } }
    public var warnings: [CheckResult] { results.filter { $0.verdict.isWarning } }
    /// The chain in XSOAR's order, when the certificate file loaded.
    public var chain: Chain? { material.chain }
    /// SHA-256 of the leaf, lowercase hex.
    public var leafFingerprint: String? { material.chain?.leaf.fingerprintSHA256 }
}

/// The local checks of `certroll check` (and the first step of plan/apply):
/// a list of policies run in order over the same material.
public struct CertificateCheck: Sendable {
    public var policies: [any CertificatePolicy]

    public init(policies: [any CertificatePolicy] = CertificateCheck.standardPolicies) {
        self.policies = policies
    }

    /// Every local check, in the order they are printed.
    public static let standardPolicies: [any CertificatePolicy] = [
        CertificateFilePolicy(), ChainOrderPolicy(), ChainCompletePolicy(), ChainSignaturesPolicy(),
        ValidityPolicy(), KeyFormatPolicy(), PassphrasePolicy(), KeyProtectionPolicy(), KeyMatchesLeafPolicy(),
        NameCoveragePolicy(), TLSServerUsagePolicy(),
    ]

    /// Loads the files and evaluates every policy. Blocking: use `run(_:)` async
    /// from async code.
    public func runBlocking(_ input: CheckInput) -> CheckReport {
        let material = CheckMaterial(loading: input)
        return CheckReport(
            results: policies.map { CheckResult(id: $0.id, title: $0.title, verdict: $0.evaluate(material)) },
            material: material)
    }

    /// Same as `runBlocking`, on a dedicated thread (never the cooperative pool).
    public func run(_ input: CheckInput) async -> CheckReport {
        let check = self
        return await Blocking.run("certroll.check") { () -> CheckReport in check.runBlocking(input) }
    }
}
