import DequeModule
import Logging
import NIOCore
import RPCCall
import RPCCore
import RPCMessages

/// The server end of one connection: splits the (decrypted) byte stream into frames, hands each to the call
/// layer (`ServerConnection`), and writes what the call layer answers. It frames and moves bytes; everything a
/// call means is decided above it.
///
/// Two things happen here because only the framing sees them: a connection that stalls on half a frame is
/// closed after `partialFrameTimeout`; and the header of a large REQUEST is checked as soon as it arrives, before
/// the rest of the frame is buffered, so a client without a valid token cannot make the server take in (and
/// decrypt) megabytes first. Reading stops while the call layer says so (backpressure): pending `read`s are held
/// and frames already buffered wait.
final class RPCServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline to start a drain (`ServerConnection.drain`) or to end one (`terminate`).
    enum LifecycleEvent {
        case drain
        case terminate
    }

    private let shared: ServerConnection<RPCServerConnectionHandler, ByteBuffer>.Shared
    private var connection: ServerConnection<RPCServerConnectionHandler, ByteBuffer>?
    private var context: ChannelHandlerContext?
    private let decoder: FrameDecoder
    private let partialFrameTimeout: TimeAmount
    private var buffer: ByteBuffer?
    private var partialTimer: Scheduled<Void>?
    private var failed = false
    private var outbound: ByteBuffer?
    private var readingPaused = false
    private var pendingRead = false
    private var processing = false
    /// The request id whose large frame's header was already checked, so it is checked once.
    private var previewed: UInt32?
    /// Bytes of a large frame being buffered, counted against the server's budget until it completes.
    private var reservedPartialBytes = 0

    /// Frames longer than this get their header checked before the rest is buffered.
    static let previewThreshold = 64 << 10

    private let turns: LoopTurns

    init(shared: ServerConnection<RPCServerConnectionHandler, ByteBuffer>.Shared, turns: LoopTurns) {
        self.shared = shared
        self.turns = turns
        self.decoder = FrameDecoder(maxPayloadBytes: shared.limits.maxFramePayloadBytes)
        self.partialFrameTimeout = TimeAmount(shared.limits.partialFrameTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        self.connection = ServerConnection(
            shared: self.shared, executor: NIOCallExecutor(eventLoop: context.eventLoop, turns: self.turns),
            transport: self,
            peer: peer
        )
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.connection?.connectionClosed()
        self.connection = nil
        self.context = nil
    }

    // MARK: - Inbound bytes

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var incoming = self.unwrapInboundIn(data)
        if self.buffer == nil || self.buffer!.readableBytes == 0 {
            self.buffer = incoming
        } else {
            // A large frame arriving in pieces gets its whole size reserved once (the header gave it), rather
            // than the buffer doubling and copying as it grows.
            if let length = self.buffer!.getInteger(at: self.buffer!.readerIndex, as: UInt32.self),
                Int(length) <= self.shared.limits.maxFramePayloadBytes
            {
                let needed = Frame.headerBytes + Int(length) - self.buffer!.readableBytes
                if needed > self.buffer!.writableBytes { self.buffer!.reserveCapacity(minimumWritableBytes: needed) }
            }
            self.buffer!.writeBuffer(&incoming)
        }
        self.processBuffer(context: context)
    }

    /// Decodes and dispatches the buffered frames, unless reading is paused.
    private func processBuffer(context: ChannelHandlerContext) {
        guard !self.processing else { return }
        self.processing = true
        defer { self.processing = false }
        var progressed = false
        do {
            while !self.readingPaused, !self.failed, self.buffer != nil,
                let frame = try self.decoder.decode(buffer: &self.buffer!)
            {
                progressed = true
                self.releasePartial()
                self.dispatch(frame, context: context)
            }
        } catch {
            self.failed = true
            self.buffer = nil
            self.partialTimer?.cancel()
            self.releasePartial()
            self.framingError(error)
            return
        }
        guard !self.failed, self.buffer != nil else { return }
        self.buffer!.discardReadBytes()
        self.inspectPartialFrame(context: context)
        self.armPartialTimer(context: context, progressed: progressed)
    }

    private func dispatch(_ frame: Frame, context: ChannelHandlerContext) {
        guard let connection = self.connection else { return }
        switch frame.kind {
        case .request:
            if self.previewed == frame.requestID { self.previewed = nil }
            connection.receiveRequest(id: frame.requestID, payload: frame.payload)
        case .cancel:
            connection.receiveCancel(id: frame.requestID)
        case .message, .status:
            self.framingError(FramingError.unexpectedKind(frame.kind))
        }
    }

    /// Looks at the frame being buffered: a large REQUEST has its header checked as soon as it is all here, and
    /// its bytes count against the server's budget while they arrive.
    private func inspectPartialFrame(context: ChannelHandlerContext) {
        guard let buffer = self.buffer, buffer.readableBytes >= Frame.headerBytes + 4,
            let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            Int(length) > Self.previewThreshold,
            let kind = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
            kind == Frame.Kind.request.rawValue,
            let id = buffer.getInteger(at: buffer.readerIndex + 5, as: UInt32.self)
        else { return }
        if self.reservedPartialBytes == 0 {
            self.reservedPartialBytes = Int(length)
            self.shared.budget.reserve(Int(length))
        }
        guard self.previewed != id,
            let headerLength = buffer.getInteger(at: buffer.readerIndex + Frame.headerBytes, as: UInt32.self)
        else { return }
        let headerStart = buffer.readerIndex + Frame.headerBytes + 4
        self.previewed = id
        var refusal: Status?
        if Int(headerLength) > self.shared.limits.maxRequestHeaderBytes {
            // Refused whatever else it holds: say so now rather than take in the rest of the frame.
            refusal = Status(
                code: .invalidArgument,
                message:
                    "request header of \(headerLength) bytes exceeds the limit of \(self.shared.limits.maxRequestHeaderBytes) bytes"
            )
        } else {
            guard buffer.readableBytes >= Frame.headerBytes + 4 + Int(headerLength),
                let header = buffer.getSlice(at: headerStart, length: Int(headerLength))
            else {
                self.previewed = nil  // not all here yet
                return
            }
            refusal = self.connection?.preview(header: header)
        }
        if let refusal {
            // The frame's rest would be read only to be refused: answer now and close, rather than buffer it.
            self.writeStatus(id: id, refusal)
            self.writeStatus(id: 0, Status(code: refusal.code, message: "closing the connection: \(refusal.message)"))
            self.flush()
            self.failed = true
            self.buffer = nil
            self.releasePartial()
            context.close(promise: nil)
        }
    }

    private func releasePartial() {
        guard self.reservedPartialBytes > 0 else { return }
        self.shared.budget.release(self.reservedPartialBytes)
        self.reservedPartialBytes = 0
    }

    private func armPartialTimer(context: ChannelHandlerContext, progressed: Bool) {
        let pending = self.buffer?.readableBytes ?? 0
        if pending == 0 || progressed || self.readingPaused {
            self.partialTimer?.cancel()
            self.partialTimer = nil
        }
        // Frames that wait because reading is paused are whole; only an incomplete frame is on the clock.
        guard pending > 0, self.partialTimer == nil, !self.readingPaused else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.partialTimer = context.eventLoop.scheduleTask(in: self.partialFrameTimeout) {
            let handler = bound.value
            handler.partialTimer = nil
            let buffered = handler.buffer?.readableBytes ?? 0
            guard buffered > 0, !handler.failed else { return }
            handler.failed = true
            handler.framingError(FramingError.partialFrameTimeout(bufferedBytes: buffered))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flush()
        context.fireChannelReadComplete()
    }

    private func framingError(_ error: any Error) {
        guard let framing = error as? FramingError else { return }
        self.failed = true
        self.shared.logger.warning("closing connection: \(framing)")
        let code: StatusCode =
            switch framing {
            case .payloadTooLarge: .resourceExhausted
            case .partialFrameTimeout: .deadlineExceeded
            default: .invalidArgument
            }
        self.writeStatus(id: 0, Status(code: code, message: framing.description))
        self.flush()
        self.context?.close(promise: nil)
    }

    // MARK: - Events

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.connection?.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if self.connection?.isIdle ?? true {
                self.shared.logger.debug("closing idle connection")
                context.close(promise: nil)
            }
            return
        }
        if let lifecycle = event as? LifecycleEvent {
            switch lifecycle {
            case .drain: self.connection?.drain()
            case .terminate: self.connection?.terminate()
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !(error is TLSError) { self.shared.logger.debug("closing connection after error: \(error)") }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.partialTimer?.cancel()
        self.releasePartial()
        self.connection?.connectionClosed()
        context.fireChannelInactive()
    }

    // MARK: - Outbound

    func read(context: ChannelHandlerContext) {
        if self.readingPaused {
            self.pendingRead = true
        } else {
            context.read()
        }
    }
}

