public import NIOCore
public import RPCCall
public import RPCCore

/// Answers are encoded straight into the outbound buffer: the writer reserves exactly the bytes a message sizes.
extension ByteBuffer: SerializedMessageWriter {
    public mutating func appendSerialized(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            fill(UnsafeMutableRawBufferPointer(rebasing: pointer[0..<count]))
            return count
        }
    }
}

/// A request's payload is a slice of the bytes read from the socket, shared (not copied) with the call.
extension ByteBuffer: RequestPayload {}
