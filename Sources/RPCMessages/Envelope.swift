public import RPCCore

/// The header at the start of every REQUEST frame's payload (docs/PROTOCOL.md, "Requests").
public struct RequestHeader: Sendable, Hashable {
    /// "enrich.v1.<Service>/<Method>".
    public var method: String
    /// "Bearer <token>", or empty.
    public var authorization: String
    /// Relative deadline; 0 means the server's default.
    public var timeoutMilliseconds: UInt64
    public var metadata: Metadata

    public init(method: String, authorization: String = "", timeoutMilliseconds: UInt64 = 0, metadata: Metadata = Metadata()) {
        self.method = method
        self.authorization = authorization
        self.timeoutMilliseconds = timeoutMilliseconds
        self.metadata = metadata
    }
}

/// The payload of a STATUS frame, which ends every call.
public struct Status: Sendable, Hashable {
    public var code: StatusCode
    public var message: String
    public var metadata: Metadata

    public init(code: StatusCode, message: String = "", metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    public static let ok = Status(code: .ok)
}
