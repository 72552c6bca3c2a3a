import Catalog
import EventJSON
import Mapping
import ModelCache
import RPCCall
import RPCCore
import RPCMessages
import Warehouses

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
            body, maxKeys: self.limits.maxLookupKeys, maxColumns: self.limits.maxRequestColumns, limits: self.limits.wire
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
        return .job(LookupJob(request: request, snapshot: snapshot, columns: columns, maxResponseBytes: self.limits.maxResponseBytes))
    }

    // MARK: - Enrich

    func enrich(_ body: UnsafeRawBufferPointer) throws(RPCError) -> InlineOutcome {
        let request = try EnrichRequestView.decode(
            body, maxEvents: self.limits.maxBatchEvents, maxEnrichments: self.limits.maxRequestColumns, limits: self.limits.wire
        )
        if !request.destination.isEmpty { return try self.enrichThroughDestination(request, body: body) }
        guard let keyPath = JSONPath(request.keyPath.string(in: body)) else {
            throw RPCError(
                .invalidArgument, "key path '\(request.keyPath.string(in: body))' is not a dotted path like 'properties.sku'"
            )
        }
        let snapshot = try self.snapshot(of: request.model.string(in: body))
        var targets: [(column: ColumnData, path: JSONPath)] = []
        for (columnSpan, keySpan) in request.enrichments {
            let column = columnSpan.string(in: body), key = keySpan.string(in: body)
            guard let index = snapshot.columnIndex(named: column) else {
                throw RPCError(.invalidArgument, "column '\(column)' does not exist in model '\(snapshot.model)'")
            }
            guard let path = JSONPath(key) else {
                throw RPCError(.invalidArgument, "enrichment key '\(key)' is not a dotted path")
            }
            targets.append((snapshot.columns[index], path))
        }
        return .job(PlainEnrichJob(
            events: request.events, keyPath: keyPath, snapshot: snapshot, targets: targets, limits: self.limits
        ))
    }

    /// One event through a model's enrichments, on the tree: parsed, looked up, written back.
    static func enrichOne(
        position: Int, bytes: UnsafeRawBufferPointer, keyPath: JSONPath, snapshot: ModelSnapshot,
        targets: [(column: ColumnData, path: JSONPath)], limits: Limits
    ) -> EnrichedEvent {
        guard bytes.count <= limits.maxEventBytes else {
            return EnrichedEvent(
                outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes),
                error: "event \(position) is \(bytes.count) bytes; the limit is \(limits.maxEventBytes)"
            )
        }
        var event: JSONValue
        do {
            event = try JSONParser.parse(bytes.assumingMemoryBound(to: UInt8.self))
        } catch {
            return EnrichedEvent(outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes), error: "event \(position): \(error)")
        }
        guard case .object = event else {
            return EnrichedEvent(
                outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes), error: "event \(position) is not a JSON object"
            )
        }
        let key: LookupKey
        switch event[path: keyPath] {
        case .string(let text): key = .string(text)
        case .int(let number): key = .int(number)
        case .double(let number) where number == number.rounded() && abs(number) < 9.2e18: key = .int(Int64(number))
        default: return EnrichedEvent(outcome: .notEnriched, reason: .noKey, event: Array(bytes))
        }
        guard let row = snapshot.row(for: key) else {
            return EnrichedEvent(outcome: .notEnriched, reason: .notFound, event: Array(bytes))
        }
        for target in targets { event.set(Self.json(target.column, row: row), at: target.path) }
        return EnrichedEvent(outcome: .enriched, event: JSONWriter.bytes(event))
    }

    /// A cell as JSON; timestamps become ISO-8601 strings, as Segment's payloads carry them.
    static func json(_ column: ColumnData, row: Int) -> JSONValue {
        if column.nulls.isNull(row) { return .null }
        switch column.storage {
        case .int64(let data): return .int(data[row])
        case .timestamp(let data): return .string(Timestamp.iso8601(microseconds: data[row]))
        case .double(let data): return .double(data[row])
        case .bool(let data): return .bool(data[row])
        case .string(let arena): return .string(arena.string(at: row))
        }
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

    func step(payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant) throws(RPCError) -> (any MessageSerializer)? {
        let total = self.request.keyCount
        while self.rows.count < total {
            let end = min(total, self.rows.count + Self.keysPerChunk)
            if self.request.intKeys.isEmpty {
                for index in self.rows.count..<end { self.rows.append(self.row(stringKey: self.request.stringKeys[index], payload)) }
            } else {
                for index in self.rows.count..<end { self.rows.append(self.row(intKey: self.request.intKeys[index])) }
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

    private func row(stringKey span: ByteSpan, _ payload: UnsafeRawBufferPointer) -> Int {
        let key = span.bytes(in: payload)
        if self.snapshot.hasStringKeys { return self.snapshot.row(forUTF8: key) ?? -1 }
        return self.snapshot.row(for: .string(String(decoding: key, as: UTF8.self))) ?? -1
    }

    private func row(intKey: Int64) -> Int {
        self.snapshot.hasStringKeys ? self.snapshot.row(for: .int(intKey)) ?? -1 : self.snapshot.row(forInt: intKey) ?? -1
    }
}

/// Enrich of a model's columns into events (no destination), an event at a time, on the tape: the key read and
/// the values spliced into the sender's bytes (`TapePlainEnrichment`), so nothing outside the enriched keys is
/// rewritten. An event the tape refuses (not JSON, not an object, too large) takes the tree path, which says why.
final class PlainEnrichJob: InlineJob {
    let events: [ByteSpan]
    let keyPath: JSONPath
    let snapshot: ModelSnapshot
    let targets: [(column: ColumnData, path: JSONPath)]
    let limits: Limits
    let plan: TapePlainEnrichment
    private var next = 0
    private var writer: EnrichResponseWriter
    private var tape = JSONTape()
    private var scratch = TapeScratch()

    init(events: [ByteSpan], keyPath: JSONPath, snapshot: ModelSnapshot, targets: [(column: ColumnData, path: JSONPath)], limits: Limits) {
        self.events = events
        self.keyPath = keyPath
        self.snapshot = snapshot
        self.targets = targets
        self.limits = limits
        self.plan = TapePlainEnrichment(keyPath: keyPath.components, targets: targets.map(\.path.components))
        self.writer = EnrichResponseWriter(reserving: events.reduce(64) { $0 + $1.count + 16 })
    }

    func step(payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant) throws(RPCError) -> (any MessageSerializer)? {
        while self.next < self.events.count {
            let bytes = self.events[self.next].bytes(in: payload)
            if !(bytes.count <= self.limits.maxEventBytes && self.enrichOnTape(bytes)) {
                self.writer.append(EnrichService.enrichOne(
                    position: self.next, bytes: bytes, keyPath: self.keyPath, snapshot: self.snapshot, targets: self.targets,
                    limits: self.limits
                ))
            }
            self.next += 1
            if ContinuousClock.now >= until && self.next < self.events.count { return nil }
        }
        return self.writer.finished()
    }

    /// Enriches one event on the tape and writes its answer; false (nothing written) when the tape refuses it.
    private func enrichOnTape(_ raw: UnsafeRawBufferPointer) -> Bool {
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        guard self.tape.parse(bytes), self.tape.nodes[0].kind == .object else { return false }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        self.scratch.startEvent()
        let (outcome, reason, output): (EnrichOutcome, MissReason, Range<Int>?) = self.tape.withView(bytes) { view in
            let event = TapeEvent(view)
            guard let key = self.plan.key(in: event) else { return (.notEnriched, .noKey, nil) }
            let row: Int?
            switch key {
            case .utf8(let text):
                row = self.snapshot.hasStringKeys
                    ? self.snapshot.row(forUTF8: UnsafeRawBufferPointer(text))
                    : self.snapshot.row(for: .string(String(decoding: text, as: UTF8.self)))
            case .string(let text): row = self.snapshot.row(for: .string(text))
            case .int(let number): row = self.snapshot.row(for: .int(number))
            }
            guard let row else { return (.notEnriched, .notFound, nil) }
            let spliced = self.plan.splice(event, scratch: &self.scratch) { target, output in
                PlainCells.write(self.targets[target].column, row: row, into: &output)
            }
            return (.enriched, .none, spliced)
        }
        if let output {
            self.scratch.outputs.withUnsafeBytes { outputs in
                self.writer.appendEvent(
                    outcome: outcome, reason: reason, event: UnsafeRawBufferPointer(rebasing: outputs[output]), error: empty,
                    mappingCount: 0
                ) { _ in preconditionFailure("no mappings") }
            }
        } else {
            self.writer.appendEvent(outcome: outcome, reason: reason, event: raw, error: empty, mappingCount: 0) { _ in
                preconditionFailure("no mappings")
            }
        }
        return true
    }
}

/// A cell as the plain Enrich path writes it into an event: exactly `JSONWriter.write(EnrichService.json(...))`
/// (integers with all their digits, timestamps as ISO-8601 strings), strings copied and escaped straight from
/// the arena.
enum PlainCells {
    static func write(_ column: ColumnData, row: Int, into output: inout [UInt8]) {
        if column.nulls.isNull(row) {
            output.append(contentsOf: "null".utf8)
            return
        }
        if case .string(let arena) = column.storage {
            let valid = arena.isValidUTF8
            let written = arena.withBytes(at: row) { bytes -> Bool in
                guard valid || UTF8Text.isValid(bytes.assumingMemoryBound(to: UInt8.self)) else { return false }
                JSONWriter.writeString(utf8: bytes, into: &output)
                return true
            }
            if written { return }
        }
        JSONWriter.write(EnrichService.json(column, row: row), into: &output)
    }
}
