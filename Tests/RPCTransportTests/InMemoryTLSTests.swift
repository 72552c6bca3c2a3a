import Logging
import NIOCore
import NIOEmbedded
import RPCTesting
import RPCTransport
import Testing

/// Client and server OpenSSL handlers on two EmbeddedChannels, wired back to back: no sockets at all.
final class BackToBack {
    let client = EmbeddedChannel()
    let server = EmbeddedChannel()
    let clientEvents = EventRecorder()
    let serverEvents = EventRecorder()

    init(clientContext: TLSContext, serverContext: TLSContext, logs: LogCapture = LogCapture()) throws {
        try self.client.pipeline.syncOperations.addHandler(
            OpenSSLHandler(context: clientContext, handshakeTimeout: .seconds(5), logger: logs.logger(label: "client"))
        )
        try self.client.pipeline.syncOperations.addHandler(self.clientEvents)
        try self.server.pipeline.syncOperations.addHandler(
            OpenSSLHandler(context: serverContext, handshakeTimeout: .seconds(5), logger: logs.logger(label: "server"))
        )
        try self.server.pipeline.syncOperations.addHandler(self.serverEvents)
    }

    func connect() throws {
        try self.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try self.client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    }

    /// Moves bytes between the two channels until neither has anything to send.
    func interact() throws {
        var moved = true
        while moved {
            moved = false
            while let bytes = try self.client.readOutbound(as: ByteBuffer.self) {
                moved = true
                if self.server.isActive { try self.server.writeInbound(bytes) }
            }
            while let bytes = try self.server.readOutbound(as: ByteBuffer.self) {
                moved = true
                if self.client.isActive { try self.client.writeInbound(bytes) }
            }
        }
    }
}

/// Records what reaches the top of a pipeline.
final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var received = ByteBuffer()
    var events: [TLSUserEvent] = []
    var errors: [any Error] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        self.received.writeBuffer(&buffer)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent { self.events.append(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { self.errors.append(error) }
}

@Suite("TLS in memory")
struct InMemoryTLSTests {
    @Test("Client and server complete a handshake and exchange data both ways")
    func handshakeAndData() throws {
        let certificates = try TestCertificates()
        let pair = try BackToBack(
            clientContext: try certificates.clientContext(), serverContext: try certificates.serverContext())
        try pair.connect()
        try pair.interact()
        #expect(pair.clientEvents.events.count == 1)
        #expect(pair.serverEvents.events.count == 1)
        if case .handshakeCompleted(let version) = pair.clientEvents.events.first { #expect(version == "TLSv1.3") }

        try pair.client.writeAndFlush(ByteBuffer(string: "hello server")).wait()
        try pair.interact()
        #expect(pair.serverEvents.received == ByteBuffer(string: "hello server"))

        let big = ByteBuffer(bytes: (0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        try pair.server.writeAndFlush(big).wait()
        try pair.interact()
        #expect(pair.clientEvents.received == big)
    }

    @Test("Writes made before the handshake finishes are delivered after it")
    func writesBeforeHandshake() throws {
        let certificates = try TestCertificates()
        let pair = try BackToBack(
            clientContext: try certificates.clientContext(), serverContext: try certificates.serverContext())
        try pair.connect()
        pair.client.writeAndFlush(ByteBuffer(string: "early"), promise: nil)
        try pair.interact()
        #expect(pair.serverEvents.received == ByteBuffer(string: "early"))
    }

    @Test("A client that does not trust the server's CA fails the handshake and both sides close")
    func untrustedCertificate() throws {
        let certificates = try TestCertificates()
        let logs = LogCapture()
        let pair = try BackToBack(
            clientContext: try certificates.untrustingClientContext(), serverContext: try certificates.serverContext(),
            logs: logs
        )
        try pair.connect()
        try pair.interact()
        #expect(!pair.client.isActive)
        #expect(!pair.server.isActive)
        let clientError = pair.clientEvents.errors.first.map { "\($0)" } ?? ""
        #expect(clientError.contains("certificate verify failed"))
        #expect(logs.contains("closing connection"))
    }

    @Test("A client checking for another host name refuses the server")
    func wrongHostName() throws {
        let certificates = try TestCertificates()
        let pair = try BackToBack(
            clientContext: try certificates.clientContext(serverName: "10.9.9.9"),
            serverContext: try certificates.serverContext()
        )
        try pair.connect()
        try pair.interact()
        #expect(!pair.client.isActive)
        #expect(pair.clientEvents.events.isEmpty)
    }

    @Test("Plaintext sent to a TLS server closes the connection cleanly with a log line")
    func plaintextToServer() throws {
        let certificates = try TestCertificates()
        let logs = LogCapture()
        let server = EmbeddedChannel()
        let recorder = EventRecorder()
        try server.pipeline.syncOperations.addHandler(
            OpenSSLHandler(
                context: try certificates.serverContext(), handshakeTimeout: .seconds(5), logger: logs.logger())
        )
        try server.pipeline.syncOperations.addHandler(recorder)
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(!server.isActive)
        #expect(recorder.received.readableBytes == 0)
        #expect(logs.contains("TLS handshake failed"))
    }

    @Test("A handshake that stalls is closed at the handshake timeout")
    func handshakeTimeout() throws {
        let certificates = try TestCertificates()
        let logs = LogCapture()
        let server = EmbeddedChannel()
        try server.pipeline.syncOperations.addHandler(
            OpenSSLHandler(
                context: try certificates.serverContext(), handshakeTimeout: .seconds(2), logger: logs.logger())
        )
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        // Start of a ClientHello, then nothing.
        try server.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x80]))
        #expect(server.isActive)
        server.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!server.isActive)
        #expect(logs.contains("handshake timed out"))
    }
}

