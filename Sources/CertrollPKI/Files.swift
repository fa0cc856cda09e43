public import Foundation

/// Reads a whole local file, translating failures to `PKIError.unreadableFile`.
/// Used for every file the toolkit reads so the error names the file.
public func readPKIFile(_ path: String) throws(PKIError) -> Data {
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch let error as CocoaError {
        let why = switch error.code {
        case .fileReadNoSuchFile: "no such file"
        case .fileReadNoPermission: "permission denied"
        default: (error.underlying as? POSIXError).map { "\($0.code)" } ?? "read error"
        }
        throw .unreadableFile(path, why)
    } catch {
        throw .unreadableFile(path, "read error")
    }
}

/// Writes `contents` to `path`, created with `mode` before any byte is written
/// (a key never exists world-readable, not even for an instant). Replaces
/// an existing file atomically (temp file + rename in the same folder).
public func writePKIFile(_ path: String, contents: Data, mode: mode_t) throws(PKIError) {
    let directory = (path as NSString).deletingLastPathComponent
    let temp = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).certroll-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw .writeFailed(path, String(cString: strerror(errno))) }
    var ok = fchmod(fd, mode) == 0
    var failure = ok ? "" : String(cString: strerror(errno))
    contents.withUnsafeBytes { raw in
        var offset = 0
        while ok && offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                ok = false
                failure = String(cString: strerror(errno))
            } else {
                offset += n
            }
        }
    }
    if ok && fsync(fd) != 0 { ok = false; failure = String(cString: strerror(errno)) }
    close(fd)
    if ok && rename(temp, path) != 0 { ok = false; failure = String(cString: strerror(errno)) }
    if !ok {
        unlink(temp)
        throw .writeFailed(path, failure)
    }
}
