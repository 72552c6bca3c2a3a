/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// The request id from the frame header, unique among the connection's calls in flight.
    public let requestID: UInt32
    public let method: MethodDescriptor
    /// The bearer token from the request header, or nil when none was sent.
    public let bearerToken: String?
    public let metadata: Metadata
    /// When the call must be answered by; the transport cancels the handler's task then.
    public let deadline: ContinuousClock.Instant
    /// The peer's address as text ("127.0.0.1:51234"), for logs and the audit trail.
    public let peer: String

    public init(
        requestID: UInt32, method: MethodDescriptor, bearerToken: String?, metadata: Metadata,
        deadline: ContinuousClock.Instant, peer: String
    ) {
        self.requestID = requestID
        self.method = method
        self.bearerToken = bearerToken
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
    }
}
