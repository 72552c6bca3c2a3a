/// Where a serializer puts its encoding: exactly `count` bytes, written in place by `fill`.
///
/// The transport's outbound buffer conforms, so an answer is encoded straight into the bytes that go to the
/// socket, with no intermediate array; `SerializedBytes` is the array-backed writer for everything else.
public protocol SerializedMessageWriter {
    /// Appends `count` bytes that `fill` writes; `fill` must initialise all of them.
    mutating func appendSerialized(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void)
}

/// A message that can be written as protobuf bytes.
///
/// Encode-only types (the hand-tuned Lookup and Enrich answers) conform to this alone; types that are also read
/// from the wire conform to `MessageDeserializer` as well (`RPCMessage`).
public protocol MessageSerializer: Sendable {
    /// Writes the message's protobuf encoding into `writer`, sized up front.
    func serialize(into writer: inout some SerializedMessageWriter)
}

/// A message that can be read from protobuf bytes.
///
/// Implementations apply `limits` while decoding (not after): a repeated field is refused at its N+1th entry, a
/// string with a NUL byte or invalid UTF-8 is refused before any Swift value is made of it.
public protocol MessageDeserializer: Sendable {
    /// Decodes the message.
    /// - Throws: `RPCError(.invalidArgument)` for bytes that are not a valid encoding or break `limits`
    ///   (`.resourceExhausted` for a count over its limit).
    init(serializedBytes bytes: UnsafeRawBufferPointer, limits: WireLimits) throws(RPCError)
}

/// A message that crosses the wire both ways.
public typealias RPCMessage = MessageSerializer & MessageDeserializer

/// An array-backed `SerializedMessageWriter`.
public struct SerializedBytes: SerializedMessageWriter {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func appendSerialized(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let written = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
        if self.bytes.isEmpty { self.bytes = written } else { self.bytes += written }
    }
}

extension MessageSerializer {
    /// The message's protobuf encoding as a byte array.
    public func serializedBytes() -> [UInt8] {
        var writer = SerializedBytes()
        self.serialize(into: &writer)
        return writer.bytes
    }

    /// Encodes the message and hands the bytes to `body`; the bytes are valid only inside `body`.
    public func withSerializedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.serializedBytes().withUnsafeBytes(body)
    }
}

extension MessageDeserializer {
    /// Decodes the message with the default `WireLimits`.
    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws(RPCError) {
        try self.init(serializedBytes: bytes, limits: WireLimits())
    }

    /// Decodes the message from a byte array with the default `WireLimits`.
    public init(serializedBytes bytes: [UInt8], limits: WireLimits = WireLimits()) throws(RPCError) {
        let result: Result<Self, RPCError> = bytes.withUnsafeBytes { raw in
            do throws(RPCError) { return .success(try Self(serializedBytes: raw, limits: limits)) } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }
}
