import Logging
package import NIOCore
import NIOPosix
package import RPCTransport
import Synchronization

/// A client connection that sends whatever bytes a test gives it (through TLS when asked) and records what comes
/// back, so tests can break the protocol on purpose.
package final class RawConnection: Sendable {
    private let channel: any Channel
    private let box: StateBox

    struct State {
        var received = ByteBuffer()
        var closed = false
        var errors: [String] = []
    }

    private init(channel: any Channel, box: StateBox) {
        self.channel = channel
        self.box = box
    }

    /// Connects to 127.0.0.1:`port`; with `tls`, runs the handshake first (failures show in `errors`). With
    /// `reading: false` the connection reads nothing after the handshake until `startReading()`: a peer that never
    /// takes its answers.
    package static func connect(
        port: Int, tls: TLSContext?, group: (any EventLoopGroup)? = nil, reading: Bool = true
    )
        async throws -> RawConnection
    {
        let box = StateBox()
        var bootstrap = ClientBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
        // A peer that does not read keeps a small receive buffer, so the server's output backs up sooner.
        if !reading { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: 16_384) }
        let channel =
            try await bootstrap
            .channelInitializer { channel in
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            OpenSSLHandler(context: tls, handshakeTimeout: .seconds(10), logger: .init(label: "raw"))
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        Collector(box: box, reading: reading, tls: tls != nil))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, box: box)
    }

    final class StateBox: Sendable {
        let state = Mutex<State>(State())
    }

    final class Collector: ChannelDuplexHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        let box: StateBox
        /// Event-loop state: whether reads pass, and whether one was held back.
        var reading: Bool
        var handshakeDone: Bool
        var heldRead = false
        init(box: StateBox, reading: Bool, tls: Bool) {
            self.box = box
            self.reading = reading
            self.handshakeDone = !tls
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = self.unwrapInboundIn(data)
            _ = self.box.state.withLock { $0.received.writeBuffer(&buffer) }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is TLSUserEvent { self.handshakeDone = true }
            context.fireUserInboundEventTriggered(event)
        }

        /// Holds reads back once the handshake is done (or at once without TLS) while not reading.
        func read(context: ChannelHandlerContext) {
            if self.reading || !self.handshakeDone {
                context.read()
            } else {
                self.heldRead = true
            }
        }

        func resume(context: ChannelHandlerContext) {
            self.reading = true
            if self.heldRead {
                self.heldRead = false
                context.read()
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.box.state.withLock { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.box.state.withLock { $0.errors.append("\(error)") }
            context.close(promise: nil)
        }
    }

    /// Starts reading after `connect(reading: false)`.
    package func startReading() async throws {
        try await self.channel.eventLoop.submit {
            let context = try self.channel.pipeline.syncOperations.context(handlerType: Collector.self)
            (context.handler as! Collector).resume(context: context)  // The context holds a Collector.
        }.get()
    }

    /// Writes without waiting for the bytes to leave (a peer that stops reading would make the wait endless).
    package func sendWithoutWaiting(_ buffer: ByteBuffer) {
        self.channel.writeAndFlush(buffer, promise: nil)
    }

    package func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    package func send(_ buffer: ByteBuffer) async throws {
        try await self.channel.writeAndFlush(buffer)
    }

    package var isClosed: Bool { self.box.state.withLock { $0.closed } }
    package var errors: [String] { self.box.state.withLock { $0.errors } }
    package var received: ByteBuffer { self.box.state.withLock { $0.received } }

    /// Frames received so far.
    package func frames() throws -> [Frame] {
        var buffer = self.received
        var frames: [Frame] = []
        let decoder = FrameDecoder(maxPayloadBytes: 1 << 30)
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        return frames
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    package func wait(
        timeout: Duration = .seconds(5), until condition: (RawConnection) throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try condition(self)
    }

    package func close() async {
        try? await self.channel.close()
    }
}
