import CertrollCore
import Foundation

/// The preflight checks, named as the journal, events and `--json` name them.
public enum PreflightCheck: String, Sendable, Codable, Equatable, CaseIterable, CustomStringConvertible {
    case connect, privilege, service, owner, group, paths, files
    case currentKey = "current-key"
    case conf
    case freeSpace = "free-space"
    case strayFiles = "stray-files"
    case clock, lock, served
    case servedFromDisk = "served-from-disk"

    /// A failure of this check only stands in the way of changing the cluster's
    /// files: a cluster that already serves the new certificate is not harmed by it.
    public var mattersOnlyWhenClusterChanges: Bool {
        switch self {
        case .currentKey: true
        case .connect, .privilege, .service, .owner, .group, .paths, .files, .conf, .freeSpace, .strayFiles, .clock, .lock, .served, .servedFromDisk: false
        }
    }

    public var description: String { rawValue }
}

/// One verdict of a check on a node; the text follows `node NAME: `.
enum PreflightVerdict: Equatable {
    case pass(String)
    case warn(String)
    /// `fix` is the next action, when there is one.
    case fail(String, fix: String?)
}

/// What the policies look at: the node, what is to be installed, and the facts.
struct PreflightInput: Sendable {
    var node: ClusterNode
    var certificate: CertificateToInstall
    var options: RolloutOptions
    /// The run doing the check: its own lock is not "held by another run".
    var runID: String?
    var facts: GatheredFacts

    var x: XSOARSettings { node.xsoar }

    /// Whether demisto.conf must be edited to point at cert_path/key_path.
    var confNeedsEdit: Bool {
        guard let conf = facts.confData else {
            return x.certPath != XSOARSettings.defaultCertPath || x.keyPath != XSOARSettings.defaultKeyPath
        }
        return (try? DemistoConf.pointing(conf, certPath: x.certPath, keyPath: x.keyPath)) != nil
    }
}

/// A check as a small policy over the gathered facts. A new check is one
/// struct here and one line in `preflightPolicies`.
protocol PreflightPolicy: Sendable {
    var check: PreflightCheck { get }
    /// Zero or more verdicts (one per folder, file or problem found).
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict]
}

/// Every check, in the order findings are reported.
let preflightPolicies: [any PreflightPolicy] = [
    PrivilegePolicy(), ServicePolicy(), AccountPolicy(check: .owner), AccountPolicy(check: .group), FoldersPolicy(),
    FilesPolicy(), CurrentKeyPolicy(), ConfPolicy(), FreeSpacePolicy(), StrayFilesPolicy(), ClockPolicy(), LockPolicy(),
    ServedPolicy(), ServedFromDiskPolicy(),
]

/// Reached here only when commands run as root (the gatherer stops otherwise).
struct PrivilegePolicy: PreflightPolicy {
    let check = PreflightCheck.privilege
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] { [.pass("commands run as root.")] }
}

struct ServicePolicy: PreflightPolicy {
    let check = PreflightCheck.service
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        let service = input.x.service
        return [input.facts.serviceExists ? .pass("service \(service) exists.")
                                          : .fail("no service named \(service)", fix: "set xsoar.service in the inventory.")]
    }
}

/// The file owner (`owner`) or group (`group`) XSOAR's files get.
struct AccountPolicy: PreflightPolicy {
    let check: PreflightCheck
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        let kind = check.rawValue
        let (value, exists) = check == .owner ? (input.x.owner, input.facts.ownerExists) : (input.x.group, input.facts.groupExists)
        return [exists ? .pass("\(kind) \(value) exists.")
                       : .fail("\(kind) \(value) does not exist", fix: "create it or set xsoar.\(kind) in the inventory.")]
    }
}

struct FoldersPolicy: PreflightPolicy {
    let check = PreflightCheck.paths
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        input.facts.missingFolders.map { .fail("folder \($0) does not exist", fix: "create it or fix the paths in the inventory.") }
    }
}

struct FilesPolicy: PreflightPolicy {
    let check = PreflightCheck.files
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        let path = input.x.certPath
        guard input.facts.certData != nil else { return [.warn("\(path) does not exist yet; a rollback will remove the new one.")] }
        return input.facts.diskFingerprint == nil ? [.warn("\(path) holds no certificate.")] : []
    }
}

/// A rollback starts the server on the current key: when that key is encrypted,
/// someone must know a passphrase that opens it.
struct CurrentKeyPolicy: PreflightPolicy {
    let check = PreflightCheck.currentKey
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        guard let key = input.facts.key else { return [] }
        switch key {
        case .unencrypted:
            return [.pass("the current key is not encrypted; a rollback needs no OTC.")]
        case .encryptedOpened:
            let which = input.facts.keyOpenedWith == .newKey ? "the new key's passphrase opens it (a rollback uses it)"
                                                              : "the current passphrase opens it"
            return [.pass("the current key is encrypted and \(which).")]
        case .encryptedLocked:
            let text = "the current key \(input.x.keyPath) is encrypted and no current passphrase that opens it was given, so a rollback could not start the server on it"
            if input.options.acceptManualRollback {
                return [.warn(text + "; --accept-manual-rollback: a rollback will need a person to write its OTC.")]
            }
            return [.fail(text, fix: "give --current-key-passphrase-file, or --accept-manual-rollback.")]
        case .unreadable(let why):
            return [.warn("the current key \(input.x.keyPath) could not be read (\(why)).")]
        }
    }
}

