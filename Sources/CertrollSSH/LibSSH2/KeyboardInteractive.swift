import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The password handed to the keyboard-interactive callback through the session's abstract pointer.
final class PasswordBox {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// libssh2 frees each response with free(), so responses are malloc'd copies.
let kbdintRespond: @convention(c) (
    UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, Int32, Int32,
    UnsafePointer<LIBSSH2_USERAUTH_KBDINT_PROMPT>?, UnsafeMutablePointer<LIBSSH2_USERAUTH_KBDINT_RESPONSE>?,
    UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Void = { _, _, _, _, count, prompts, responses, abstract in
    guard let responses, let prompts, let raw = abstract?.pointee else { return }
    let box = Unmanaged<PasswordBox>.fromOpaque(raw).takeUnretainedValue()
    for i in 0..<Int(max(0, count)) {
        let answer: [UInt8] = prompts[i].echo == 0 ? box.bytes : []
        guard let text = malloc(max(1, answer.count))?.assumingMemoryBound(to: CChar.self) else { continue }
        answer.withUnsafeBytes { UnsafeMutableRawPointer(text).copyMemory(from: $0.baseAddress!, byteCount: answer.count) }
        responses[i].text = text
        responses[i].length = UInt32(answer.count)
    }
}
