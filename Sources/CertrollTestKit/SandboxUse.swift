import Foundation

extension Sandbox {
    /// Brings up `nodes` nodes named `name`, runs `body`, and takes the sandbox
    /// down whether `body` succeeded or threw.
    public static func with(nodes: Int, name: String, clusterSize: Int? = nil,
                            _ body: (Sandbox) async throws -> Void) async throws {
        let sandbox = try await up(nodes: nodes, name: name, clusterSize: clusterSize)
        do {
            try await body(sandbox)
        } catch {
            try? await sandbox.down()
            throw error
        }
        try await sandbox.down()
    }
}