struct ConfPolicy: PreflightPolicy {
    let check = PreflightCheck.conf
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        let x = input.x
        guard let conf = input.facts.confData else {
            return input.confNeedsEdit
                ? [.fail("\(x.confPath) does not exist, but custom cert/key paths must be written into it", fix: "create it or fix xsoar.conf_path.")]
                : []
        }
        do {
            _ = try DemistoConf.pointing(conf, certPath: x.certPath, keyPath: x.keyPath)
            return [.pass("\(x.confPath) parses as JSON.")]
        } catch {
            return [.fail("\(x.confPath) cannot be used: \(error.reason)", fix: "fix the file before the rollout.")]
        }
    }
}

/// Room for the new files and the backups, twice over, plus the margin.
struct FreeSpacePolicy: PreflightPolicy {
    let check = PreflightCheck.freeSpace
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        let sizes = input.certificate.chainPEM.count + input.certificate.keyPEM.count + (input.facts.confData?.count ?? 0)
        let need = UInt64(sizes) * 2 + input.options.freeSpaceMargin
        return input.facts.freeSpace.compactMap { space in
            guard let free = space.bytes else {
                return .fail("could not read free space of \(space.folder) (df: \(space.complaint)).", fix: nil)
            }
            return free < need ? .fail("only \(free) bytes free in \(space.folder), \(need) needed", fix: "free some space.") : nil
        }
    }
}

/// Stray certificate-like files confuse XSOAR (vendor troubleshooting list).
struct StrayFilesPolicy: PreflightPolicy {
    let check = PreflightCheck.strayFiles
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        let stray = input.facts.strayFiles
        guard !stray.isEmpty else { return [] }
        return [.warn("other certificate or key files in \(input.x.certDirectory) may confuse XSOAR: \(stray.joined(separator: ", ")); move them elsewhere.")]
    }
}

struct ClockPolicy: PreflightPolicy {
    let check = PreflightCheck.clock
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        guard case let (nodeNow, controllerNow)? = input.facts.clock else { return [.warn("could not read its clock.")] }
        var verdicts: [PreflightVerdict] = []
        let skew = nodeNow - Int(controllerNow.timeIntervalSince1970)
        if abs(skew) > Int(input.options.clockSkewWarning.components.seconds) {
            verdicts.append(.warn("its clock is \(skew) s off the controller's; fix NTP on the node."))
        }
        let nodeDate = Date(timeIntervalSince1970: TimeInterval(nodeNow))
        if nodeDate < input.certificate.notBefore {
            verdicts.append(.fail("by its clock (\(iso(nodeDate))) the new certificate is not valid until \(iso(input.certificate.notBefore))",
                                  fix: "fix the node's clock or wait."))
        }
        return verdicts
    }

    private func iso(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }
}

struct LockPolicy: PreflightPolicy {
    let check = PreflightCheck.lock
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        guard let lock = input.facts.lockData else { return [.pass("not locked.")] }
        let holder = LockRecord(lockFile: lock)
        if let holder, holder.runID == input.runID || holder.runID == input.options.breakLock {
            return [.pass("lock held by \(holder.holderDescription), which this run may take over.")]
        }
        let who = holder?.holderDescription ?? "an unreadable lock file"
        let id = holder?.runID ?? "RUN_ID"
        return [.fail("locked by \(who)", fix: "wait for it, `certroll resume \(id)` it, or if that controller died use --break-lock \(id).")]
    }
}

struct ServedPolicy: PreflightPolicy {
    let check = PreflightCheck.served
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        guard let why = input.facts.servedProblem else { return [] }
        return [.warn("nothing answered TLS on port \(input.x.httpsPort) (\(why)).")]
    }
}

/// XSOAR reads cert_path only when it starts: a served chain that differs from
/// the file means the file changed since (or XSOAR reads another one), and a
/// rollback restores the file, not what is served now.
struct ServedFromDiskPolicy: PreflightPolicy {
    let check = PreflightCheck.servedFromDisk
    func evaluate(_ input: PreflightInput) -> [PreflightVerdict] {
        guard let served = input.facts.served, !input.facts.diskChain.isEmpty else { return [] }
        let path = input.x.certPath
        let disk = input.facts.diskChain.map { SHA256.hex($0) }
        let chain = served.certificatesDER.map { SHA256.hex($0) }
        if chain == disk { return [.pass("it serves the chain in \(path).")] }
        let differs = "; it changed since XSOAR started, or XSOAR reads another file, and a rollback would restore the file, not what is served now."
        if served.leafFingerprint != disk[0] {
            return [.warn("it serves certificate \(served.leafFingerprint.prefix(16))…, but \(path) holds \(disk[0].prefix(16))…" + differs)]
        }
        return [.warn("it serves a chain of \(chain.count) certificate(s), but \(path) holds \(disk.count)" + differs)]
    }
}
