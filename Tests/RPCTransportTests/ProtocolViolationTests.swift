import NIOCore
import NIOPosix
import RPCCore
import RPCMessages
import RPCTesting
import RPCTransport
import Testing

@Suite("Protocol violations and limits")
struct ProtocolViolationTests {
    /// After a violation on one connection, a second connection still gets answers.
    static func expectOthersServed(_ fixture: Fixture) async throws {
        let client = try await fixture.client()
        let response: LookupResponse = try await client.unary(TestMethods.echo, LookupRequest(model: "other"))
        #expect(response.columns.first?.name == "other")
        await client.close()
    }

    @Test("An oversized frame is refused from its header with RESOURCE_EXHAUSTED, then the connection closes")
    func oversizedFrame() async throws {
        var limits = Limits()
        limits.maxFramePayloadBytes = 1_024
        let fixture = try await Fixture(limits: limits)
        let raw = try await fixture.raw()
        var header = ByteBuffer()
        header.writeInteger(UInt32(1_025))
        header.writeInteger(Frame.Kind.request.rawValue)
        header.writeInteger(UInt32(1))
        try await raw.send(header)  // Only the header: the server must not wait for 1025 bytes.
        #expect(await raw.wait { $0.isClosed })
        let frames = try raw.frames()
        #expect(frames.count == 1)
        #expect(frames.first?.requestID == 0)
        let status = try Fixture.status(of: frames[0])
        #expect(status.code == .resourceExhausted)
        #expect(status.message == "protocol error: frame payload of 1025 bytes exceeds the limit of 1024 bytes")
        #expect(fixture.logs.contains("exceeds the limit"))
        try await Self.expectOthersServed(fixture)
        await fixture.server.stop()
    }

