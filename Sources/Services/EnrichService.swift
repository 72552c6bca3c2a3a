import Catalog
import Enrichment
import EventJSON
import Mapping
import ModelCache
import RPCCall
import RPCCore
import RPCMessages

/// Enrich RPCs. Lookup and Enrich run inline on the event loop (they read an immutable snapshot; their work is
/// bounded by the batch limits and cut into slices by the call layer); Enrich through a destination whose
/// mappings have field mappings (which may render Liquid) moves to the work pool, as does TestMapping.
struct EnrichService: Sendable {
    let cache: ModelCache
    let catalog: Catalog
    let limits: Limits
    let destinations: DestinationRegistry
    let destinationService: DestinationService

    func register(into router: inout Router) {
        router.inline(Methods.lookup) { body, _ throws(RPCError) in try self.lookup(body) }
        router.inline(Methods.enrich) { body, _ throws(RPCError) in try self.enrich(body) }
        router.unary(Methods.testMapping) { (request: TestMappingRequest, _) in
            try self.testMapping(request, destinations: self.destinationService)
        }
    }

    /// The snapshot being served for `model`, or the precise reason there is none.
    func snapshot(of model: String) throws(RPCError) -> ModelSnapshot {
        guard !model.isEmpty else { throw RPCError(.invalidArgument, "model name is empty") }
        if let snapshot = self.cache.snapshot(of: model) { return snapshot }
        // Only the miss path reads the catalog, to tell "unknown" from "not synced yet".
        guard (try? self.catalog.model(named: model)) != nil else {
            throw RPCError(.notFound, "model '\(model)' does not exist")
        }
        throw RPCError(.failedPrecondition, "model '\(model)' has no synced data yet; run a sync first")
    }

    // MARK: - Lookup

    func lookup(_ body: UnsafeRawBufferPointer) throws(RPCError) -> InlineOutcome {
        let request = try LookupRequestView.decode(
            body, maxKeys: self.limits.maxLookupKeys, maxColumns: self.limits.maxRequestColumns,
            limits: self.limits.wire
        )
        guard request.stringKeys.isEmpty || request.intKeys.isEmpty else {
            throw RPCError(.invalidArgument, "send keys as string_keys or int_keys, not both")
        }
        let snapshot = try self.snapshot(of: request.model.string(in: body))
        var columns: [ColumnData] = []
        if request.columns.isEmpty {
            columns = snapshot.columns
        } else {
            columns.reserveCapacity(request.columns.count)
            for span in request.columns {
                let name = span.string(in: body)
                guard let index = snapshot.columnIndex(named: name) else {
                    throw RPCError(.invalidArgument, "column '\(name)' does not exist in model '\(snapshot.model)'")
                }
                columns.append(snapshot.columns[index])
            }
        }
        return .job(
            LookupJob(
                request: request, snapshot: snapshot, columns: columns, maxResponseBytes: self.limits.maxResponseBytes))
    }

    // MARK: - Enrich

    func enrich(_ body: UnsafeRawBufferPointer) throws(RPCError) -> InlineOutcome {
        let request = try EnrichRequestView.decode(
            body, maxEvents: self.limits.maxBatchEvents, maxEnrichments: self.limits.maxRequestColumns,
            limits: self.limits.wire
        )
        if !request.destination.isEmpty { return try self.enrichThroughDestination(request, body: body) }
        guard let keyPath = JSONPath(request.keyPath.string(in: body)) else {
            throw RPCError(
                .invalidArgument,
                "key path '\(request.keyPath.string(in: body))' is not a dotted path like 'properties.sku'"
            )
        }
        let snapshot = try self.snapshot(of: request.model.string(in: body))
        var targets: [KeyedEnrichment.Target] = []
        for (columnSpan, keySpan) in request.enrichments {
            let column = columnSpan.string(in: body)
            let key = keySpan.string(in: body)
            guard let index = snapshot.columnIndex(named: column) else {
                throw RPCError(.invalidArgument, "column '\(column)' does not exist in model '\(snapshot.model)'")
            }
            guard let path = JSONPath(key) else {
                throw RPCError(.invalidArgument, "enrichment key '\(key)' is not a dotted path")
            }
            targets.append(KeyedEnrichment.Target(column: snapshot.columns[index], path: path))
        }
        let engine = KeyedEnrichment(
            keyPath: keyPath, snapshot: snapshot, targets: targets, maxEventBytes: self.limits.maxEventBytes)
        return .job(PlainEnrichJob(events: request.events, engine: engine))
    }
}

// MARK: - Jobs

/// A Lookup in slices: keys are resolved to rows a chunk at a time, then the answer is sized; a small answer is
/// written straight into the outbound buffer, a large one column by column (and row range by row range) into a
/// buffer of its own, the clock checked between chunks.
final class LookupJob: InlineJob {
    let request: LookupRequestView
    let snapshot: ModelSnapshot
    let columns: [ColumnData]
    let maxResponseBytes: Int
    private var rows: [Int] = []
    private var encoding: EncodedLookupResponse?
    private var output: [UInt8] = []
    private var written = 0
    /// Encoding position in the large-answer path: the column, and the next key position within it (-1: the
    /// column's start is not written yet).
    private var column = -1
    private var position = -1

