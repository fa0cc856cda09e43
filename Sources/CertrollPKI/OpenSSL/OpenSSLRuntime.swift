import COpenSSL

/// Process-wide OpenSSL set-up.
public enum OpenSSLRuntime {
    /// Call first thing in `main`, before any other OpenSSL (or libssh2) call.
    ///
    /// By default OpenSSL frees its global state in an `atexit` handler. certroll
    /// exits while per-node threads (SSH sessions, TLS probes) may still be inside
    /// libcrypto, and that handler then crashed the process (SIGSEGV in
    /// `OPENSSL_cleanup`, seen about once in ten 50-node rollouts). The process is
    /// ending anyway; the kernel reclaims the memory. The first initialisation
    /// decides, so this must run before anything else touches OpenSSL.
    public static func initializeWithoutExitCleanup() {
        let options = UInt64(OPENSSL_INIT_NO_ATEXIT) | UInt64(OPENSSL_INIT_LOAD_CRYPTO_STRINGS)
            | UInt64(OPENSSL_INIT_LOAD_SSL_STRINGS)
        _ = OPENSSL_init_ssl(options, nil)
    }
}