    @Test("A frame of exactly the payload limit is accepted")
    func frameAtLimit() async throws {
        var limits = Limits()
        limits.maxFramePayloadBytes = 1_024
        let fixture = try await Fixture(limits: limits)
        let raw = try await fixture.raw()
        // Pad the model name until the payload is exactly 1024 bytes.
        let frame = try #require(
            (900..<1_024).lazy.map { length in
                Fixture.request(
                    id: 1, method: TestMethods.echo.fullName,
                    message: LookupRequest(model: String(repeating: "x", count: length)))
            }.first { $0.readableBytes - Frame.headerBytes == 1_024 })
        try await raw.send(frame)
        #expect(try await raw.wait { try $0.frames().count == 2 })
        #expect(try Fixture.status(of: raw.frames()[1]).code == .ok)
        await raw.close()
        await fixture.server.stop()
    }

    @Test("An unknown frame kind gets INVALID_ARGUMENT on request 0 and a close")
    func unknownFrameKind() async throws {
        let fixture = try await Fixture()
        let raw = try await fixture.raw()
        var frame = ByteBuffer()
        frame.writeInteger(UInt32(0))
        frame.writeInteger(UInt8(77))
        frame.writeInteger(UInt32(5))
        try await raw.send(frame)
        #expect(await raw.wait { $0.isClosed })
        let status = try Fixture.status(of: raw.frames()[0])
        #expect(status.code == .invalidArgument)
        #expect(status.message == "protocol error: unknown frame kind 77")
        try await Self.expectOthersServed(fixture)
        await fixture.server.stop()
    }

    @Test("A client sending a STATUS frame violates the protocol and is closed")
    func unexpectedKind() async throws {
        let fixture = try await Fixture()
        let raw = try await fixture.raw()
        var frame = ByteBuffer()
        Envelope.writeStatus(into: &frame, requestID: 1, status: .ok)
        try await raw.send(frame)
        #expect(await raw.wait { $0.isClosed })
        #expect(try Fixture.status(of: raw.frames()[0]).message.contains("is not accepted"))
        await fixture.server.stop()
    }

    @Test("Reusing the id of a call in flight closes the connection")
    func duplicateRequestID() async throws {
        let fixture = try await Fixture()
        let raw = try await fixture.raw()
        let slow = Fixture.request(
            id: 3, method: TestMethods.sleep.fullName, message: LookupRequest(model: "", intKeys: [2_000]))
        try await raw.send(slow)
        try await raw.send(slow)
        #expect(await raw.wait { $0.isClosed })
        #expect(try Fixture.status(of: raw.frames()[0]).message == "protocol error: request id 3 is already in flight")
        await fixture.server.stop()
    }

    @Test("A connection that sends half a frame and stalls is closed; others keep being served")
    func halfFrameStall() async throws {
        var limits = Limits()
        limits.partialFrameTimeout = .seconds(1)
        let fixture = try await Fixture(limits: limits)
        let raw = try await fixture.raw()
        let frame = Fixture.request(id: 1, method: TestMethods.echo.fullName, message: LookupRequest(model: "x"))
        try await raw.send(frame.getSlice(at: 0, length: 12)!)
        try await Self.expectOthersServed(fixture)
        #expect(await raw.wait { $0.isClosed })
        let status = try Fixture.status(of: raw.frames()[0])
        #expect(status.code == .deadlineExceeded)
        #expect(status.message == "protocol error: incomplete frame (12 bytes) timed out")
        await fixture.server.stop()
    }

    @Test("In-flight calls are limited per connection: N are served, call N+1 gets RESOURCE_EXHAUSTED")
    func inFlightLimit() async throws {
        var limits = Limits()
        limits.maxInFlightRequestsPerConnection = 2
        let fixture = try await Fixture(limits: limits)
        let raw = try await fixture.raw()
        for id in UInt32(1)...3 {
            try await raw.send(
                Fixture.request(
                    id: id, method: TestMethods.sleep.fullName, message: LookupRequest(model: "", intKeys: [1_500])))
        }
        // 1 refusal + 2 x (message + status).
        #expect(try await raw.wait(timeout: .seconds(15)) { try $0.frames().count == 5 })
        let frames = try raw.frames()
        let refused = frames.first { $0.requestID == 3 }
        #expect(try refused.map(Fixture.status(of:))?.code == .resourceExhausted)
        #expect(
            try frames.filter { $0.kind == .status && $0.requestID != 3 }.map { try Fixture.status(of: $0).code } == [
                .ok, .ok,
            ])
        await raw.close()
        await fixture.server.stop()
    }

    @Test("Connections are limited: N are served, connection N+1 is closed at once")
    func connectionLimit() async throws {
        var limits = Limits()
        limits.maxConnections = 2
        let fixture = try await Fixture(limits: limits)
        let first = try await fixture.client()
        let second = try await fixture.client()
        await #expect(throws: (any Error).self) { _ = try await fixture.client() }
        let response: LookupResponse = try await second.unary(TestMethods.echo, LookupRequest(model: "ok"))
        #expect(response.columns.first?.name == "ok")
        #expect(fixture.logs.contains("refusing connection"))
        await first.close()
        await second.close()
        await fixture.server.stop()
    }

    @Test("A plaintext client on the TLS port is closed cleanly and the server logs why")
    func plaintextClientOnTLSPort() async throws {
        let fixture = try await Fixture()
        let raw = try await fixture.raw(tls: false)
        try await raw.send(Fixture.request(id: 1, method: TestMethods.echo.fullName, message: LookupRequest(model: "")))
        #expect(await raw.wait { $0.isClosed })
        #expect(await Self.eventually { fixture.logs.contains("TLS handshake failed") })
        try await Self.expectOthersServed(fixture)
        await fixture.server.stop()
    }

    @Test("A TLS client that does not trust the certificate fails to connect; the server logs and keeps serving")
    func untrustedClient() async throws {
        let fixture = try await Fixture()
        let error = await #expect(throws: TLSError.self) {
            _ = try await RPCClientConnection.connect(
                host: "127.0.0.1", port: fixture.server.port, tls: try fixture.certificates.untrustingClientContext(),
                group: MultiThreadedEventLoopGroup.singleton
            )
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("certificate verify failed"))
        #expect(await Self.eventually { fixture.logs.contains("closing connection") })
        try await Self.expectOthersServed(fixture)
        await fixture.server.stop()
    }

    @Test("A truncated handshake is closed at the handshake timeout with a log line")
    func truncatedHandshake() async throws {
        var limits = Limits()
        limits.handshakeTimeout = .seconds(2)  // long enough for the other client's handshake on a loaded machine
        let fixture = try await Fixture(limits: limits)
        let raw = try await fixture.raw(tls: false)
        // A ClientHello record header, then silence. On a loaded machine the timeout may already have closed the
        // connection before this write, which is the same outcome.
        try? await raw.send([0x16, 0x03, 0x01, 0x01, 0x00, 0x01])
        #expect(await raw.wait { $0.isClosed })
        #expect(fixture.logs.contains("handshake timed out"))
        try await Self.expectOthersServed(fixture)
        await fixture.server.stop()
    }

    @Test("A handshake cut off by the client is logged and does not disturb the server")
    func handshakeCutOff() async throws {
        let fixture = try await Fixture()
        let raw = try await fixture.raw(tls: false)
        try await raw.send([0x16, 0x03, 0x01, 0x01, 0x00, 0x01])
        await raw.close()
        #expect(await Self.eventually { fixture.logs.contains("closed during the handshake") })
        try await Self.expectOthersServed(fixture)
        await fixture.server.stop()
    }

    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
