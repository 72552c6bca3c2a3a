public import NIOCore
import Logging
import NIOPosix
public import RPCTransport
import Synchronization

/// A client connection that sends whatever bytes a test gives it (through TLS when asked) and records what comes
/// back, so tests can break the protocol on purpose.
public final class RawConnection: Sendable {
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


    /// Connects to 127.0.0.1:`port`; with `tls`, runs the handshake first (failures show in `errors`).
    public static func connect(port: Int, tls: TLSContext?, group: (any EventLoopGroup)? = nil)
        async throws -> RawConnection
    {
        let box = StateBox()
        let channel = try await ClientBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            OpenSSLHandler(context: tls, handshakeTimeout: .seconds(10), logger: .init(label: "raw"))
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(Collector(box: box))
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

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let box: StateBox
        init(box: StateBox) { self.box = box }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = self.unwrapInboundIn(data)
            _ = self.box.state.withLock { $0.received.writeBuffer(&buffer) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.box.state.withLock { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.box.state.withLock { $0.errors.append("\(error)") }
            context.close(promise: nil)
        }
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    public func send(_ buffer: ByteBuffer) async throws {
        try await self.channel.writeAndFlush(buffer)
    }

    public var isClosed: Bool { self.box.state.withLock { $0.closed } }
    public var errors: [String] { self.box.state.withLock { $0.errors } }
    public var received: ByteBuffer { self.box.state.withLock { $0.received } }

    /// Frames received so far.
    public func frames() throws -> [Frame] {
        var buffer = self.received
        var frames: [Frame] = []
        let decoder = FrameDecoder(maxPayloadBytes: 1 << 30)
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        return frames
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    public func wait(timeout: Duration = .seconds(5), until condition: (RawConnection) throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try condition(self)
    }

    public func close() async {
        try? await self.channel.close()
    }
}
