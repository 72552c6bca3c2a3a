/// Where a handler sends the messages of a server-streaming call.
public protocol ResponseStreamWriter<Message>: Sendable {
    associatedtype Message: RPCMessage
    /// Sends one message; suspends while the connection's outbound buffer is full.
    /// - Throws: `CancellationError` when the call was cancelled or the peer went away.
    func write(_ message: Message) async throws
}

/// One registered method, type-erased so the transport can run it without knowing its message types.
public struct RegisteredMethod: Sendable {
    /// How the transport runs a method.
    public enum Handler: Sendable {
        /// Runs inline on the connection's event loop. For bounded, non-blocking work (cache reads), where
        /// hopping to a task would cost more than the call itself.
        case inline(@Sendable (UnsafeRawBufferPointer, ServerContext) throws -> any RPCMessage)
        /// Runs in a task. For calls that wait on I/O (catalog, warehouses).
        case unary(@Sendable (UnsafeRawBufferPointer, ServerContext) throws(RPCError) -> UnaryCall)
        /// Runs in a task and writes any number of messages before the final status.
        case serverStreaming(
            @Sendable (UnsafeRawBufferPointer, ServerContext) throws(RPCError) -> StreamingCall
        )
    }

    /// The body of a unary call whose request has already been decoded (on the event loop).
    public struct UnaryCall: Sendable {
        public let run: @Sendable () async throws -> any RPCMessage
    }

    /// The body of a streaming call whose request has already been decoded; it gets a type-erased writer.
    public struct StreamingCall: Sendable {
        public let run: @Sendable (_ write: @escaping @Sendable (any RPCMessage) async throws -> Void) async throws -> Void
    }

    public let descriptor: MethodDescriptor
    public let handler: Handler
}

/// The table from method names to handlers that a server serves.
public struct ServiceRegistry: Sendable {
    public private(set) var methods: [String: RegisteredMethod] = [:]
    /// Runs before every call (authentication and authorization); a thrown error is the call's status.
    public var authorizer: (@Sendable (ServerContext) throws(RPCError) -> Void)?

    public init() {}

    /// The method registered under `fullName`, or nil.
    public func method(named fullName: String) -> RegisteredMethod? { self.methods[fullName] }

    private mutating func register(_ method: RegisteredMethod) {
        precondition(self.methods[method.descriptor.fullName] == nil, "\(method.descriptor) registered twice")
        self.methods[method.descriptor.fullName] = method
    }

    /// Registers a method that runs on the event loop. Use only for bounded work that never blocks.
    public mutating func inline<Request: RPCMessage, Response: RPCMessage>(
        _ descriptor: MethodDescriptor, _ handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        self.register(RegisteredMethod(descriptor: descriptor, handler: .inline { bytes, context in
            try handler(try Request(serializedBytes: bytes), context)
        }))
    }

    /// Registers a unary method that runs in a task.
    public mutating func unary<Request: RPCMessage, Response: RPCMessage>(
        _ descriptor: MethodDescriptor, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        self.register(RegisteredMethod(descriptor: descriptor, handler: .unary { bytes, context throws(RPCError) in
            let request = try Request(serializedBytes: bytes)
            return RegisteredMethod.UnaryCall { try await handler(request, context) }
        }))
    }

    /// Registers a server-streaming method that runs in a task.
    public mutating func serverStreaming<Request: RPCMessage, Response: RPCMessage>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerContext, StreamWriter<Response>) async throws -> Void
    ) {
        self.register(RegisteredMethod(
            descriptor: descriptor,
            handler: .serverStreaming { bytes, context throws(RPCError) in
                let request = try Request(serializedBytes: bytes)
                return RegisteredMethod.StreamingCall { write in
                    try await handler(request, context, StreamWriter(write: write))
                }
            }
        ))
    }
}

/// The typed writer a streaming handler receives.
public struct StreamWriter<Message: RPCMessage>: ResponseStreamWriter {
    let writeErased: @Sendable (any RPCMessage) async throws -> Void

    init(write: @escaping @Sendable (any RPCMessage) async throws -> Void) { self.writeErased = write }

    public func write(_ message: Message) async throws { try await self.writeErased(message) }
}
