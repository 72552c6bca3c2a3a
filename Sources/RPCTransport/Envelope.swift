public import NIOCore
public import RPCCore
public import RPCMessages

/// Encodes and decodes the payloads that frames carry (docs/PROTOCOL.md, "Payloads").
///
/// A REQUEST payload is `| header length: UInt32 BE | RequestHeader | request message |`; MESSAGE carries one
/// message and STATUS a `Status`. The server reads requests through the call layer (`ServerConnection`); this is
/// the client's side and the tests'.
public enum Envelope {
    /// Bytes of the header-length prefix of a REQUEST payload.
    public static let headerLengthBytes = 4

    /// Appends a whole REQUEST frame.
    public static func writeRequest(
        into buffer: inout ByteBuffer, requestID: UInt32, header: RequestHeader, message: some MessageSerializer
    ) {
        buffer.writeFrame(kind: .request, requestID: requestID) { payload in
            let lengthIndex = payload.writerIndex
            payload.writeInteger(UInt32(0))
            let headerStart = payload.writerIndex
            header.serialize(into: &payload)
            payload.setInteger(UInt32(payload.writerIndex - headerStart), at: lengthIndex)
            message.serialize(into: &payload)
        }
    }

    /// Appends a MESSAGE frame carrying `message`.
    public static func writeMessage(into buffer: inout ByteBuffer, requestID: UInt32, message: some MessageSerializer) {
        buffer.writeFrame(kind: .message, requestID: requestID) { payload in message.serialize(into: &payload) }
    }

    /// Appends a STATUS frame.
    public static func writeStatus(into buffer: inout ByteBuffer, requestID: UInt32, status: Status) {
        buffer.writeFrame(kind: .status, requestID: requestID) { payload in status.serialize(into: &payload) }
    }

    /// Decodes a message from a payload.
    public static func decode<M: MessageDeserializer>(
        _ type: M.Type, from payload: ByteBuffer, limits: WireLimits = WireLimits()
    ) throws(RPCError) -> M {
        try payload.withUnsafeReadableBytes { bytes throws(RPCError) in try M(serializedBytes: bytes, limits: limits) }
    }
}
