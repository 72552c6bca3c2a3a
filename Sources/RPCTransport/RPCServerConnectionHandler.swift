import Logging
import NIOCore
import RPCCore
import RPCMessages

/// Serves the calls of one connection: decodes each REQUEST, runs its method and writes MESSAGE and STATUS
/// frames back, answering calls in whatever order they finish.
///
/// Inline methods run here on the event loop and their answers are flushed once per read burst; other methods
/// run in tasks bounded by the call's deadline. Framing violations get a STATUS on request id 0, then a close.
final class RPCServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let registry: ServiceRegistry
    private let limits: Limits
    private var logger: Logger
    /// Calls in flight; the value is nil for an inline call (it never outlives channelRead).
    private var inFlight: [UInt32: Task<Void, Never>] = [:]
    private var peer = "unknown"
    private var outbound: ByteBuffer?
    private var closing = false
    private let metrics: RPCMetrics?
    /// When each call in flight started and which method it is, for the metrics.
    private var started: [UInt32: (method: String, at: NIODeadline)] = [:]

    init(registry: ServiceRegistry, limits: Limits, logger: Logger, metrics: RPCMetrics? = nil) {
        self.registry = registry
        self.limits = limits
        self.logger = logger
        self.metrics = metrics
    }

    func channelActive(context: ChannelHandlerContext) {
        self.peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        self.logger[metadataKey: "peer"] = "\(self.peer)"
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive, let address = context.channel.remoteAddress {
            self.peer = "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
            self.logger[metadataKey: "peer"] = "\(self.peer)"
        }
    }

    // MARK: - Inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closing else { return }
        let frame = self.unwrapInboundIn(data)
        switch frame.kind {
        case .request:
            self.startCall(context: context, frame: frame)
        case .cancel:
            self.inFlight.removeValue(forKey: frame.requestID)?.cancel()
        case .message, .status:
            self.protocolViolation(context: context, error: .unexpectedKind(frame.kind))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushOutbound(context: context)
        context.fireChannelReadComplete()
    }

    private func flushOutbound(context: ChannelHandlerContext) {
        guard let buffer = self.outbound, buffer.readableBytes > 0 else { return }
        self.outbound = nil
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func withOutbound(context: ChannelHandlerContext, _ body: (inout ByteBuffer) -> Void) {
        if self.outbound == nil { self.outbound = context.channel.allocator.buffer(capacity: 4_096) }
        body(&self.outbound!)
    }

    private func startCall(context: ChannelHandlerContext, frame: Frame) {
        let id = frame.requestID
        guard id != 0 else {
            self.protocolViolation(context: context, error: .duplicateRequestID(0))
            return
        }
        guard self.inFlight[id] == nil else {
            self.protocolViolation(context: context, error: .duplicateRequestID(id))
            return
        }
        guard self.inFlight.count < self.limits.maxInFlightRequestsPerConnection else {
            self.answer(context: context, id: id, error: RPCError(
                .resourceExhausted,
                "too many requests in flight on this connection (limit \(self.limits.maxInFlightRequestsPerConnection))"
            ))
            return
        }
        let header: RequestHeader
        let body: ByteBuffer
        do {
            (header, body) = try Envelope.parseRequest(frame.payload)
        } catch {
            self.answer(context: context, id: id, error: error)
            return
        }
        guard let method = self.registry.method(named: header.method) else {
            self.answer(context: context, id: id, error: RPCError(.unimplemented, "unknown method '\(header.method)'"))
            return
        }
        let serverContext = self.makeContext(id: id, header: header, method: method.descriptor)
        if let metrics = self.metrics {
            metrics.started()
            self.started[id] = (header.method, .now())
        }
        if let authorize = self.registry.authorizer {
            do {
                try authorize(serverContext)
            } catch {
                self.logger.info("refused \(header.method): \(error)")
                self.answer(context: context, id: id, error: error)
                return
            }
        }
        switch method.handler {
        case .inline(let handler):
            do {
                let response = try body.withUnsafeReadableBytes { try handler($0, serverContext) }
                self.withOutbound(context: context) { Envelope.writeMessage(into: &$0, requestID: id, message: response) }
                self.withOutbound(context: context) { Envelope.writeStatus(into: &$0, requestID: id, status: .ok) }
                self.recordFinished(id: id, code: 0)
            } catch {
                self.answer(context: context, id: id, error: error)
            }
        case .unary(let prepare):
            do {
                let call = try body.withUnsafeReadableBytes { bytes throws(RPCError) in try prepare(bytes, serverContext) }
                self.spawn(context: context, id: id, deadline: serverContext.deadline) { _ in [try await call.run()] }
            } catch {
                self.answer(context: context, id: id, error: error)
            }
        case .serverStreaming(let prepare):
            do {
                let call = try body.withUnsafeReadableBytes { bytes throws(RPCError) in try prepare(bytes, serverContext) }
                self.spawn(context: context, id: id, deadline: serverContext.deadline) { write in
                    try await call.run(write)
                    return []
                }
            } catch {
                self.answer(context: context, id: id, error: error)
            }
        }
    }

    private func makeContext(id: UInt32, header: RequestHeader, method: MethodDescriptor) -> ServerContext {
        var timeout = header.timeoutMilliseconds == 0
            ? self.limits.defaultDeadline : Duration.milliseconds(Int64(clamping: header.timeoutMilliseconds))
        if timeout > self.limits.maxDeadline { timeout = self.limits.maxDeadline }
        var token: String? = nil
        if header.authorization.hasPrefix("Bearer ") { token = String(header.authorization.dropFirst(7)) }
        return ServerContext(
            requestID: id, method: method, bearerToken: token, metadata: header.metadata,
            deadline: .now + timeout, peer: self.peer
        )
    }

    /// Runs a call in a task; `body` returns the messages to send before an OK status (streaming calls write
    /// theirs through the writer as they go and return none).
    private func spawn(
        context: ChannelHandlerContext, id: UInt32, deadline: ContinuousClock.Instant,
        _ body: @escaping @Sendable (_ write: @escaping @Sendable (any RPCMessage) async throws -> Void) async throws -> [any RPCMessage]
    ) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let channel = context.channel
        let logger = self.logger
        let write: @Sendable (any RPCMessage) async throws -> Void = { message in
            var buffer = channel.allocator.buffer(capacity: 256)
            Envelope.writeMessage(into: &buffer, requestID: id, message: message)
            try await channel.writeAndFlush(buffer)
        }
        let finish: @Sendable (Result<[any RPCMessage], any Error>) -> Void = { result in
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.finishCall(context: context, id: id, result: result, logger: logger)
            }
        }
        let task = Task {
            finish(await Result.catching { try await withDeadline(deadline) { try await body(write) } })
        }
        self.inFlight[id] = task
    }

    private func finishCall(
        context: ChannelHandlerContext, id: UInt32, result: Result<[any RPCMessage], any Error>, logger: Logger
    ) {
        guard self.inFlight.removeValue(forKey: id) != nil else {
            self.recordFinished(id: id, code: StatusCode.cancelled.rawValue)
            return  // Cancelled by the client.
        }
        switch result {
        case .success(let messages):
            for message in messages {
                self.withOutbound(context: context) { Envelope.writeMessage(into: &$0, requestID: id, message: message) }
            }
            self.withOutbound(context: context) { Envelope.writeStatus(into: &$0, requestID: id, status: .ok) }
            self.recordFinished(id: id, code: 0)
        case .failure(let error):
            self.answer(context: context, id: id, error: error)
        }
        self.flushOutbound(context: context)
    }

    private func answer(context: ChannelHandlerContext, id: UInt32, error: any Error) {
        let status = Self.status(for: error, id: id, logger: self.logger)
        self.withOutbound(context: context) { Envelope.writeStatus(into: &$0, requestID: id, status: status) }
        self.recordFinished(id: id, code: status.code.rawValue)
    }

    private func recordFinished(id: UInt32, code: UInt32) {
        guard let metrics = self.metrics, let start = self.started.removeValue(forKey: id) else { return }
        metrics.finished(method: start.method, code: code, nanoseconds: (NIODeadline.now() - start.at).nanoseconds)
    }

    /// The status a failed call ends with. Only RPC errors and domain errors that map themselves reach the
    /// client; anything else is logged under the request id and reported as INTERNAL.
    static func status(for error: any Error, id: UInt32, logger: Logger) -> Status {
        switch error {
        case let error as RPCError:
            return Status(code: error.code, message: error.message, metadata: error.metadata)
        case let error as any RPCErrorConvertible:
            let rpc = error.rpcError
            return Status(code: rpc.code, message: rpc.message, metadata: rpc.metadata)
        case is CancellationError:
            return Status(code: .cancelled, message: "call cancelled")
        default:
            logger.error("internal error in request \(id): \(String(reflecting: error))")
            return Status(code: .internalError, message: "internal error (request \(id))")
        }
    }

    // MARK: - Errors and lifecycle

    private func protocolViolation(context: ChannelHandlerContext, error: FramingError) {
        guard !self.closing else { return }
        self.closing = true
        self.logger.warning("closing connection: \(error)")
        let code: StatusCode = switch error {
        case .payloadTooLarge: .resourceExhausted
        case .partialFrameTimeout: .deadlineExceeded
        default: .invalidArgument
        }
        self.withOutbound(context: context) {
            Envelope.writeStatus(into: &$0, requestID: 0, status: Status(code: code, message: error.description))
        }
        self.flushOutbound(context: context)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let framing as FramingError:
            self.protocolViolation(context: context, error: framing)
        case is TLSError:
            context.close(promise: nil)  // The TLS handler logged it and is closing.
        default:
            self.logger.debug("closing connection after error: \(error)")
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, self.inFlight.isEmpty {
            self.logger.debug("closing idle connection")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for task in self.inFlight.values { task.cancel() }
        self.inFlight.removeAll()
        for id in Array(self.started.keys) { self.recordFinished(id: id, code: StatusCode.cancelled.rawValue) }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension RPCServerConnectionHandler: Sendable {}

/// Runs `body`, cancelling it and throwing DEADLINE_EXCEEDED when `deadline` passes first.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: DeadlineOutcome<T>.self) { group in
        group.addTask { .finished(try await body()) }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return .timedOut
        }
        defer { group.cancelAll() }
        switch try await group.next()! {  // Two tasks were added.
        case .finished(let value): return value
        case .timedOut: throw RPCError(.deadlineExceeded, "deadline exceeded")
        }
    }
}

private enum DeadlineOutcome<T: Sendable>: Sendable {
    case finished(T)
    case timedOut
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing body.
    static func catching(_ body: () async throws -> Success) async -> Self {
        do { return .success(try await body()) } catch { return .failure(error) }
    }
}
