/// What `certroll --version` prints: the package version, and the commit of
/// the checkout it was built from when there was one (`gitCommit` comes from
/// the GitCommit build plugin, generated on every build).
enum CertrollVersion {
    /// The package version. `make deb` reads it from this line to name the
    /// package, so there is one place to change it.
    static let number = "0.1.0"

    /// `certroll 0.1.0 (git 1a2b3c4d5e6f)`, `… (git 1a2b3c4d5e6f, modified)`
    /// when built with uncommitted changes, or `certroll 0.1.0` outside a checkout.
    static var text: String {
        gitCommit.map { "certroll \(number) (git \($0))" } ?? "certroll \(number)"
    }
}
