@testable import CertrollCLI
import CertrollTestKit
import Foundation
import Testing

@Suite struct VersionTests {
    /// The package root, when these tests run from a git checkout of it.
    static let checkout: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: root.appendingPathComponent(".git").path) ? root : nil
    }()

    @Test func versionIsTheNumberAndTheCommitOfTheCheckout() throws {
        let result = try Certroll.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stderr == "")
        let line = result.stdout.trimmingCharacters(in: .newlines)
        guard let checkout = Self.checkout else {
            #expect(line == "certroll \(CertrollVersion.number)")
            return
        }
        let match = try #require(line.wholeMatch(of: /certroll (\d+\.\d+\.\d+) \(git ([0-9a-f]{12})(, modified)?\)/),
                                 "not a version with a commit: \(line)")
        #expect(String(match.1) == CertrollVersion.number)
        // The commit it names exists in this repository (HEAD itself may have
        // moved on since the binary was built).
        let git = try SandboxProcess.runBlocking("/usr/bin/git", ["-C", checkout.path, "cat-file", "-e", "\(match.2)^{commit}"])
        #expect(git.exitStatus == 0, "git does not know commit \(match.2)")
    }

    @Test func rootHelpOffersVersion() throws {
        let result = try Certroll.run(["--help"])
        #expect(result.stdout.contains("  --version               Show the version.\n"))
    }
}
