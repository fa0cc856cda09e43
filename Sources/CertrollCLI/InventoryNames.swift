import Foundation
import Yams

/// The names `check -i` needs from an inventory: every cluster `fqdn`
/// (required) and every node `host` (advisory). A minimal reading until the
/// inventory loader in CertrollCore lands; this file is replaced then.
enum InventoryNames {
    static func load(_ path: String) throws(CLIError) -> (required: [String], advisory: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .inventory(path, line: nil, "cannot be read; check the path")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        } catch let error as YamlError {
            throw .inventory(path, line: Self.line(of: error), "is not valid YAML")
        } catch {
            throw .inventory(path, line: nil, "is not valid YAML")
        }
        guard let clusters = root?["clusters"] else { throw .inventory(path, line: nil, "has no clusters") }
        guard let list = clusters.sequence else {
            throw .inventory(path, line: clusters.mark.map { $0.line }, "clusters must be a list")
        }
        var required: [String] = []
        var advisory: [String] = []
        for cluster in list {
            if let fqdn = cluster["fqdn"] {
                if let one = fqdn.string {
                    required.append(one)
                } else if let many = fqdn.sequence {
                    required += many.compactMap(\.string)
                } else {
                    throw .inventory(path, line: fqdn.mark.map { $0.line }, "fqdn must be a name or a list of names")
                }
            }
            for node in cluster["nodes"]?.sequence ?? [] {
                guard let host = node["host"]?.string else {
                    throw .inventory(path, line: node.mark.map { $0.line }, "a node has no host")
                }
                advisory.append(host)
            }
        }
        return (required, advisory)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }
}
