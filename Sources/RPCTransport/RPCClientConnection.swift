public import Logging
public import NIOCore
import NIOPosix
public import RPCCore
import RPCMessages
import Synchronization

/// Per-call options a client sends in the request header.
public struct CallOptions: Sendable {
    /// Sent as "Bearer <token>".
    public var token: String?
    /// Relative deadline; nil leaves it to the server's default.
    public var timeout: Duration?
    public var metadata: Metadata

    public init(token: String? = nil, timeout: Duration? = nil, metadata: Metadata = Metadata()) {
        self.token = token
        self.timeout = timeout
        self.metadata = metadata
    }
}

/// One client connection carrying many calls at once, multiplexed by request id and answered in any order.
public final class RPCClientConnection: Sendable {
    private let channel: any Channel
    /// The connection's channel, for tests that check its socket options.
    package var channelForTesting: any Channel { self.channel }
    private let handler: NIOLoopBound<RPCClientHandler>
    private let nextID = Atomic<UInt32>(0)
    private let drainSignal: DrainSignal

    /// Set when the server announced it is going away (docs/PROTOCOL.md, "Draining").
    final class DrainSignal: Sendable {
        let received = Atomic<Bool>(false)
    }

    /// Metadata key on errors the client made itself (the server never answered): "not-sent" for a call that
    /// never left (safe to retry), "lost" for one sent and not answered before the connection closed.
    public static let clientErrorKey = "enrich-client-error"

    /// How long after its deadline a call still waits for the server's answer before giving up locally. The
    /// server answers a write truthfully (committed and OK, or not committed and DEADLINE_EXCEEDED), so the
    /// client lets that answer arrive rather than guessing first.
    public static let deadlineGrace: Duration = .milliseconds(200)

    private init(channel: any Channel, handler: NIOLoopBound<RPCClientHandler>, drainSignal: DrainSignal) {
        self.channel = channel
        self.handler = handler
        self.drainSignal = drainSignal
    }

