package import RPCTransport

/// Certificates made in memory for a test: a CA, a server certificate it signed for 127.0.0.1, and a second,
/// unrelated CA whose trust should never let a client in.
package struct TestCertificates: Sendable {
    package let ca: CertificateFactory.Issued
    package let server: CertificateFactory.Issued
    package let otherCA: CertificateFactory.Issued

    package init(host: String = "127.0.0.1") throws {
        self.ca = try CertificateFactory.make(commonName: "test CA", subjectAltName: nil, isCA: true, issuer: nil)
        self.server = try CertificateFactory.make(
            commonName: "enrichd test", subjectAltName: host, isCA: false, issuer: self.ca)
        self.otherCA = try CertificateFactory.make(commonName: "other CA", subjectAltName: nil, isCA: true, issuer: nil)
    }

    package func serverContext() throws -> TLSContext {
        try TLSContext(
            configuration: .server(
                certificateChain: .string(self.server.certificatePEM), privateKey: .string(self.server.privateKeyPEM)
            ))
    }

    package func clientContext(serverName: String? = "127.0.0.1") throws -> TLSContext {
        try TLSContext(configuration: .client(trustRoots: .string(self.ca.certificatePEM), serverName: serverName))
    }

    package func untrustingClientContext() throws -> TLSContext {
        try TLSContext(
            configuration: .client(trustRoots: .string(self.otherCA.certificatePEM), serverName: "127.0.0.1"))
    }
}