@Suite("Mutual TLS in memory")
struct MutualTLSTests {
    static func serverRequiringClients(_ certificates: TestCertificates) throws -> TLSContext {
        try TLSContext(
            configuration: .server(
                certificateChain: .string(certificates.server.certificatePEM),
                privateKey: .string(certificates.server.privateKeyPEM),
                requiringClientCertificatesFrom: .string(certificates.ca.certificatePEM)
            ))
    }

    @Test("A client certificate signed by the configured CA is accepted")
    func acceptedClient() throws {
        let certificates = try TestCertificates()
        let clientCertificate = try CertificateFactory.make(
            commonName: "app", subjectAltName: nil, isCA: false, issuer: certificates.ca)
        let client = try TLSContext(
            configuration: .client(
                trustRoots: .string(certificates.ca.certificatePEM), serverName: "127.0.0.1",
                certificate: (
                    chain: .string(clientCertificate.certificatePEM), key: .string(clientCertificate.privateKeyPEM)
                )
            ))
        let pair = try BackToBack(clientContext: client, serverContext: try Self.serverRequiringClients(certificates))
        try pair.connect()
        try pair.interact()
        try pair.client.writeAndFlush(ByteBuffer(string: "hi")).wait()
        try pair.interact()
        #expect(pair.serverEvents.received == ByteBuffer(string: "hi"))
    }

    @Test("A client without a certificate, or with one from another CA, is refused")
    func refusedClients() throws {
        let certificates = try TestCertificates()
        let stranger = try CertificateFactory.make(
            commonName: "stranger", subjectAltName: nil, isCA: false, issuer: certificates.otherCA)
        let clients = [
            try certificates.clientContext(),
            try TLSContext(
                configuration: .client(
                    trustRoots: .string(certificates.ca.certificatePEM), serverName: "127.0.0.1",
                    certificate: (chain: .string(stranger.certificatePEM), key: .string(stranger.privateKeyPEM))
                )),
        ]
        for client in clients {
            let logs = LogCapture()
            let pair = try BackToBack(
                clientContext: client, serverContext: try Self.serverRequiringClients(certificates), logs: logs)
            try pair.connect()
            try pair.interact()
            // TLS 1.3 finishes the client's side before the server checks the client certificate; the server
            // then refuses, and no application data reaches it.
            try? pair.client.writeAndFlush(ByteBuffer(string: "hi")).wait()
            try pair.interact()
            #expect(!pair.server.isActive)
            #expect(pair.serverEvents.received.readableBytes == 0)
            #expect(logs.contains("closing connection"))
        }
    }
}