    /// Connects, and with TLS waits for the handshake to finish.
    /// - Throws: the connect error, or `TLSError` when the handshake fails (an untrusted certificate, say).
    public static func connect(
        host: String, port: Int, tls: TLSContext?, group: any EventLoopGroup,
        maxFramePayloadBytes: Int = ClientLimits().maxResponseFrameBytes,
        connectTimeout: Duration = ClientLimits().connectTimeout,
        logger: Logger = Logger(label: "enrich.client")
    ) async throws -> RPCClientConnection {
        // The handler reports the end of the handshake through `ready`; it is made before connecting so a
        // handshake failure that closes the channel at once is still seen here.
        let ready = group.any().makePromise(of: Void.self)
        let handlerBox = Mutex<NIOLoopBound<RPCClientHandler>?>(nil)
        let drainSignal = DrainSignal()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(
                            OpenSSLHandler(context: tls, handshakeTimeout: connectTimeout, logger: logger))
                    }
                    try sync.addHandler(
                        FramingHandler(
                            maxPayloadBytes: maxFramePayloadBytes, partialFrameTimeout: .seconds(3_600)
                        ))
                    let handler = RPCClientHandler(ready: ready, waitsForTLS: tls != nil, drainSignal: drainSignal)
                    try sync.addHandler(handler)
                    handlerBox.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            ready.fail(error)
            throw error
        }
        // Wait for the handshake, so a bad certificate surfaces here and not on the first call.
        try await ready.futureResult.get()
        guard let bound = handlerBox.withLock({ $0 }) else {
            throw RPCError(.unavailable, "connection closed during setup")
        }
        return RPCClientConnection(channel: channel, handler: bound, drainSignal: drainSignal)
    }

    /// Whether the connection is open and takes new calls: false once closed, or once the server said it is
    /// going away (calls already sent still get their answers).
    public var isActive: Bool { self.channel.isActive && !self.drainSignal.received.load(ordering: .relaxed) }

    /// Whether the server said it is going away.
    public var isDraining: Bool { self.drainSignal.received.load(ordering: .relaxed) }

    private func allocateID() -> UInt32 {
        while true {
            let id = self.nextID.wrappingAdd(1, ordering: .relaxed).newValue
            if id != 0 { return id }  // 0 is reserved for connection-level status frames.
        }
    }

    private func makeRequest(
        id: UInt32, method: MethodDescriptor, request: some MessageSerializer, options: CallOptions
    ) -> ByteBuffer {
        var header = RequestHeader(method: method.fullName, metadata: options.metadata)
        if let token = options.token { header.authorization = "Bearer \(token)" }
        if let timeout = options.timeout {
            let (seconds, attoseconds) = timeout.components
            header.timeoutMilliseconds = UInt64(max(1, seconds * 1_000 + attoseconds / 1_000_000_000_000_000))
        }
        var buffer = self.channel.allocator.buffer(capacity: 256)
        Envelope.writeRequest(into: &buffer, requestID: id, header: header, message: request)
        return buffer
    }

    /// Makes a unary call.
    /// - Throws: `RPCError` with the server's status when it is not OK; `.unavailable` when the connection is
    ///   gone; `.deadlineExceeded` when the timeout passes first; `.cancelled` when the task is cancelled.
    public func unary<Request, Response>(
        _ method: MethodDescriptor, _ request: Request, options: CallOptions = CallOptions(),
        as responseType: Response.Type = Response.self
    ) async throws -> Response where Request: MessageSerializer, Response: MessageDeserializer {
        let id = self.allocateID()
        let frame = self.makeRequest(id: id, method: method, request: request, options: options)
        let promise = self.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let handler = self.handler
        let deadline = options.timeout.map { NIODeadline.now() + TimeAmount($0 + Self.deadlineGrace) }
        self.channel.eventLoop.execute {
            handler.value.start(id: id, call: .unary(promise, message: nil), frame: frame, deadline: deadline)
        }
        let eventLoop = self.channel.eventLoop
        let payload = try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            eventLoop.execute {
                handler.value.abandon(id: id, error: RPCError(.cancelled, "call cancelled by the client"))
            }
        }
        return try Envelope.decode(Response.self, from: payload)
    }

    /// Makes a server-streaming call; the stream ends after the server's OK status or throws its error.
    public func serverStreaming<Request: MessageSerializer, Response: MessageDeserializer>(
        _ method: MethodDescriptor, _ request: Request, options: CallOptions = CallOptions(),
        as responseType: Response.Type = Response.self
    ) -> AsyncThrowingStream<Response, any Error> {
        let id = self.allocateID()
        let frame = self.makeRequest(id: id, method: method, request: request, options: options)
        let (stream, continuation) = AsyncThrowingStream<Response, any Error>.makeStream()
        let sink = RPCClientHandler.StreamSink(
            yield: { payload in
                do { continuation.yield(try Envelope.decode(Response.self, from: payload)) } catch {
                    continuation.finish(throwing: error)
                }
            },
            finish: { error in continuation.finish(throwing: error) }
        )
        let handler = self.handler
        let eventLoop = self.channel.eventLoop
        let deadline = options.timeout.map { NIODeadline.now() + TimeAmount($0 + Self.deadlineGrace) }
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                eventLoop.execute {
                    handler.value.abandon(id: id, error: RPCError(.cancelled, "call cancelled by the client"))
                }
            }
        }
        eventLoop.execute { handler.value.start(id: id, call: .stream(sink), frame: frame, deadline: deadline) }
        return stream
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        try? await self.channel.close()
    }
}

