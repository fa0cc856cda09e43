import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// TCP connect with a timeout: every address `getaddrinfo` returns (IPv6 and
/// IPv4), non-blocking `connect` + `poll`, within one shared deadline.
enum TCPConnect {
    /// A connected, non-blocking socket (TCP_NODELAY, close-on-exec).
    static func open(node: String, host: String, port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let detail = rc == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(rc))
            throw SSHError.resolve(node: node, host: host, detail: detail)
        }
        defer { freeaddrinfo(list) }

        let deadline = ContinuousClock.now + timeout
        var failures: [String] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next {
            next = ai.pointee.ai_next
            let address = numericHost(ai.pointee.ai_addr, ai.pointee.ai_addrlen)
            let fd = socket(ai.pointee.ai_family,
                            ai.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                            ai.pointee.ai_protocol)
            guard fd >= 0 else { failures.append("\(address): \(String(cString: strerror(errno)))"); continue }
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                return configured(fd)
            }
            guard errno == EINPROGRESS else {
                failures.append("\(address): \(String(cString: strerror(errno)))")
                close(fd)
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var ready: Int32 = 0
            repeat {
                let ms = Int32(max(0, min(Double(Int32.max), ((deadline - ContinuousClock.now).seconds * 1000).rounded(.up))))
                ready = poll(&pfd, 1, ms)
            } while ready < 0 && errno == EINTR
            if ready == 0 {
                close(fd)
                throw SSHError.timeout(node: node, step: "connecting to \(host) port \(port) (\(address))", after: timeout)
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if ready > 0 && soError == 0 { return configured(fd) }
            failures.append("\(address): \(String(cString: strerror(soError != 0 ? soError : errno)))")
            close(fd)
        }
        throw SSHError.connect(node: node, reason: "cannot connect to \(host) port \(port): " + failures.joined(separator: "; "))
    }

    private static func configured(_ fd: Int32) -> Int32 {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    private static func numericHost(_ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) -> String {
        var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(addr, len, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST) == 0 else { return "?" }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
