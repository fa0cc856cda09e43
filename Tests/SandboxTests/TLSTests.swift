import CertrollCore
import CertrollPKI
import Foundation
import Testing

/// The TLS server and probe on loopback, with keys in every form XSOAR
/// accepts or refuses. No root needed.
@Suite struct TLSTests {

    @Test func loadsUnencryptedAndLegacyEncryptedKeys() async throws {
        let pki = try await TestChain.shared()
        let chain = try pki.file("t-chain.pem", pki.chainPEM)
        let plain = try TLSServerIdentity.load(certificateFile: chain, keyFile: try pki.file("t-plain.key", pki.leafKey), keypass: nil)
        #expect(plain.chainLength == 3)
        #expect(!plain.keyWasEncrypted)
        #expect(plain.leafFingerprint == pki.leafFingerprint)
        let legacy = try TLSServerIdentity.load(certificateFile: chain, keyFile: try pki.file("t-legacy.key", pki.legacyEncryptedKey),
                                                keypass: Secret(pki.passphrase))
        #expect(legacy.keyWasEncrypted)
    }

    @Test func refusesWhatXSOARRefuses() async throws {
        let pki = try await TestChain.shared()
        let chain = try pki.file("r-chain.pem", pki.chainPEM)
        let cases: [(Data, Secret?, TLSError.Code)] = [
            (pki.pkcs8EncryptedKey, Secret(pki.passphrase), .keyPKCS8Encrypted),
            (pki.legacyEncryptedKey, Secret("wrong"), .keyPassphraseWrong),
            (pki.legacyEncryptedKey, nil, .keyPassphraseMissing),
            (pki.otherKey, nil, .keyMismatch),
        ]
        for (index, (key, keypass, code)) in cases.enumerated() {
            let keyFile = try pki.file("r-\(index).key", key)
            let error = #expect(throws: TLSError.self) {
                _ = try TLSServerIdentity.load(certificateFile: chain, keyFile: keyFile, keypass: keypass)
            }
            #expect(error?.code == code)
            #expect(error?.file == keyFile)
        }
        let missing = #expect(throws: TLSError.self) {
            _ = try TLSServerIdentity.load(certificateFile: "/nonexistent/cert.pem", keyFile: chain, keypass: nil)
        }
        #expect(missing?.code == .fileUnreadable)
    }

    @Test func probeSeesTheWholeChainServed() async throws {
        let pki = try await TestChain.shared()
        let identity = try TLSServerIdentity.load(certificateFile: try pki.file("p-chain.pem", pki.chainPEM),
                                                  keyFile: try pki.file("p.key", pki.leafKey), keypass: nil)
        let server = try TLSServer(identity: identity, address: "127.0.0.1", port: 0)
        Thread.detachNewThread {
            while let connection = try? server.accept() {
                try? connection.handshake(timeout: .seconds(5))
            }
        }
        let served = try await OpenSSLTLSProbe().probe(host: "127.0.0.1", port: server.port, serverName: "xsoar.sandbox.test",
                                                       timeout: .seconds(5))
        #expect(served.certificatesDER.count == 3)
        #expect(served.leafFingerprint == pki.leafFingerprint)
        #expect(served.negotiatedProtocol == "TLSv1.3")
    }

    @Test func probeNamesTheEndpointWhenNothingListens() async throws {
        let pki = try await TestChain.shared()
        // Bind then close a socket to get a port nothing listens on.
        let identity = try TLSServerIdentity.load(certificateFile: try pki.file("c-chain.pem", pki.chainPEM),
                                                  keyFile: try pki.file("c.key", pki.leafKey), keypass: nil)
        let port = try TLSServer(identity: identity, address: "127.0.0.1", port: 0).port
        let error = await #expect(throws: TLSError.self) {
            _ = try await OpenSSLTLSProbe().probe(host: "127.0.0.1", port: port, serverName: nil, timeout: .seconds(2))
        }
        #expect(error?.code == .connectFailed)
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
    }
}
