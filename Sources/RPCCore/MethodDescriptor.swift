/// How a method's work runs: every method declares one (in its proto comment, `@cost`), and the call layer holds
/// it to it.
public enum CostClass: String, Sendable, Hashable {
    /// Bounded and small by construction (cache reads: Lookup, Enrich without Liquid, Health): decoded and run on
    /// the connection's event loop with no thread hop and no timer, in slices of at most
    /// `Limits.inlineSliceBudget`, the deadline checked before starting and between slices.
    case inline
    /// Work that cannot be bounded tightly (the catalog, warehouses, Liquid): decoded and run on the bounded
    /// `WorkPool`, refused with RESOURCE_EXHAUSTED when its queue is full.
    case pool
    /// Server streaming (sync watches): a task of its own, re-authorized every
    /// `Limits.streamRevalidationInterval`, ended first when the server drains.
    case stream
}

/// Names a method on the wire as "enrich.v1.<Service>/<Method>", with the policy its proto declares (the
/// generated `Methods` table carries it; descriptors made by hand, in tests, may leave it open).
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let service: String
    public let method: String
    /// Where the method's work runs; nil leaves it to how the method is registered.
    public let cost: CostClass?
    /// The role names allowed to call it; nil means anyone, without a token.
    public let roles: [String]?
    /// Whether the method changes state: audited, and never answered by a timer.
    public let isWrite: Bool
    /// The request and response message names, for docs and errors.
    public let request: String
    public let response: String

    public init(
        service: String, method: String, cost: CostClass? = nil, roles: [String]? = nil, isWrite: Bool = false,
        request: String = "", response: String = ""
    ) {
        self.service = service
        self.method = method
        self.cost = cost
        self.roles = roles
        self.isWrite = isWrite
        self.request = request
        self.response = response
    }

    /// The name a request header carries, for example "enrich.v1.Enrich/Lookup".
    public var fullName: String { "\(self.service)/\(self.method)" }

    public var description: String { self.fullName }
}
