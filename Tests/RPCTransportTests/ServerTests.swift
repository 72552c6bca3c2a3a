import Glibc
import Logging
import NIOCore
import NIOPosix
import RPCCall
import RPCCore
import RPCMessages
import RPCTesting
import RPCTransport
import Synchronization
import Testing

enum TestMethods {
    static let echo = MethodDescriptor(service: "test.Echo", method: "Echo")
    static let sleep = MethodDescriptor(service: "test.Slow", method: "Sleep")
    static let count = MethodDescriptor(service: "test.Stream", method: "Count")
    static let fail = MethodDescriptor(service: "test.Fail", method: "Internal")
    static let gated = MethodDescriptor(service: "test.Gate", method: "Wait")

    /// Calls to `gated` wait here until a test opens it (only the out-of-order test uses it).
    static let gate = Gate()

    struct Boom: Error {}

    /// echo: found = one true per key; sleep: waits intKeys[0] ms and answers with the model name;
    /// count: streams intKeys[0] health responses; fail: throws an error that is not an RPCError.
    static func registry() -> Router {
        var registry = Router(access: { _ in .open })
        registry.inline(echo, limits: WireLimits()) { (request: LookupRequest, _) throws(RPCError) in
            LookupResponse(
                found: request.stringKeys.map { _ in true }, columns: [ColumnValues(name: request.model, type: .string)]
            )
        }
        registry.unary(sleep) { (request: LookupRequest, _) in
            try await Task.sleep(for: .milliseconds(request.intKeys.first ?? 0))
            return LookupResponse(found: [true], columns: [ColumnValues(name: request.model, type: .string)])
        }
        registry.serverStreaming(count) { (request: LookupRequest, _, writer: StreamWriter<HealthCheckResponse>) in
            for index in 0..<(request.intKeys.first ?? 0) {
                try await writer.write(HealthCheckResponse(status: "n\(index)"))
            }
        }
        registry.unary(fail) { (_: LookupRequest, _) -> LookupResponse in throw Boom() }
        registry.unary(gated) { (request: LookupRequest, _) in
            await gate.wait()
            return LookupResponse(found: [true], columns: [ColumnValues(name: request.model, type: .string)])
        }
        return registry
    }
}

