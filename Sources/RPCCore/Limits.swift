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
    /// Bytes of a request's header (method, token, deadline, metadata), far below the frame limit: the header is
    /// read before the token is checked, so this is all an unauthenticated client can make the server decode.
    public var maxRequestHeaderBytes: Int = 8 << 10
    /// Metadata entries in one request header.
    public var maxMetadataEntries: Int = 32
    /// Bounds applied while decoding any message (repeated entries, string bytes, nesting, unknown fields).
    public var wire = WireLimits()

    // MARK: Backpressure

    /// Request bytes the calls in flight on one connection may hold; past it the connection is not read until
    /// calls finish. Holds four maximum frames.
    public var maxConnectionInFlightBytes: Int = 32 << 20
    /// Request bytes the calls in flight on the whole server may hold; past it no connection is read until
    /// calls finish. 512 MiB on a 24 GiB machine leaves the cache its room.
    public var maxServerInFlightBytes: Int = 512 << 20
    /// What one connection's unsent answers may cost: the connection stops being read once half of this waits
    /// for the peer (the other half covers what is being answered meanwhile), and resumes when the peer reads.
    /// A client that never reads costs at most about this, plus one answer larger than it.
    public var maxConnectionOutboundBytes: Int = 4 << 20
    /// Bytes of one answer. A Lookup whose answer would be larger is refused before it is built; clients accept
    /// frames of this size.
    public var maxResponseBytes: Int = 32 << 20

    // MARK: Where work runs

    /// Longest an inline job runs on an event loop before it lets other connections go first. With one event's
    /// or one chunk of keys' worst cost on top, no call holds a loop longer than `maxLoopHold`.
    public var inlineSliceBudget: Duration = .microseconds(250)
    /// The bound on any single hold of an event loop by one call, which the chaos script checks against the
    /// `enrich_loop_slice_max_seconds` metric under the worst inputs the limits allow.
    public var maxLoopHold: Duration = .milliseconds(2)
    /// Pool calls running at once (catalog, warehouses, Liquid, TestMapping).
    public var poolRunners: Int = 8
    /// Pool calls waiting to run; one more is refused with RESOURCE_EXHAUSTED.
    public var poolQueue: Int = 256
    /// Pool calls one connection may have running or waiting; keeps one client from filling the queue.
    public var maxPoolCallsPerConnection: Int = 32
    /// Server streams (sync watches) open on one connection.
    public var maxStreamsPerConnection: Int = 16
    /// How often a stream's token is checked again: a revoked or expired token ends its streams within this.
    public var streamRevalidationInterval: Duration = .milliseconds(250)
    /// How long a draining server waits for calls in flight before answering them UNAVAILABLE and closing.
    public var drainGracePeriod: Duration = .seconds(10)
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
