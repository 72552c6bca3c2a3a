public import NIOCore

/// Turns the (decrypted) byte stream into `Frame`s and closes connections that stall on half a frame.
///
/// A decoding error goes up the pipeline as a `FramingError`; after one, further input is dropped, since the
/// stream can no longer be split reliably.
public final class FramingHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Frame

    private let decoder: FrameDecoder
    private let partialFrameTimeout: TimeAmount
    private var buffer: ByteBuffer?
    private var partialTimer: Scheduled<Void>?
    private var failed = false

    public init(maxPayloadBytes: Int, partialFrameTimeout: Duration) {
        self.decoder = FrameDecoder(maxPayloadBytes: maxPayloadBytes)
        self.partialFrameTimeout = TimeAmount(partialFrameTimeout)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var incoming = self.unwrapInboundIn(data)
        if self.buffer == nil || self.buffer!.readableBytes == 0 {
            self.buffer = incoming
        } else {
            self.buffer!.writeBuffer(&incoming)
        }
        var decodedAny = false
        do {
            while let frame = try self.decoder.decode(buffer: &self.buffer!) {
                decodedAny = true
                context.fireChannelRead(self.wrapInboundOut(frame))
                if self.failed { return }
            }
        } catch {
            self.failed = true
            self.buffer = nil
            self.partialTimer?.cancel()
            context.fireErrorCaught(error)
            return
        }
        self.buffer!.discardReadBytes()
        self.armPartialTimer(context: context, progressed: decodedAny)
    }

    private func armPartialTimer(context: ChannelHandlerContext, progressed: Bool) {
        let pending = self.buffer?.readableBytes ?? 0
        if pending == 0 || progressed {
            self.partialTimer?.cancel()
            self.partialTimer = nil
        }
        if pending > 0 && self.partialTimer == nil {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            self.partialTimer = context.eventLoop.scheduleTask(in: self.partialFrameTimeout) {
                let (handler, context) = bound.value
                handler.partialTimer = nil
                let buffered = handler.buffer?.readableBytes ?? 0
                guard buffered > 0, !handler.failed else { return }
                handler.failed = true
                context.fireErrorCaught(FramingError.partialFrameTimeout(bufferedBytes: buffered))
            }
        }
        // A timer already running keeps its start: each frame must arrive whole within the timeout.
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.partialTimer?.cancel()
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension FramingHandler: Sendable {}

extension TimeAmount {
    /// Converts a Swift `Duration`, dropping sub-nanosecond precision.
    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
