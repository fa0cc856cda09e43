public import Foundation

/// The XSOAR server config (`/etc/demisto.conf`, JSON) as far as certroll edits it.
public enum DemistoConf {
    /// Why a conf could not be used.
    public struct ParseError: Error, Sendable, Equatable {
        public var reason: String
    }

    /// The parsed top-level object.
    public static func parse(_ data: Data) throws(ParseError) -> [String: Any] {
        do {
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ParseError(reason: "it is JSON but not an object")
            }
            return obj
        } catch let e as ParseError {
            throw e
        } catch {
            throw ParseError(reason: "it is not valid JSON (\(error.localizedDescription))")
        }
    }

    /// The certificate and key paths the server will load, given its conf.
    public static func configuredPaths(_ conf: [String: Any]) -> (cert: String, key: String) {
        let security = conf["Security"] as? [String: Any]
        return (security?["CertFile"] as? String ?? XSOARSettings.defaultCertPath,
                security?["KeyFile"] as? String ?? XSOARSettings.defaultKeyPath)
    }

    /// The conf with `Security.CertFile`/`Security.KeyFile` set to the given paths,
    /// every other key kept; nil when the server already loads those paths.
    public static func pointing(_ data: Data, certPath: String, keyPath: String) throws(ParseError) -> Data? {
        var conf = try parse(data)
        let current = configuredPaths(conf)
        guard current.cert != certPath || current.key != keyPath else { return nil }
        var security = conf["Security"] as? [String: Any] ?? [:]
        security["CertFile"] = certPath
        security["KeyFile"] = keyPath
        conf["Security"] = security
        do {
            var out = try JSONSerialization.data(withJSONObject: conf, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            out.append(0x0A)
            return out
        } catch {
            throw ParseError(reason: "it could not be written back (\(error.localizedDescription))")
        }
    }
}

/// The one-time-configuration file XSOAR reads (and deletes) at start.
public enum OTCFile {
    /// `{"keypass":"…"}` with the passphrase JSON-escaped.
    public static func content(keyPassphrase: Secret) -> Secret {
        var out: [UInt8] = Array(#"{"keypass":""#.utf8)
        for scalar in keyPassphrase.utf8String.unicodeScalars {
            switch scalar {
            case "\"": out += Array(#"\""#.utf8)
            case "\\": out += Array(#"\\"#.utf8)
            case "\n": out += Array(#"\n"#.utf8)
            case "\r": out += Array(#"\r"#.utf8)
            case "\t": out += Array(#"\t"#.utf8)
            case _ where scalar.value < 0x20:
                out += Array(String(format: "\\u%04x", scalar.value).utf8)
            default:
                out += Array(String(scalar).utf8)
            }
        }
        out += Array(#""}"#.utf8)
        return Secret(bytes: out)
    }
}
