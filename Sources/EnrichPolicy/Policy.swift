// Every limit enrichd enforces, in one file: what each bounds, its number, and why the number. `Policy` composes
// them and the server hands each module its slice (EnrichServer/ServerConfiguration.swift): the RPC layers get
// `ServerLimits` (with `WireLimits`), the sync engine `SyncLimits`, the mapping languages `LanguageLimits`, the SDK
// only `ClientLimits`. Every limit is tested at N and N+1; README "Hostile clients, limits and faults" lists them.
//
// This module imports nothing, so every module can take its slice without depending on another.

/// Every limit, composed.
public struct Policy: Sendable, Hashable {
    /// Transport, requests, bulkheads and admin inputs.
    public var server = ServerLimits()
    /// Models, rows, retries, snapshot files and schedules.
    public var sync = SyncLimits()
    /// FQL conditions, Liquid and mapping-kit, per event.
    public var languages = LanguageLimits()

    public init() {}

    /// What a client needs to talk to a server with this policy.
    public var client: ClientLimits {
        var client = ClientLimits()
        client.maxResponseFrameBytes = self.server.maxResponseBytes + ClientLimits.envelopeAllowance
        client.wire = self.server.wire
        return client
    }
}

// MARK: - Server

public struct ServerLimits: Sendable, Hashable {
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
    /// Runs one ListSyncRuns returns.
    public var maxListedRuns: Int = 1_000
    /// Longest lifetime a token may be given: ten years.
    public var maxTokenLifetimeSeconds: UInt64 = 10 * 365 * 86_400
    /// Refused attempts waiting to be written to the audit trail; past it a flood is counted and summarised in
    /// one record per batch instead of a catalog write per attempt.
    public var maxQueuedAuditRefusals: Int = 1_000

    public init() {}
}

/// Bounds applied while a message is decoded, so a hostile encoding cannot make the decoder allocate or loop in
/// proportion to a count it chose. Sizes are already bounded by the frame; these bound what a frame can expand to.
public struct WireLimits: Sendable, Hashable {
    /// Entries one repeated field may hold in one message (and times a singular field may repeat).
    public var maxRepeatedEntries: Int = 10_000
    /// Bytes of one string field.
    public var maxStringBytes: Int = 1 << 20
    /// Messages nested inside messages.
    public var maxNestingDepth: Int = 16
    /// Fields of unknown numbers one message may carry (kept by the decoder for forward compatibility).
    public var maxUnknownFields: Int = 64

    public init() {}
}

// MARK: - Sync

/// Models, rows, retries, snapshot files and schedules.
public struct SyncLimits: Sendable, Hashable {
    /// Most columns a model may have (Segment's limit).
    public var maxColumns: Int = 512
    /// Most rows a model may have; the run fails past it (Segment: 100M).
    public var maxRows: Int = 100_000_000
    /// Largest row accepted; larger ones are left out and reported (Segment: 512 KiB).
    public var maxRowBytes: Int = 512 << 10
    /// Row issues (rejected rows) a run keeps in detail; the rest are only counted.
    public var maxRecordedIssues: Int = 100
    /// Largest snapshot file read back at start (16 GiB); a bigger one is refused rather than exhausting memory.
    public var maxSnapshotFileBytes: Int = 16 << 30
    /// Shortest and longest `every` schedule: 15 minutes (a warehouse is not a queue) to a day.
    public var minimumScheduleIntervalSeconds: Int = 15 * 60
    public var maximumScheduleIntervalSeconds: Int = 86_400
    /// Failed rows: retried on later syncs, as Segment does.
    public var retry = RetryLimits()

    public init() {}
}

/// Segment's retry rule for failed records: retried on later syncs for up to 5 syncs or 14 days, then given up.
public struct RetryLimits: Sendable, Hashable {
    public var maxAttempts: Int = 5
    public var maxAgeMilliseconds: Int64 = 14 * 24 * 3_600 * 1_000
    /// Failed rows tracked per model; past it, further failures are counted and reported but not retried
    /// individually (a broken source fails every row, and the state must not grow with it).
    public var maxTrackedFailures: Int = 10_000

    public init() {}
}

// MARK: - Languages

/// What one event may cost in each of Segment's languages. Exceeding one is an error for that event (or that
/// mapping), never for the batch or the server.
public struct LanguageLimits: Sendable, Hashable {
    /// Deepest nesting of arrays and objects in an event's (or a mapping's) JSON: deeper input is refused, so
    /// hostile input cannot exhaust a recursive reader's stack. Structural: the JSON parser and tape read it.
    public static let maxJSONDepth = 64

    public var conditions = ConditionLimits()
    public var liquid = LiquidLimits()
    public var mappingKit = MappingKitLimits()

    public init() {}
}

/// FQL conditions, per event.
public struct ConditionLimits: Sendable, Hashable {
    /// Bytes of text the string operators (`contains`, `match`) may examine for one event: 256 KiB, eight scans of
    /// the largest event's whole text, which no real condition needs (string operators read one property each).
    /// Every leaf of a 4 KiB condition reading a 32 KiB event would be 2.5 MiB: the worst conditions are refused,
    /// not served slowly.
    public var maxScanBytes: Int = 256 << 10
    /// Leaves one event's evaluation may evaluate.
    public var maxLeaves: Int = 1_000

    public init() {}
}

/// Liquid templates (`@liquid`).
public struct LiquidLimits: Sendable, Hashable {
    /// Characters of one template (Segment's limit), checked when a destination is written.
    public var maxTemplateCharacters: Int = 1_000
    /// Tags, outputs and filters one render may evaluate.
    public var maxRenderSteps: Int = 10_000
    /// Characters one render may print.
    public var maxOutputCharacters: Int = 100_000
    /// Characters of any one value: an assign, a capture, every filter result (sized before it is built where
    /// it can be: join, replace).
    public var maxValueCharacters: Int = 100_000
    /// Characters one render may make in all, printed or not: a loop of appends stops here.
    public var maxProducedCharacters: Int = 1_000_000

    public init() {}
}

/// Mapping-kit field mappings, per event.
public struct MappingKitLimits: Sendable, Hashable {
    /// Directives one event's mapping may resolve.
    public var maxSteps: Int = 100_000
    /// Bytes of one intermediate value (@template, @replace, @json, @case, @liquid, @flatten keys).
    public var maxValueBytes: Int = 256 << 10
    /// Bytes of text one event's mapping may make in all.
    public var maxProducedBytes: Int = 1 << 20
    /// Characters of a @replace pattern and replacement: Segment's validator refuses longer ones, so these are
    /// part of the language (mapping-kit's vectors test them), read by the validator, not a knob.
    public static let maxReplacePatternCharacters = 10
    public static let maxReplacementCharacters = 10

    public init() {}
}

// MARK: - Client

/// What the SDK needs: how large an answer it accepts, how it decodes, how long it waits to connect.
public struct ClientLimits: Sendable, Hashable {
    /// Room for the response envelope on top of the server's largest answer.
    public static let envelopeAllowance = 1 << 20
    /// Largest frame accepted from the server: its largest answer (`ServerLimits.maxResponseBytes`) plus the
    /// envelope.
    public var maxResponseFrameBytes: Int = (32 << 20) + ClientLimits.envelopeAllowance
    /// Bounds applied while decoding answers.
    public var wire = WireLimits()
    /// How long connecting (TCP and TLS) may take.
    public var connectTimeout: Duration = .seconds(10)

    public init() {}
}
