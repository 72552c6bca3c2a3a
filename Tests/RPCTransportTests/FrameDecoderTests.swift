import NIOCore
import RPCTransport
import Testing

@Suite("Frame decoder")
struct FrameDecoderTests {
    static func sampleFrames() -> [Frame] {
        [
            Frame(kind: .request, requestID: 1, payload: ByteBuffer(bytes: [1, 2, 3])),
            Frame(kind: .message, requestID: 7, payload: ByteBuffer()),
            Frame(kind: .status, requestID: 0xFFFF_FFFF, payload: ByteBuffer(bytes: Array(repeating: 9, count: 300))),
            Frame(kind: .cancel, requestID: 42, payload: ByteBuffer()),
        ]
    }

    static func encoded(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { buffer.writeFrame(kind: frame.kind, requestID: frame.requestID, payload: frame.payload) }
        return buffer
    }

    @Test("Decodes a stream fed all at once")
    func allAtOnce() throws {
        var buffer = Self.encoded(Self.sampleFrames())
        let decoder = FrameDecoder(maxPayloadBytes: 1_024)
        var frames: [Frame] = []
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        #expect(frames == Self.sampleFrames())
        #expect(buffer.readableBytes == 0)
    }

    @Test("Decodes a stream fed one byte at a time")
    func byteByByte() throws {
        let all = Self.encoded(Self.sampleFrames())
        let decoder = FrameDecoder(maxPayloadBytes: 1_024)
        var pending = ByteBuffer()
        var frames: [Frame] = []
        for byte in all.readableBytesView {
            pending.writeInteger(byte)
            while let frame = try decoder.decode(buffer: &pending) { frames.append(frame) }
        }
        #expect(frames == Self.sampleFrames())
    }

    @Test("Decodes a stream fed one frame at a time")
    func frameByFrame() throws {
        let decoder = FrameDecoder(maxPayloadBytes: 1_024)
        for frame in Self.sampleFrames() {
            var buffer = Self.encoded([frame])
            #expect(try decoder.decode(buffer: &buffer) == frame)
            #expect(try decoder.decode(buffer: &buffer) == nil)
        }
    }

    @Test("Leaves an incomplete frame in the buffer untouched")
    func incompleteFrame() throws {
        var buffer = Self.encoded([Frame(kind: .request, requestID: 3, payload: ByteBuffer(bytes: [1, 2, 3, 4]))])
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        let before = buffer
        #expect(try FrameDecoder(maxPayloadBytes: 16).decode(buffer: &buffer) == nil)
        #expect(buffer == before)
    }

    @Test("Accepts a payload of exactly the limit")
    func payloadAtLimit() throws {
        var buffer = Self.encoded([
            Frame(kind: .request, requestID: 1, payload: ByteBuffer(bytes: Array(repeating: 0, count: 16)))
        ])
        #expect(try FrameDecoder(maxPayloadBytes: 16).decode(buffer: &buffer)?.payload.readableBytes == 16)
    }

    @Test("Rejects an oversized length from the header alone, before any payload arrives")
    func rejectsOversizedLengthEarly() {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(17))
        buffer.writeInteger(Frame.Kind.request.rawValue)
        #expect(throws: FramingError.payloadTooLarge(length: 17, limit: 16)) {
            try FrameDecoder(maxPayloadBytes: 16).decode(buffer: &buffer)
        }
    }

    @Test("Rejects an unknown frame kind")
    func rejectsUnknownKind() {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(UInt8(99))
        buffer.writeInteger(UInt32(1))
        #expect(throws: FramingError.unknownKind(99)) { try FrameDecoder(maxPayloadBytes: 16).decode(buffer: &buffer) }
    }

    @Test("The length patched in by the closure writer matches the payload")
    func closureWriter() throws {
        var buffer = ByteBuffer()
        let length = buffer.writeFrame(kind: .message, requestID: 5) { $0.writeBytes([1, 2, 3, 4, 5]) }
        #expect(length == 5)
        let frame = try FrameDecoder(maxPayloadBytes: 16).decode(buffer: &buffer)
        #expect(frame == Frame(kind: .message, requestID: 5, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5])))
    }
}
