/// Metadata keys for swift-log; values never hold a secret.
public enum LogKey {
    public static let runID = "certroll.run"
    public static let cluster = "certroll.cluster"
    public static let node = "certroll.node"
    public static let step = "certroll.step"
}
