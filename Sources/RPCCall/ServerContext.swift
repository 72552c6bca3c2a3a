public import RPCCore

/// Who is calling: the token a call was authenticated with. The call layer knows only what it needs for
/// authorization (the role's bit) and for logs and the audit trail (id, name, role name).
public struct Principal: Sendable, Hashable {
    /// The token's id ("tok_…"), never its secret.
    public let tokenID: String
    public let tokenName: String
    /// The role's name, for messages ("enrich_only").
    public let role: String
    /// The role as one bit of a `RoleSet`, so a method's access check is one AND.
    public let roleBit: RoleSet

    public init(tokenID: String, tokenName: String, role: String, roleBit: RoleSet) {
        self.tokenID = tokenID
        self.tokenName = tokenName
        self.role = role
        self.roleBit = roleBit
    }
}

/// A set of roles as bits; the services number their roles.
public struct RoleSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// The request id from the frame header, unique among the connection's calls in flight.
    public let requestID: UInt32
    public let method: MethodDescriptor
    /// The caller; nil for the open methods (Health), which need no token.
    public let principal: Principal?
    public let metadata: Metadata
    /// When the call must be answered by. Inline work checks it between slices; pool reads are answered
    /// DEADLINE_EXCEEDED at it; pool writes check it before their transaction commits.
    public let deadline: ContinuousClock.Instant
    /// The peer's address as text ("127.0.0.1:51234"), for logs and the audit trail.
    public let peer: String

    public init(
        requestID: UInt32, method: MethodDescriptor, principal: Principal?, metadata: Metadata,
        deadline: ContinuousClock.Instant, peer: String
    ) {
        self.requestID = requestID
        self.method = method
        self.principal = principal
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
    }
}