    /// Keys resolved between clock checks.
    static let keysPerChunk = 256
    /// Cells written between clock checks.
    static let cellsPerChunk = 4_096
    /// Answers of at most this many cells are written in one go, at serialization.
    static let directCells = 32_768

    init(request: LookupRequestView, snapshot: ModelSnapshot, columns: [ColumnData], maxResponseBytes: Int) {
        self.request = request
        self.snapshot = snapshot
        self.columns = columns
        self.maxResponseBytes = maxResponseBytes
        self.rows.reserveCapacity(request.keyCount)
    }

    func step(
        payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant
    ) throws(RPCError) -> (any MessageSerializer)? {
        let total = self.request.keyCount
        while self.rows.count < total {
            let end = min(total, self.rows.count + Self.keysPerChunk)
            let first = self.rows.count
            if self.request.intKeys.isEmpty {
                let keys = self.request.stringKeys
                self.snapshot.rows(
                    forUTF8Keys: end - first, key: { keys[first + $0].bytes(in: payload) }, into: &self.rows)
            } else {
                self.request.intKeys.withUnsafeBufferPointer { keys in
                    self.snapshot.rows(forIntKeys: UnsafeBufferPointer(rebasing: keys[first..<end]), into: &self.rows)
                }
            }
            if ContinuousClock.now >= until { return nil }
        }
        if self.encoding == nil {
            let encoding = EncodedLookupResponse(rows: self.rows, columns: self.columns)
            guard encoding.total <= self.maxResponseBytes else {
                throw RPCError(
                    .resourceExhausted,
                    "the answer would be \(encoding.total) bytes; the limit is \(self.maxResponseBytes): ask for fewer keys or columns"
                )
            }
            if total * self.columns.count <= Self.directCells { return encoding }
            self.encoding = encoding
            self.output = [UInt8](repeating: 0, count: encoding.total)
            if ContinuousClock.now >= until { return nil }
        }
        return self.encodeLarge(until: until)
    }

    private func encodeLarge(until: ContinuousClock.Instant) -> (any MessageSerializer)? {
        guard let encoding = self.encoding else { return nil }
        let keys = self.rows.count
        let done: Bool = self.output.withUnsafeMutableBytes { buffer in
            var writer = RawProtobufWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[self.written...]))
            defer { self.written += writer.offset }
            if self.column < 0 {
                encoding.writeFound(&writer)
                self.column = 0
            }
            while self.column < encoding.columns.count {
                if self.position < 0 {
                    encoding.writeColumnStart(self.column, &writer)
                    self.position = 0
                }
                let end = min(keys, self.position + Self.cellsPerChunk)
                encoding.writeValues(self.column, rows: self.position..<end, &writer)
                self.position = end
                if self.position == keys {
                    self.column += 1
                    self.position = -1
                }
                if ContinuousClock.now >= until { return self.column == encoding.columns.count }
            }
            return true
        }
        guard done else { return nil }
        precondition(self.written == encoding.total, "LookupResponse sized \(encoding.total), written \(self.written)")
        return PreEncodedMessage(bytes: self.output)
    }
}

/// Enrich of a model's columns into events (no destination), an event at a time (`KeyedEnrichment`), the
/// clock read every few events (`ClockCheck`).
final class PlainEnrichJob: InlineJob {
    let events: [ByteSpan]
    private var engine: KeyedEnrichment
    private var next = 0
    private var writer: WireSink
    private var clock = ClockCheck()

    init(events: [ByteSpan], engine: KeyedEnrichment) {
        self.events = events
        self.engine = engine
        self.writer = WireSink(reserving: events.reduce(64) { $0 + $1.count + 16 })
    }

    func step(
        payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant
    ) throws(RPCError) -> (any MessageSerializer)? {
        while self.next < self.events.count {
            let event = self.events[self.next].bytes(in: payload)
            self.engine.enrich(event, position: self.next, into: &self.writer)
            self.next += 1
            if self.clock.due(after: event.count), ContinuousClock.now >= until, self.next < self.events.count {
                return nil
            }
        }
        return self.writer.finished()
    }
}

/// When a job that works event by event reads the clock to see whether its slice is over: after `maxEvents`
/// events or `maxBytes` of them, whichever comes first. Reading it after every event cost 2.5 % of Enrich's CPU
/// (perf, batch 1000); a plain event takes about two microseconds, so a few go by between reads, while an event
/// whose work grows with its size (conditions scan its text, enrichments splice it) is followed by a read at
/// once. The worst small event (the heaviest conditions the limits allow, ~40 µs) can overrun a slice by
/// `maxEvents - 1` of itself: Scripts/chaos.sh's heavy-conditions case measured the longest slice at 0.36–0.80 ms
/// over three runs with 4 (0.63 ms with 8; 0.33–0.36 ms reading after every event), against its 2 ms bound.
struct ClockCheck {
    static let maxEvents = 4
    static let maxBytes = 4 << 10
    private var events = 0
    private var bytes = 0

    /// Counts one event of `eventBytes`; true when the clock is due.
    mutating func due(after eventBytes: Int) -> Bool {
        self.events += 1
        self.bytes += eventBytes
        guard self.events >= Self.maxEvents || self.bytes >= Self.maxBytes else { return false }
        self.events = 0
        self.bytes = 0
        return true
    }
}
