public import RPCCore

/// Who may call a method.
public enum Access: Sendable, Hashable {
    /// Anyone, without a token (Health).
    case open
    /// Tokens whose role is in the set.
    case roles(RoleSet)
}

/// The result of an inline handler: an answer at once, a job the call layer runs in slices on the event loop,
/// or a job it moves to the work pool (a destination whose mappings render Liquid, say).
public enum InlineOutcome {
    case response(any MessageSerializer)
    case job(any InlineJob)
    case offload(any InlineJob)
}

/// Inline work that may take more than one slice. The call layer calls `step` until it returns an answer,
/// handing it the request's bytes each time (the payload outlives the job; the job keeps offsets, not pointers).
///
/// A job is used by one thread at a time: the connection's event loop, or one pool task when offloaded.
public protocol InlineJob: AnyObject {
    /// Works until done or until `until` passes, then returns the answer, or nil to be called again.
    /// - Throws: `RPCError` to end the call with that status.
    func step(
        payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant
    ) throws(RPCError) -> (any MessageSerializer)?
}

/// The writer a streaming handler sends its messages through; `write` waits while the connection's output is
/// over its limit, so a client that stops reading stops the stream instead of growing the server.
public struct StreamWriter<Message: MessageSerializer>: Sendable {
    let writeErased: @Sendable (any MessageSerializer) async throws -> Void

    init(write: @escaping @Sendable (any MessageSerializer) async throws -> Void) { self.writeErased = write }

    /// Sends one message.
    /// - Throws: `CancellationError` when the call ended (cancelled, deadline, token revoked, peer gone).
    public func write(_ message: Message) async throws { try await self.writeErased(message) }
}

/// The method table a server serves: each method with its cost class, its access and its handler.
public struct Router: Sendable {
    /// One registered method.
    public struct Method: Sendable {
        public let descriptor: MethodDescriptor
        /// Position in the table, for per-method metrics arrays.
        public let index: Int
        public let cost: CostClass
        public let access: Access
        /// Whether the method changes state (and is audited). Writes are never answered by a timer: they check
        /// the deadline before committing and answer what happened.
        public let isWrite: Bool
        /// The full name's UTF-8, compared against a request header's bytes without making a String.
        let nameBytes: [UInt8]
        let handler: Handler
    }

    enum Handler: Sendable {
        case inline(@Sendable (UnsafeRawBufferPointer, ServerContext) throws(RPCError) -> InlineOutcome)
        /// Decodes the request (on the pool's thread) and returns the work to await.
        case pool(
            @Sendable (UnsafeRawBufferPointer, WireLimits, ServerContext) throws(RPCError)
                -> @Sendable () async throws -> any MessageSerializer
        )
        /// Decodes the request (on the stream task's thread) and returns the stream's body.
        case stream(
            @Sendable (UnsafeRawBufferPointer, WireLimits, ServerContext, StreamWriter<AnyMessage>) throws(RPCError)
                -> @Sendable () async throws -> Void
        )
    }

    public private(set) var methods: [Method] = []
    private var byName: [String: Int] = [:]
    /// Decides each method's access when it is registered, so no method is served without a decision.
    private let access: @Sendable (MethodDescriptor) -> Access?

    /// - Parameter access: who may call each method; returning nil for a method is a programming error, caught
    ///   when the method is registered.
    public init(access: @escaping @Sendable (MethodDescriptor) -> Access?) { self.access = access }

    /// The method registered under `fullName`, or nil.
    public func method(named fullName: String) -> Method? { self.byName[fullName].map { self.methods[$0] } }

    /// The method whose full name is exactly `bytes`, or nil.
    public func method(nameBytes bytes: UnsafeRawBufferPointer) -> Method? {
        guard let name = String(validating: bytes, as: UTF8.self) else { return nil }
        return self.method(named: name)
    }

    private mutating func register(_ descriptor: MethodDescriptor, cost: CostClass, isWrite: Bool, _ handler: Handler) {
        precondition(self.byName[descriptor.fullName] == nil, "\(descriptor) registered twice")
        precondition(
            descriptor.cost == nil || descriptor.cost == cost,
            "\(descriptor) is declared @cost \(descriptor.cost?.rawValue ?? "") but registered as \(cost.rawValue)"
        )
        guard let access = self.access(descriptor) else { preconditionFailure("no access rule for \(descriptor)") }
        self.byName[descriptor.fullName] = self.methods.count
        self.methods.append(
            Method(
                descriptor: descriptor, index: self.methods.count, cost: cost, access: access, isWrite: isWrite,
                nameBytes: Array(descriptor.fullName.utf8), handler: handler
            ))
    }

    /// Registers a method that runs on the event loop; the handler decodes the request itself (the hot paths use
    /// `RequestViews`) and answers, or returns a job for the call layer to run in slices.
    public mutating func inline(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (UnsafeRawBufferPointer, ServerContext) throws(RPCError) -> InlineOutcome
    ) {
        self.register(descriptor, cost: .inline, isWrite: false, .inline(handler))
    }

    /// Registers a small inline method with a protobuf-c decoded request (Health).
    public mutating func inline<Request: MessageDeserializer, Response: MessageSerializer>(
        _ descriptor: MethodDescriptor, limits: WireLimits,
        _ handler: @escaping @Sendable (Request, ServerContext) throws(RPCError) -> Response
    ) {
        self.register(
            descriptor, cost: .inline, isWrite: false,
            .inline { bytes, context throws(RPCError) in
                .response(try handler(try Request(serializedBytes: bytes, limits: limits), context))
            })
    }

    /// Registers a unary method that runs on the work pool; its request is decoded there too. Methods the
    /// descriptor marks `isWrite` change state: they are audited and never answered by a timer.
    public mutating func unary<Request: MessageDeserializer, Response: MessageSerializer>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        self.register(
            descriptor, cost: .pool, isWrite: descriptor.isWrite,
            .pool { bytes, limits, context throws(RPCError) in
                let request = try Request(serializedBytes: bytes, limits: limits)
                return { try await handler(request, context) }
            })
    }

    /// Registers a server-streaming method.
    public mutating func serverStreaming<Request: MessageDeserializer, Response: MessageSerializer>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerContext, StreamWriter<Response>) async throws -> Void
    ) {
        self.register(
            descriptor, cost: .stream, isWrite: false,
            .stream { bytes, limits, context, writer throws(RPCError) in
                let request = try Request(serializedBytes: bytes, limits: limits)
                return { try await handler(request, context, StreamWriter(write: writer.writeErased)) }
            })
    }
}

/// A type-erased message for the stream handler's signature.
public struct AnyMessage: MessageSerializer {
    let base: any MessageSerializer
    public func serialize(into writer: inout some SerializedMessageWriter) { self.base.serialize(into: &writer) }
}