/// The client side of one connection: matches MESSAGE and STATUS frames to the calls waiting for them.
final class RPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// Where a streaming call's messages go; decoding happens in `yield`, typed by the caller.
    struct StreamSink: Sendable {
        let yield: @Sendable (ByteBuffer) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    enum Call {
        case unary(EventLoopPromise<ByteBuffer>, message: ByteBuffer?)
        case stream(StreamSink)
    }

    private var calls: [UInt32: (call: Call, timer: Scheduled<Void>?)] = [:]
    private let readyPromise: EventLoopPromise<Void>
    private var closedError: (any Error)?
    private var context: ChannelHandlerContext?
    private let drainSignal: RPCClientConnection.DrainSignal

    /// `ready` succeeds when calls can be made (after the TLS handshake when `waitsForTLS`), or fails with the
    /// reason the connection closed first. Completing a promise twice is harmless in NIO; only the first counts.
    init(ready: EventLoopPromise<Void>, waitsForTLS: Bool, drainSignal: RPCClientConnection.DrainSignal) {
        self.readyPromise = ready
        self.drainSignal = drainSignal
        if !waitsForTLS { ready.succeed(()) }
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func start(id: UInt32, call: Call, frame: ByteBuffer, deadline: NIODeadline?) {
        guard !self.drainSignal.received.load(ordering: .relaxed) else {
            // Never sent: the caller may retry it on a new connection.
            Self.fail(
                call,
                with: RPCError(
                    .unavailable, "the server is shutting down; this connection takes no new calls",
                    metadata: Metadata([(Self.goAwayKey, "draining")])
                ))
            return
        }
        guard let context = self.context, context.channel.isActive else {
            // The reason the connection closed (a TLS alert such as "certificate required") says more than
            // that it is closed.
            Self.fail(
                call,
                with: self.closedError
                    ?? RPCError(
                        .unavailable, "connection is closed",
                        metadata: Metadata([(RPCClientConnection.clientErrorKey, "not-sent")])
                    ))
            return
        }
        var timer: Scheduled<Void>? = nil
        if let deadline {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(deadline: deadline) {
                bound.value.abandon(id: id, error: RPCError(.deadlineExceeded, "deadline exceeded"))
            }
        }
        self.calls[id] = (call, timer)
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
    }

    /// Gives up on a call (deadline or cancellation) and tells the server with a CANCEL frame.
    func abandon(id: UInt32, error: RPCError) {
        guard let entry = self.calls.removeValue(forKey: id) else { return }
        entry.timer?.cancel()
        Self.fail(entry.call, with: error)
        guard let context = self.context, context.channel.isActive else { return }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerBytes)
        buffer.writeFrame(kind: .cancel, requestID: id, payload: ByteBuffer())
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    private static func fail(_ call: Call, with error: any Error) {
        switch call {
        case .unary(let promise, _): promise.fail(error)
        case .stream(let sink): sink.finish(error)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.kind {
        case .message:
            guard let entry = self.calls[frame.requestID] else { return }  // Abandoned call.
            switch entry.call {
            case .unary(let promise, _):
                self.calls[frame.requestID] = (.unary(promise, message: frame.payload), entry.timer)
            case .stream(let sink): sink.yield(frame.payload)
            }
        case .status:
            let status: Status
            do {
                status = try Envelope.decode(Status.self, from: frame.payload)
            } catch {
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
            if frame.requestID == 0 {
                if status.metadata[Self.goAwayKey] != nil {
                    // The server is draining: calls in flight still get answers; new ones go elsewhere, and the
                    // connection closes once the last answer is in.
                    self.drainSignal.received.store(true, ordering: .relaxed)
                    if self.calls.isEmpty { context.close(promise: nil) }
                    return
                }
                // A connection-level error: every call on this connection fails with it.
                self.closedError = RPCError(status.code, status.message, metadata: status.metadata)
                return
            }
            guard let entry = self.calls.removeValue(forKey: frame.requestID) else { return }
            entry.timer?.cancel()
            if self.calls.isEmpty && self.drainSignal.received.load(ordering: .relaxed) { context.close(promise: nil) }
            guard status.code == .ok else {
                Self.fail(entry.call, with: RPCError(status.code, status.message, metadata: status.metadata))
                return
            }
            switch entry.call {
            case .unary(let promise, let message): promise.succeed(message ?? ByteBuffer())
            case .stream(let sink): sink.finish(nil)
            }
        case .request, .cancel:
            context.fireErrorCaught(FramingError.unexpectedKind(frame.kind))
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { self.readyPromise.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.closedError == nil { self.closedError = error }
        self.readyPromise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Calls sent and not answered: they may or may not have run. A server that drains answers every call, so
        // this is a crash, a network failure, or a server that does not drain.
        let error =
            self.closedError
            ?? RPCError(
                .unavailable, "the connection closed before the server answered",
                metadata: Metadata([(RPCClientConnection.clientErrorKey, "lost")])
            )
        self.readyPromise.fail(error)
        let calls = self.calls
        self.calls.removeAll()
        for entry in calls.values {
            entry.timer?.cancel()
            Self.fail(entry.call, with: error)
        }
        self.context = nil
        context.fireChannelInactive()
    }
}

extension RPCClientHandler {
    /// Metadata key of the drain signal (docs/PROTOCOL.md, "Draining").
    static let goAwayKey = "enrich-goaway"
}

@available(*, unavailable)
extension RPCClientHandler: Sendable {}