// MARK: - CallTransport

extension RPCServerConnectionHandler: CallTransport {
    private func withOutbound(_ body: (inout ByteBuffer) -> Void) {
        guard let context = self.context else { return }
        if self.outbound == nil { self.outbound = context.channel.allocator.buffer(capacity: 4_096) }
        body(&self.outbound!)
        // Answers made in one read burst are flushed together at its end; past this many bytes they go at once,
        // so the channel's writability (and with it backpressure) sees them before the burst makes more.
        if self.outbound!.readableBytes >= self.flushThreshold { self.flush() }
    }

    private var flushThreshold: Int { min(64 << 10, max(4_096, self.shared.limits.maxConnectionOutboundBytes / 4)) }

    func writeMessage(id: UInt32, _ message: some MessageSerializer) {
        self.withOutbound {
            $0.writeFrame(kind: .message, requestID: id) { payload in message.serialize(into: &payload) }
        }
    }

    func writeStatus(id: UInt32, _ status: Status) {
        self.withOutbound { buffer in
            if status == .ok {
                buffer.writeFrame(kind: .status, requestID: id, payload: ByteBuffer())
            } else {
                buffer.writeFrame(kind: .status, requestID: id) { payload in status.serialize(into: &payload) }
            }
        }
    }

    func flush() {
        guard let context = self.context, let buffer = self.outbound, buffer.readableBytes > 0 else { return }
        self.outbound = nil
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    func setReadingPaused(_ paused: Bool) {
        guard paused != self.readingPaused, let context = self.context else { return }
        self.readingPaused = paused
        guard !paused else { return }
        // Frames that arrived while paused go first, then the read that was held.
        self.processBuffer(context: context)
        self.flush()
        if !self.readingPaused && self.pendingRead {
            self.pendingRead = false
            context.read()
        }
    }

    func close() {
        self.context?.close(promise: nil)
    }

    var isWritable: Bool { self.context?.channel.isWritable ?? false }
}

@available(*, unavailable)
extension RPCServerConnectionHandler: Sendable {}

/// An event loop as the call layer's executor.
struct NIOCallExecutor: CallExecutor {
    let eventLoop: any EventLoop
    let turns: LoopTurns

