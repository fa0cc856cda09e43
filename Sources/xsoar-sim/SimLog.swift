import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The server log (`STATE_DIR/server.log` by default): one timestamped line
/// per event, appended; stderr when the file cannot be opened.
final class SimLog: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private let pid = getpid()

    init(path: String) {
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        fd = opened >= 0 ? opened : 2
        if opened < 0 {
            write("cannot open log file \(path): \(String(cString: strerror(errno))); logging to stderr")
        }
    }

    func write(_ message: String) {
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt,
                                                formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        let line = Array("\(stamp) xsoar-sim[\(pid)]: \(message)\n".utf8)
        lock.lock()
        defer { lock.unlock() }
        _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
