public import NIOCore

/// One frame of the wire protocol (docs/PROTOCOL.md):
///
/// ```
///  0                   4        5                   9
/// +-------------------+--------+-------------------+---------------------+
/// | payload length    | kind   | request id        | payload             |
/// | UInt32 big-endian | UInt8  | UInt32 big-endian | (length bytes)      |
/// +-------------------+--------+-------------------+---------------------+
/// ```
public struct Frame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// Client to server: starts a call. Payload: header length (UInt32 BE), RequestHeader, request message.
        case request = 1
        /// Server to client: one response message of the call.
        case message = 2
        /// Server to client: ends the call. Payload: a Status message.
        case status = 3
        /// Client to server: the client no longer wants the call's answer. Empty payload.
        case cancel = 4
    }

    /// Bytes before the payload.
    public static let headerBytes = 9

    public var kind: Kind
    public var requestID: UInt32
    public var payload: ByteBuffer

    public init(kind: Kind, requestID: UInt32, payload: ByteBuffer) {
        self.kind = kind
        self.requestID = requestID
        self.payload = payload
    }
}

/// Framing violations. Each ends the connection after a STATUS frame on request id 0.
public enum FramingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header announces more payload than the limit; found before any payload is buffered.
    case payloadTooLarge(length: Int, limit: Int)
    /// The kind byte names no frame kind.
    case unknownKind(UInt8)
    /// A frame of a kind this side never receives (a client sending STATUS, say).
    case unexpectedKind(Frame.Kind)
    /// Half a frame arrived and the rest did not come in time.
    case partialFrameTimeout(bufferedBytes: Int)
    /// A REQUEST reused the id of a call still in flight.
    case duplicateRequestID(UInt32)

    public var description: String {
        switch self {
        case .payloadTooLarge(let length, let limit):
            "protocol error: frame payload of \(length) bytes exceeds the limit of \(limit) bytes"
        case .unknownKind(let kind): "protocol error: unknown frame kind \(kind)"
        case .unexpectedKind(let kind): "protocol error: frame kind \(kind) is not accepted from this peer"
        case .partialFrameTimeout(let bytes): "protocol error: incomplete frame (\(bytes) bytes) timed out"
        case .duplicateRequestID(let id): "protocol error: request id \(id) is already in flight"
        }
    }
}

/// Splits a byte stream into frames. Pure: it never touches a channel, so tests feed it byte by byte.
public struct FrameDecoder: Sendable {
    public let maxPayloadBytes: Int

    public init(maxPayloadBytes: Int) { self.maxPayloadBytes = maxPayloadBytes }

    /// Takes one frame off the front of `buffer`, or returns nil and leaves `buffer` as it was when the frame is
    /// not complete yet.
    /// - Throws: `FramingError.payloadTooLarge` as soon as the header is readable, `.unknownKind`.
    public func decode(buffer: inout ByteBuffer) throws(FramingError) -> Frame? {
        let start = buffer.readerIndex
        guard let length = buffer.getInteger(at: start, as: UInt32.self),
            let rawKind = buffer.getInteger(at: start + 4, as: UInt8.self)
        else { return nil }
        // Reject before waiting for the payload, so a hostile length cannot make us buffer it.
        guard Int(length) <= self.maxPayloadBytes else {
            throw .payloadTooLarge(length: Int(length), limit: self.maxPayloadBytes)
        }
        guard let kind = Frame.Kind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        guard buffer.readableBytes >= Frame.headerBytes + Int(length),
            let requestID = buffer.getInteger(at: start + 5, as: UInt32.self)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
        let payload = buffer.readSlice(length: Int(length))!  // Length checked above.
        return Frame(kind: kind, requestID: requestID, payload: payload)
    }
}

extension ByteBuffer {
    /// Appends a whole frame.
    public mutating func writeFrame(kind: Frame.Kind, requestID: UInt32, payload: ByteBuffer) {
        self.writeInteger(UInt32(payload.readableBytes))
        self.writeInteger(kind.rawValue)
        self.writeInteger(requestID)
        var payload = payload
        self.writeBuffer(&payload)
    }

    /// Appends a frame whose payload `body` writes; the length is patched in afterwards, so no copy is made.
    @discardableResult
    public mutating func writeFrame(
        kind: Frame.Kind, requestID: UInt32, _ body: (inout ByteBuffer) throws -> Void
    ) rethrows -> Int {
        let start = self.writerIndex
        self.writeInteger(UInt32(0))
        self.writeInteger(kind.rawValue)
        self.writeInteger(requestID)
        try body(&self)
        let length = self.writerIndex - start - Frame.headerBytes
        self.setInteger(UInt32(length), at: start)
        return length
    }
}
