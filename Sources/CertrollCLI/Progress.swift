import Foundation

/// Shows that slow work is running: a spinner on stderr when it is a
/// terminal, nothing otherwise (scripts and logs stay clean).
enum Progress {
    static func run<T: Sendable, E: Error>(_ label: String, _ work: () async throws(E) -> T) async throws(E) -> T {
        guard Console.stderrIsTerminal else { return try await work() }
        let spinner = Task {
            let frames = ["|", "/", "-", "\\"]
            var index = 0
            while !Task.isCancelled {
                FileHandle.standardError.write(Data("\r\(label) \(frames[index % frames.count])".utf8))
                index += 1
                try? await Task.sleep(for: .milliseconds(120))
            }
        }
        do {
            let result = try await work()
            spinner.cancel()
            await spinner.value
            FileHandle.standardError.write(Data("\r\(label) done\n".utf8))
            return result
        } catch {
            spinner.cancel()
            await spinner.value
            FileHandle.standardError.write(Data("\r\(label) failed\n".utf8))
            throw error
        }
    }
}
