public import Logging
public import NIOCore

/// Events the TLS handler sends up the pipeline.
public enum TLSUserEvent: Equatable, Sendable {
    /// The handshake finished; the string is the negotiated protocol ("TLSv1.3").
    case handshakeCompleted(String)
}

/// Encrypts and decrypts a channel's bytes with OpenSSL, through memory BIOs (see `SSLConnection`).
///
/// Plaintext written before the handshake finishes is queued and sent after it. Any TLS failure (a plaintext
/// peer, an untrusted certificate, a truncated handshake) is logged once and closes the channel; it also goes up
/// the pipeline as a `TLSError` so a client can report why it could not connect.
public final class OpenSSLHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case handshaking
        case active
        case closing
        case closed
    }

    private let connection: SSLConnection
    private let isServer: Bool
    private let handshakeTimeout: TimeAmount
    private var logger: Logger
    private var state: State = .idle
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushPending = false
    private var handshakeTimer: Scheduled<Void>?
    private var plaintext: ByteBuffer

    /// Makes a handler for one connection.
    /// - Throws: `TLSError.configuration` when OpenSSL cannot make a session.
    public init(context: TLSContext, handshakeTimeout: Duration, logger: Logger) throws(TLSError) {
        self.connection = try context.makeConnection()
        self.isServer = context.isServer
        self.handshakeTimeout = TimeAmount(handshakeTimeout)
        self.logger = logger
        self.plaintext = ByteBuffer()
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.plaintext = context.channel.allocator.buffer(capacity: 16_384)
        if context.channel.isActive { self.start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        if let peer = context.channel.remoteAddress { self.logger[metadataKey: "peer"] = "\(peer)" }
        self.start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard case .idle = self.state else { return }
        self.state = .handshaking
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.handshakeTimer = context.eventLoop.scheduleTask(in: self.handshakeTimeout) {
            let (handler, context) = bound.value
            guard case .handshaking = handler.state else { return }
            handler.fail(context: context, error: .handshakeTimeout)
        }
        if !self.isServer { self.advanceHandshake(context: context) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var ciphertext = self.unwrapInboundIn(data)
        switch self.state {
        case .closed, .closing, .idle:
            return
        case .handshaking:
            self.connection.consume(&ciphertext)
            self.advanceHandshake(context: context)
        case .active:
            self.connection.consume(&ciphertext)
        }
        if case .active = self.state { self.readPlaintext(context: context) }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        self.writeCiphertext(context: context, promise: nil, flush: true)
        context.fireChannelReadComplete()
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        switch self.connection.doHandshake() {
        case .complete:
            self.state = .active
            self.handshakeTimer?.cancel()
            self.handshakeTimer = nil
            self.writeCiphertext(context: context, promise: nil, flush: true)
            context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(self.connection.negotiatedVersion))
            self.flushPendingWrites(context: context)
        case .wantRead:
            self.writeCiphertext(context: context, promise: nil, flush: true)
        case .closed:
            self.fail(context: context, error: .closedDuringHandshake)
        case .failed(let error):
            self.fail(context: context, error: error)
        }
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        let result = self.connection.readPlaintext(into: &self.plaintext)
        if self.plaintext.readableBytes > 0 {
            let chunk = self.plaintext
            self.plaintext.clear()
            context.fireChannelRead(self.wrapInboundOut(chunk))
        }
        switch result {
        case .complete, .wantRead:
            break
        case .closed:
            // close_notify from the peer: answer with ours and close.
            self.logger.debug("peer sent close_notify")
            self.close(context: context, mode: .all, promise: nil)
        case .failed(let error):
            self.fail(context: context, error: error)
        }
    }

    private func fail(context: ChannelHandlerContext, error: TLSError) {
        guard self.state != .closed else { return }
        self.logger.warning("closing connection: \(error)")
        self.state = .closed
        self.handshakeTimer?.cancel()
        // Send any alert OpenSSL queued so the peer learns why.
        self.writeCiphertext(context: context, promise: nil, flush: true)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func writeCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?, flush: Bool) {
        if self.connection.hasCiphertext {
            var buffer = context.channel.allocator.buffer(capacity: 0)
            self.connection.drainCiphertext(into: &buffer)
            context.write(self.wrapOutboundOut(buffer), promise: promise)
        } else if let promise {
            promise.succeed(())
        }
        if flush || self.flushPending {
            self.flushPending = false
            context.flush()
        }
    }

    // MARK: - Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = self.unwrapOutboundIn(data)
        switch self.state {
        case .idle, .handshaking:
            self.pendingWrites.append((buffer, promise))
        case .active:
            switch self.connection.writePlaintext(buffer) {
            case .complete, .wantRead:
                self.writeCiphertext(context: context, promise: promise, flush: false)
            case .closed:
                promise?.fail(ChannelError.ioOnClosedChannel)
            case .failed(let error):
                promise?.fail(error)
                self.fail(context: context, error: error)
            }
        case .closing, .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch self.state {
        case .idle, .handshaking:
            self.flushPending = true
        case .active, .closing:
            context.flush()
        case .closed:
            break
        }
    }

    private func flushPendingWrites(context: ChannelHandlerContext) {
        let writes = self.pendingWrites
        self.pendingWrites = []
        for (buffer, promise) in writes {
            self.write(context: context, data: self.wrapOutboundOut(buffer), promise: promise)
        }
        if self.flushPending {
            self.flushPending = false
            context.flush()
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch self.state {
        case .active:
            self.state = .closing
            self.connection.shutdown()
            self.writeCiphertext(context: context, promise: nil, flush: true)
        case .idle, .handshaking:
            self.state = .closing
        case .closing, .closed:
            break
        }
        context.close(mode: mode, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let wasHandshaking = self.state == .handshaking
        self.state = .closed
        self.handshakeTimer?.cancel()
        let writes = self.pendingWrites
        self.pendingWrites = []
        for (_, promise) in writes { promise?.fail(ChannelError.ioOnClosedChannel) }
        if wasHandshaking {
            self.logger.warning("closing connection: \(TLSError.closedDuringHandshake)")
            context.fireErrorCaught(TLSError.closedDuringHandshake)
        }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension OpenSSLHandler: Sendable {}
