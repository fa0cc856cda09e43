import CertrollTestKit
import Testing

/// Brings a sandbox up once around a whole suite and down after it; tests
/// read it from `SandboxScope.current`. Without root the suite is disabled
/// by its `.enabled(if:)` trait and this scope does nothing.
struct SandboxScope: SuiteTrait, TestScoping {
    let nodes: Int
    let name: String
    var bastions = 0
    var isRecursive: Bool { false }

    @TaskLocal static var current: Sandbox?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard Sandbox.isRoot else { return try await function() }
        let sandbox = try await Sandbox.up(nodes: nodes, name: name, bastions: bastions)
        do {
            try await Self.$current.withValue(sandbox) { try await function() }
        } catch {
            try? await sandbox.down()
            throw error
        }
        try await sandbox.down()
    }

    /// The suite's sandbox; fails the test when the scope did not make one.
    static func sandbox() throws -> Sandbox {
        try #require(current, "no sandbox: the suite needs the SandboxScope trait")
    }
}

extension Trait where Self == SandboxScope {
    /// A sandbox of `nodes` nodes named `name` around the suite.
    static func sandbox(nodes: Int, name: String, bastions: Int = 0) -> SandboxScope {
        SandboxScope(nodes: nodes, name: name, bastions: bastions)
    }
}
