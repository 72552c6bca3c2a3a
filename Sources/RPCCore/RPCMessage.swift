/// A message that crosses the wire as protobuf bytes.
///
/// Implementations live in RPCMessages, which bridges to protobuf-c; this protocol keeps RPCCore and the
/// transport free of C types.
public protocol RPCMessage: Sendable {
    /// Decodes the message from protobuf bytes.
    /// - Throws: `RPCError` with `.invalidArgument` when the bytes are not a valid encoding.
    init(serializedBytes bytes: UnsafeRawBufferPointer) throws(RPCError)

    /// Encodes the message and hands the bytes to `body`; the bytes are valid only inside `body`.
    func withSerializedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension RPCMessage {
    /// Decodes the message from a byte array.
    public init(serializedBytes bytes: [UInt8]) throws(RPCError) {
        let result: Result<Self, RPCError> = bytes.withUnsafeBytes { raw in
            do throws(RPCError) { return .success(try Self(serializedBytes: raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// The message's protobuf encoding as a byte array.
    public func serializedBytes() -> [UInt8] { self.withSerializedBytes { Array($0) } }
}