/// Holds callers until opened; counts who is waiting.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = self.state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    var waiting: Int { self.state.withLock { $0.waiters.count } }

    func open() {
        let waiters = self.state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A running test server over TLS plus a client context that trusts it.
struct Fixture {
    let certificates: TestCertificates
    let server: TestServer
    let logs: LogCapture

    init(limits: Limits = Limits(), tls: Bool = true) async throws {
        self.certificates = try TestCertificates()
        self.logs = LogCapture()
        self.server = try await TestServer.start(
            router: TestMethods.registry(), limits: limits, tls: tls ? try self.certificates.serverContext() : nil,
            logger: self.logs.logger()
        )
    }

    func client(tls: Bool = true) async throws -> RPCClientConnection {
        try await RPCClientConnection.connect(
            host: "127.0.0.1", port: self.server.port, tls: tls ? try self.certificates.clientContext() : nil,
            group: MultiThreadedEventLoopGroup.singleton
        )
    }

    func raw(tls: Bool = true) async throws -> RawConnection {
        try await RawConnection.connect(port: self.server.port, tls: tls ? try self.certificates.clientContext() : nil)
    }

    /// A whole REQUEST frame for `method` with `message`.
    static func request(id: UInt32, method: String, message: some MessageSerializer) -> ByteBuffer {
        var buffer = ByteBuffer()
        Envelope.writeRequest(into: &buffer, requestID: id, header: RequestHeader(method: method), message: message)
        return buffer
    }

    static func status(of frame: Frame) throws -> Status { try Envelope.decode(Status.self, from: frame.payload) }
}

@Suite("RPC server over loopback")
struct ServerTests {
    @Test("A unary call over TLS returns the handler's response")
    func unaryCall() async throws {
        let fixture = try await Fixture()
        let client = try await fixture.client()
        let response: LookupResponse = try await client.unary(
            TestMethods.echo, LookupRequest(model: "m", stringKeys: ["a", "b"])
        )
        #expect(response.found == [true, true])
        #expect(response.columns.first?.name == "m")
        await client.close()
        await fixture.server.stop()
    }

    @Test("Both ends of a connection disable Nagle (TCP_NODELAY) and leave SO_DEBUG alone")
    func socketOptions() async throws {
        // SO_DEBUG is the SOL_SOCKET option with TCP_NODELAY's number: setting it needs CAP_NET_ADMIN, so a server
        // that set it by mistake closed every connection when it ran as an unprivileged user.
        let fixture = try await Fixture()
        let client = try await fixture.client()
        let _: LookupResponse = try await client.unary(TestMethods.echo, LookupRequest(model: "m", stringKeys: ["a"]))
        let accepted = fixture.server.server.openChannels
        #expect(accepted.count == 1)
        for channel in accepted + [client.channelForTesting] {
            #expect(try await channel.getOption(.tcpOption(.tcp_nodelay)).get() == 1)
            #expect(try await channel.getOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_DEBUG))).get() == 0)
        }
        await client.close()
        await fixture.server.stop()
    }

    @Test("Calls on one connection are answered out of order, as each finishes")
    func outOfOrder() async throws {
        // Deterministic, not timed: the first call is held at a gate on the server until the second, sent
        // after it on the same connection, has been answered.
        let fixture = try await Fixture()
        let client = try await fixture.client()
        let finished = LogCapture()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let _: LookupResponse = try await client.unary(TestMethods.gated, LookupRequest(model: "slow"))
                finished.logger().info("slow")
            }
            while TestMethods.gate.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let fast: LookupResponse = try await client.unary(
                TestMethods.echo, LookupRequest(model: "fast", stringKeys: ["k"]))
            #expect(fast.columns.first?.name == "fast")
            finished.logger().info("fast")
            TestMethods.gate.open()
            try await group.waitForAll()
        }
        #expect(finished.messages == ["info: fast", "info: slow"])
        await client.close()
        await fixture.server.stop()
    }

    @Test("Many concurrent calls on one connection all get their own answers")
    func manyConcurrent() async throws {
        let fixture = try await Fixture()
        let client = try await fixture.client()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let response: LookupResponse = try await client.unary(
                        TestMethods.echo,
                        LookupRequest(model: "m\(index)", stringKeys: Array(repeating: "k", count: index % 7))
                    )
                    #expect(response.columns.first?.name == "m\(index)")
                    #expect(response.found.count == index % 7)
                }
            }
            try await group.waitForAll()
        }
        await client.close()
        await fixture.server.stop()
    }

    @Test("A server-streaming call delivers every message, then ends")
    func streaming() async throws {
        let fixture = try await Fixture()
        let client = try await fixture.client()
        var statuses: [String] = []
        for try await message in client.serverStreaming(
            TestMethods.count, LookupRequest(model: "", intKeys: [3]), as: HealthCheckResponse.self
        ) {
            statuses.append(message.status)
        }
        #expect(statuses == ["n0", "n1", "n2"])
        await client.close()
        await fixture.server.stop()
    }

    @Test("An unknown method gets UNIMPLEMENTED and the connection keeps serving")
    func unknownMethod() async throws {
        let fixture = try await Fixture()
        let client = try await fixture.client()
        let error = await #expect(throws: RPCError.self) {
            let _: LookupResponse = try await client.unary(
                MethodDescriptor(service: "test.Nope", method: "Nope"), LookupRequest(model: "")
            )
        }
        #expect(error?.code == .unimplemented)
        #expect(error?.message == "unknown method 'test.Nope/Nope'")
        let response: LookupResponse = try await client.unary(TestMethods.echo, LookupRequest(model: "still"))
        #expect(response.columns.first?.name == "still")
        await client.close()
        await fixture.server.stop()
    }

    @Test("An undecodable request body gets INVALID_ARGUMENT naming the message type")
    func undecodableProtobuf() async throws {
        let fixture = try await Fixture()
        let raw = try await fixture.raw()
        var frame = ByteBuffer()
        frame.writeFrame(kind: .request, requestID: 9) { payload in
            let header = RequestHeader(method: TestMethods.echo.fullName).serializedBytes()
            payload.writeInteger(UInt32(header.count))
            payload.writeBytes(header)
            payload.writeBytes([0xFF, 0xFF, 0xFF])  // Field 31, wire type 7: not protobuf.
        }
        try await raw.send(frame)
        #expect(try await raw.wait { try $0.frames().count == 1 })
        let reply = try raw.frames()[0]
        #expect(reply.kind == .status && reply.requestID == 9)
        let status = try Fixture.status(of: reply)
        #expect(status.code == .invalidArgument)
        #expect(status.message == "message body is not a valid protobuf encoding (enrich.v1.LookupRequest, byte 0)")
        #expect(!raw.isClosed)
        await raw.close()
        await fixture.server.stop()
    }

    @Test("A handler error that is not an RPCError becomes INTERNAL with the request id")
    func internalError() async throws {
        let fixture = try await Fixture()
        let client = try await fixture.client()
        let error = await #expect(throws: RPCError.self) {
            let _: LookupResponse = try await client.unary(TestMethods.fail, LookupRequest(model: ""))
        }
        #expect(error?.code == .internalError)
        #expect(error?.message.hasPrefix("internal error (request ") == true)
        #expect(fixture.logs.contains("Boom"))
        await client.close()
        await fixture.server.stop()
    }

    @Test("A call past its deadline gets DEADLINE_EXCEEDED")
    func deadline() async throws {
        let fixture = try await Fixture()
        let client = try await fixture.client()
        let error = await #expect(throws: RPCError.self) {
            let _: LookupResponse = try await client.unary(
                TestMethods.sleep, LookupRequest(model: "", intKeys: [5_000]),
                options: CallOptions(timeout: .milliseconds(100))
            )
        }
        #expect(error?.code == .deadlineExceeded)
        await client.close()
        await fixture.server.stop()
    }
}
