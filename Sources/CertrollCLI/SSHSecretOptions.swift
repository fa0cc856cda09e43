import ArgumentParser
import CertrollCore
import CertrollSSH
import Foundation

/// What every command that logs in to nodes takes for SSH: the sudo password
/// and the passphrase of an encrypted SSH identity. Never argv.
struct SSHSecretOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "File whose first line is the sudo password (else CERTROLL_BECOME_PASSWORD, else, except in renew, a prompt on a terminal when a node uses 'become: sudo').",
        valueName: "file"))
    var becomePasswordFile: String?

    @Option(help: ArgumentHelp(
        "File whose first line is the passphrase of the SSH identity (else CERTROLL_SSH_KEY_PASSPHRASE, else, except in renew, a prompt on a terminal when the identity is encrypted and no agent is used).",
        valueName: "file"))
    var sshKeyPassphraseFile: String?

    static let becomeEnvironment = "CERTROLL_BECOME_PASSWORD"
    static let sshKeyEnvironment = "CERTROLL_SSH_KEY_PASSPHRASE"

    var becomeSource: SecretSource {
        SecretSource(what: "the sudo password (empty when sudo needs none)", option: "--become-password-file",
                     file: becomePasswordFile, environment: Self.becomeEnvironment, allowsEmptyPrompt: true)
    }

    func sshKeySource(_ file: String) -> SecretSource {
        SecretSource(what: "the passphrase of the SSH identity \(file)", option: "--ssh-key-passphrase-file",
                     file: sshKeyPassphraseFile, environment: Self.sshKeyEnvironment)
    }

    /// The secrets for reaching the nodes of `clusters`, from the files or the
    /// environment; on a terminal the sudo password is asked only when some node
    /// uses `become: sudo` as a non-root user, and the identity's passphrase only
    /// when an identity that will be used is encrypted.
    func secrets(for clusters: [Cluster]) throws(CLIError) -> SSHSecrets {
        let nodes = clusters.flatMap(\.nodes)
        let usesSudo = nodes.contains { $0.ssh.become == .sudo && $0.ssh.user != "root" }
        let become = usesSudo ? try becomeSource.readIfGiven() : try becomeSource.readWithoutPrompt()
        let encrypted = Self.encryptedIdentity(nodes.map(\.ssh), agent: Self.agentAvailable)
        let key = if let encrypted { try sshKeySource(encrypted).readIfGiven() } else { try sshKeySource("").readWithoutPrompt() }
        return SSHSecrets(keyPassphrase: key, becomePassword: become)
    }

    /// The same from the files or the environment only (for commands that never ask).
    func secretsWithoutPrompt() throws(CLIError) -> SSHSecrets {
        SSHSecrets(keyPassphrase: try sshKeySource("").readWithoutPrompt(), becomePassword: try becomeSource.readWithoutPrompt())
    }

    static var agentAvailable: Bool {
        ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"].map { !$0.isEmpty } ?? false
    }

    /// The first encrypted identity file a login would open: an explicit
    /// `identity` (of a node or of one of its jump hosts), or, with no agent to
    /// ask first, the first default key file that exists.
    static func encryptedIdentity(_ settings: [SSHSettings], agent: Bool) -> String? {
        let explicit = settings.flatMap { [$0.identity] + $0.proxyJump.map(\.identity) }
        for identity in explicit {
            if let identity, SSHIdentityFile.isEncrypted(atPath: identity) { return identity }
        }
        let usesDefaults = explicit.contains(nil)
        guard usesDefaults, !agent else { return nil }
        return SSHIdentityFile.firstDefaultFile().flatMap { SSHIdentityFile.isEncrypted(atPath: $0) ? $0 : nil }
    }
}
