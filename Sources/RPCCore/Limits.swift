/// Every limit the server enforces, in one place. Each default says why it is what it is.
///
/// Domain modules never import RPCCore; the server passes the values they need into their initialisers.
public struct Limits: Sendable, Hashable {
    /// Largest frame payload accepted. Checked from the frame header, before any payload is buffered.
    /// 8 MiB holds a batch of `maxBatchEvents` events of 8 KiB each, with room for the envelope.
    public var maxFramePayloadBytes: Int = 8 << 20
    /// Requests in flight on one connection; one more is refused with RESOURCE_EXHAUSTED. Bounds the memory
    /// and tasks one client can pin.
    public var maxInFlightRequestsPerConnection: Int = 1_024
    /// Connections served at once; one more is closed on accept. Each costs a TLS session (~40 KiB).
    public var maxConnections: Int = 4_096
    /// Keys in one Lookup. Matches Segment's largest batch and keeps one call under a millisecond.
    public var maxLookupKeys: Int = 10_000
    /// Columns named in one Lookup or Enrich. Segment's models have at most 512 columns.
    public var maxRequestColumns: Int = 512
    /// Events in one Enrich batch; Segment's batch API also stops at this order of size.
    public var maxBatchEvents: Int = 1_000
    /// Bytes of one event's JSON. Segment refuses events over 32 KiB.
    public var maxEventBytes: Int = 32 << 10
    /// How long a TLS handshake may take before the connection is closed.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long a connection may sit on half a frame before it is closed. Stops slow-loris clients.
    public var partialFrameTimeout: Duration = .seconds(10)
    /// How long a connection may be idle (no frame, no call in flight) before it is closed.
    public var idleTimeout: Duration = .seconds(300)
    /// Deadline for calls that name none.
    public var defaultDeadline: Duration = .seconds(30)
    /// Longest deadline a call may ask for; sync watches use the longest.
    public var maxDeadline: Duration = .seconds(3_600)
    /// Models in one ListModels page.
    public var maxPageSize: Int = 1_000
    /// Bytes of a name (model, column, destination, mapping).
    public var maxNameBytes: Int = 128
    /// Mappings in one destination. Segment allows 50 actions per destination; room to spare.
    public var maxDestinationMappings: Int = 100
    /// Bytes of one mapping's field mappings (mapping-kit JSON).
    public var maxMappingFieldsBytes: Int = 64 << 10
    /// Bytes of one mapping's condition (FQL).
    public var maxConditionBytes: Int = 4 << 10
    /// Warehouses the catalog holds (besides the embedded one).
    public var maxWarehouses: Int = 64
    /// Bytes of a warehouse's connection string or password.
    public var maxConnectionBytes: Int = 4 << 10

    public init() {}
}
