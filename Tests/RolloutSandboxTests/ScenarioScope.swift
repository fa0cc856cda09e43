import CertrollTestKit
import Foundation
import Testing

/// Brings one two-node sandbox up around the whole suite (and the login user
/// without sudo rights that the sudo-denied scenario needs), and takes both
/// down after it, also when a scenario fails.
struct ScenarioScope: SuiteTrait, TestScoping {
    let name: String
    var isRecursive: Bool { false }

    @TaskLocal static var current: Sandbox?

    /// A host-wide login user with no sudo rule; the sandbox's client key is
    /// authorized for every user (`AuthorizedKeysFile` is the sandbox's).
    static let noSudoUser = "crnosudo"
    /// Its login password, which sudo asks for and then refuses (no sudoers rule).
    static let noSudoPassword = "nosudo-\(UUID().uuidString)"

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard Sandbox.isRoot else { return try await function() }
        let user = Self.noSudoUser
        _ = try await SandboxProcess.run("/bin/sh", ["-c",
            "getent passwd \(user) >/dev/null || useradd --create-home --shell /bin/bash \(user); chpasswd"],
            stdin: Data("\(user):\(Self.noSudoPassword)\n".utf8))
        let sandbox = try await Sandbox.up(nodes: 2, name: name)
        do {
            try await Self.$current.withValue(sandbox) { try await function() }
        } catch {
            try? await sandbox.down()
            _ = try? await SandboxProcess.run("/usr/sbin/userdel", ["--remove", user])
            throw error
        }
        try await sandbox.down()
        _ = try await SandboxProcess.run("/usr/sbin/userdel", ["--remove", user])
    }

    static func sandbox() throws -> Sandbox {
        try #require(current, "no sandbox: the suite needs the ScenarioScope trait")
    }
}

extension Trait where Self == ScenarioScope {
    /// A two-node sandbox named `name` around the suite.
    static func scenarioSandbox(name: String) -> ScenarioScope { ScenarioScope(name: name) }
}