    func execute(_ work: @escaping @Sendable () -> Void) { self.eventLoop.execute(work) }

    func executeAfterIO(_ work: @escaping @Sendable () -> Void) { self.turns.enqueue(work) }

    func schedule(at deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () -> Void) -> any CallTimer {
        let delay = deadline - ContinuousClock.now
        let scheduled = self.eventLoop.scheduleTask(in: delay > .zero ? TimeAmount(delay) : .zero, work)
        return ScheduledTimer(scheduled: scheduled)
    }

    var inExecutor: Bool { self.eventLoop.inEventLoop }

    struct ScheduledTimer: CallTimer {
        let scheduled: Scheduled<Void>
        func cancel() { self.scheduled.cancel() }
    }
}

/// Inline jobs' turns on one event loop: one slice per loop iteration, across every connection of the loop.
///
/// NIO runs every task submitted while it runs tasks before it polls for I/O again, so jobs that resubmitted
/// themselves with `execute` would run back to back until all were done, and a Health call arriving meanwhile
/// would wait for all of them. Here the next slice is a timer a few microseconds ahead: the loop finds nothing
/// due, polls (and serves whatever I/O is ready), then runs exactly one slice, and so on.
final class LoopTurns: @unchecked Sendable {
    // Touched only on `eventLoop`.
    private let eventLoop: any EventLoop
    private var queue = Deque<@Sendable () -> Void>()
    private var armed = false

    /// How far ahead the next turn is scheduled: enough that the loop polls first, short enough to cost nothing
    /// worth measuring when no I/O is waiting.
    static let gap = TimeAmount.microseconds(20)

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ work: @escaping @Sendable () -> Void) {
        self.eventLoop.assertInEventLoop()
        self.queue.append(work)
        self.arm()
    }

    private func arm() {
        guard !self.armed, !self.queue.isEmpty else { return }
        self.armed = true
        self.eventLoop.scheduleTask(in: Self.gap) { self.turn() }
    }

    private func turn() {
        self.armed = false
        if let work = self.queue.popFirst() { work() }
        self.arm()
    }
}
