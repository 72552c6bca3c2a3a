/// The error a call ends with: a status code and a message safe to show the client.
///
/// The message goes on the wire, so it never carries payloads, keys or bound SQL values. Whatever caused the
/// error (a lower-level error) stays in the server's logs.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var metadata: Metadata

    /// Makes an error with `code` and a client-safe `message`.
    public init(_ code: StatusCode, _ message: String, metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    public var description: String { "\(self.code): \(self.message)" }
}

/// A domain error that knows which status it becomes on the wire. Only the services module conforms errors.
public protocol RPCErrorConvertible: Error {
    /// The status and client-safe message for this error.
    var rpcError: RPCError { get }
}
