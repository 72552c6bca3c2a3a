public import RPCTransport

/// Certificates made in memory for a test: a CA, a server certificate it signed for 127.0.0.1, and a second,
/// unrelated CA whose trust should never let a client in.
public struct TestCertificates: Sendable {
    public let ca: CertificateFactory.Issued
    public let server: CertificateFactory.Issued
    public let otherCA: CertificateFactory.Issued

    public init(host: String = "127.0.0.1") throws {
        self.ca = try CertificateFactory.make(commonName: "test CA", subjectAltName: nil, isCA: true, issuer: nil)
        self.server = try CertificateFactory.make(commonName: "enrichd test", subjectAltName: host, isCA: false, issuer: self.ca)
        self.otherCA = try CertificateFactory.make(commonName: "other CA", subjectAltName: nil, isCA: true, issuer: nil)
    }

    public func serverContext() throws -> TLSContext {
        try TLSContext(configuration: .server(
            certificateChain: .string(self.server.certificatePEM), privateKey: .string(self.server.privateKeyPEM)
        ))
    }

    public func clientContext(serverName: String? = "127.0.0.1") throws -> TLSContext {
        try TLSContext(configuration: .client(trustRoots: .string(self.ca.certificatePEM), serverName: serverName))
    }

    public func untrustingClientContext() throws -> TLSContext {
        try TLSContext(configuration: .client(trustRoots: .string(self.otherCA.certificatePEM), serverName: "127.0.0.1"))
    }
}
