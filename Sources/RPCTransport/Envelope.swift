public import NIOCore
public import RPCCore
public import RPCMessages

/// Encodes and decodes the payloads that frames carry (docs/PROTOCOL.md, "Payloads").
///
/// A REQUEST payload is `| header length: UInt32 BE | RequestHeader | request message |`; MESSAGE carries one
/// message and STATUS a `Status`.
public enum Envelope {
    /// Bytes of the header-length prefix of a REQUEST payload.
    public static let headerLengthBytes = 4

    /// Splits a REQUEST payload into its header and message bytes.
    /// - Throws: `RPCError(.invalidArgument)` when the header length overruns the payload or the header does not
    ///   decode.
    public static func parseRequest(_ payload: ByteBuffer) throws(RPCError) -> (RequestHeader, ByteBuffer) {
        var payload = payload
        guard let headerLength = payload.readInteger(as: UInt32.self) else {
            throw RPCError(.invalidArgument, "request payload is shorter than its 4-byte header length")
        }
        guard Int(headerLength) <= payload.readableBytes, let headerBytes = payload.readSlice(length: Int(headerLength))
        else {
            throw RPCError(
                .invalidArgument,
                "request header length \(headerLength) exceeds the \(payload.readableBytes) bytes that follow"
            )
        }
        let header: RequestHeader
        do {
            header = try headerBytes.withUnsafeReadableBytes { bytes throws(RPCError) in try RequestHeader(serializedBytes: bytes) }
        } catch {
            throw RPCError(.invalidArgument, "request header is not a valid enrich.v1.RequestHeader")
        }
        return (header, payload)
    }

    /// Appends a whole REQUEST frame.
    public static func writeRequest(
        into buffer: inout ByteBuffer, requestID: UInt32, header: RequestHeader, message: some RPCMessage
    ) {
        buffer.writeFrame(kind: .request, requestID: requestID) { payload in
            let lengthIndex = payload.writerIndex
            payload.writeInteger(UInt32(0))
            let headerLength = header.withSerializedBytes { payload.writeBytes($0) }
            payload.setInteger(UInt32(headerLength), at: lengthIndex)
            message.withSerializedBytes { _ = payload.writeBytes($0) }
        }
    }

    /// Appends a MESSAGE frame carrying `message`.
    public static func writeMessage(into buffer: inout ByteBuffer, requestID: UInt32, message: any RPCMessage) {
        buffer.writeFrame(kind: .message, requestID: requestID) { payload in
            message.withSerializedBytes { _ = payload.writeBytes($0) }
        }
    }

    /// Appends a STATUS frame.
    public static func writeStatus(into buffer: inout ByteBuffer, requestID: UInt32, status: Status) {
        buffer.writeFrame(kind: .status, requestID: requestID) { payload in
            status.withSerializedBytes { _ = payload.writeBytes($0) }
        }
    }

    /// Decodes a message from a payload.
    public static func decode<M: RPCMessage>(_ type: M.Type, from payload: ByteBuffer) throws(RPCError) -> M {
        try payload.withUnsafeReadableBytes { bytes throws(RPCError) in try M(serializedBytes: bytes) }
    }
}
