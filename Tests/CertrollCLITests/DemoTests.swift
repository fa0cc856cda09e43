import CertrollCore
import CertrollTestKit
import Foundation
import Testing

/// `certroll demo` is the newcomer's first command (`make demo`): it must roll
/// a certificate out on a fresh two-node sandbox and leave nothing behind.
@Suite struct DemoTests {
    @Test(.enabled(if: Sandbox.isRoot, "certroll demo needs root (network and mount namespaces); run swift test as root"))
    func demoRollsOutOnBothNodesAndTearsTheSandboxDown() async throws {
        let result = try await Blocking.run { () throws -> Certroll.Result in try Certroll.run(["demo", "--name", "crdmt"]) }
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        // The demo keeps its folder (the run, the test key) and says how to remove it; the test does.
        let removal = try #require(result.stdout.split(separator: "\n").last { $0.contains("rm -r /") }, "\(result.stdout)")
        let work = try #require(removal.components(separatedBy: "rm -r ").last?.split(separator: " ").first.map(String.init))
        #expect(work.contains("certroll-demo-") && FileManager.default.fileExists(atPath: work + "/state"), "\(work)")
        try FileManager.default.removeItem(atPath: work)
        let after = result.stdout.components(separatedBy: "demo: served certificate after:").last ?? ""
        let fingerprints = after.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "sha256"), i + 1 < words.count else { return nil }
            return String(words[i + 1])
        }
        #expect(fingerprints.count == 2 && Set(fingerprints).count == 1, "both nodes serve the new leaf: \(after)")
        #expect(result.stdout.contains("sandbox crdmt is down") || result.stderr.contains("sandbox crdmt is down"))
        let links = try String(contentsOfFile: "/proc/net/dev", encoding: .utf8)
        #expect(!links.contains("crdmt"), "no link of the demo sandbox is left")
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        #expect(!namespaces.contains { $0.hasPrefix("crdmt") }, "no namespace of the demo sandbox is left")
        #expect(!FileManager.default.fileExists(atPath: "/run/certroll-sandbox/crdmt"), "no sandbox folder is left")
    }
}
