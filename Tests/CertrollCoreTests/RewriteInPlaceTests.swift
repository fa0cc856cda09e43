import CertrollCore
import Foundation
import Testing

/// Found on the sandbox: when the staged copy was missing, `cat -- FROM > TO`
/// emptied the live conf (the shell truncates TO before cat fails), so a
/// failed restore left a node with an empty `/etc/demisto.conf`.
@Suite struct RewriteInPlaceTests {
    func sh(_ command: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func aMissingSourceLeavesTheTargetIntact() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("certroll-rewrite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("demisto.conf")
        try Data(#"{"Server":{"HttpsPort":"443"}}"#.utf8).write(to: conf)
        let missing = dir.appendingPathComponent("demisto.conf.certroll-restore").path
        #expect(try sh(NodeCommands.rewriteInPlace(missing, to: conf.path).shell) != 0)
        #expect(try String(contentsOf: conf, encoding: .utf8) == #"{"Server":{"HttpsPort":"443"}}"#)

        try Data("{}".utf8).write(to: URL(fileURLWithPath: missing))
        #expect(try sh(NodeCommands.rewriteInPlace(missing, to: conf.path).shell) == 0)
        #expect(try String(contentsOf: conf, encoding: .utf8) == "{}")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
