public import Foundation

/// Scratch folders for tests, all under one folder per test process that is
/// removed when the process exits, so test runs leave nothing in /tmp.
public enum Scratch {
    /// `/tmp/certroll-test-PID`, created on first use; removed at exit.
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-test-\(getpid())")
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.root) }
        return url
    }()

    /// A new, empty folder (mode 0700) under the process's scratch root.
    public static func directory(_ label: String = "dir") throws -> URL {
        let url = root.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return url
    }
}

extension Scratch {
    /// `directory(label).path` for places that cannot throw; a test cannot go on without it.
    public static func path(_ label: String) -> String {
        do { return try directory(label).path } catch { fatalError("cannot create a scratch folder under \(root.path): \(error)") }
    }
}
