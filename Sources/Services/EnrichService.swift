import Catalog
import EventJSON
import ModelCache
import RPCCore
import RPCMessages
import Warehouses

/// Enrich RPCs. Both run inline on the event loop: they only read an immutable snapshot, and their work is
/// bounded by the batch limits.
struct EnrichService: Sendable {
    let cache: ModelCache
    let catalog: Catalog
    let limits: Limits
    let destinations: DestinationRegistry
    let destinationService: DestinationService

    func register(into registry: inout ServiceRegistry) {
        registry.inline(Methods.lookup) { (request: LookupRequest, _) in try self.lookup(request) }
        registry.inline(Methods.enrich) { (request: EnrichRequest, _) in
            try Validation.count(request.events.count, of: "events", limit: self.limits.maxBatchEvents)
            if !request.destination.isEmpty { return try self.enrichThroughDestination(request) }
            let response = try self.enrich(request)
            var writer = EnrichResponseWriter(reserving: response.events.reduce(64) { $0 + $1.event.count + 16 })
            for event in response.events { writer.append(event) }
            return writer.finished()
        }
        registry.inline(Methods.testMapping) { (request: TestMappingRequest, _) in
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

    private func columnIndexes(_ names: [String], in snapshot: ModelSnapshot) throws(RPCError) -> [Int] {
        if names.isEmpty { return Array(snapshot.columns.indices) }
        var indexes: [Int] = []
        indexes.reserveCapacity(names.count)
        for name in names {
            guard let index = snapshot.columnIndex(named: name) else {
                throw RPCError(.invalidArgument, "column '\(name)' does not exist in model '\(snapshot.model)'")
            }
            indexes.append(index)
        }
        return indexes
    }

    // MARK: - Lookup

    func lookup(_ request: LookupRequest) throws(RPCError) -> EncodedLookupResponse {
        guard request.stringKeys.isEmpty || request.intKeys.isEmpty else {
            throw RPCError(.invalidArgument, "send keys as string_keys or int_keys, not both")
        }
        let keyCount = request.stringKeys.count + request.intKeys.count
        try Validation.count(keyCount, of: "keys", limit: self.limits.maxLookupKeys)
        try Validation.count(request.columns.count, of: "columns", limit: self.limits.maxRequestColumns)
        let snapshot = try self.snapshot(of: request.model)
        let indexes = try self.columnIndexes(request.columns, in: snapshot)
        var rows: [Int?] = []
        rows.reserveCapacity(keyCount)
        if request.intKeys.isEmpty {
            for key in request.stringKeys { rows.append(snapshot.row(for: .string(key))) }
        } else {
            for key in request.intKeys { rows.append(snapshot.row(for: .int(key))) }
        }
        return EncodedLookupResponse(rows: rows, columns: indexes.map { snapshot.columns[$0] })
    }

    // MARK: - Enrich

    func enrich(_ request: EnrichRequest) throws(RPCError) -> EnrichResponse {
        try Validation.count(request.events.count, of: "events", limit: self.limits.maxBatchEvents)
        try Validation.count(request.enrichments.count, of: "enrichments", limit: self.limits.maxRequestColumns)
        guard let keyPath = JSONPath(request.keyPath) else {
            throw RPCError(.invalidArgument, "key path '\(request.keyPath)' is not a dotted path like 'properties.sku'")
        }
        let snapshot = try self.snapshot(of: request.model)
        var targets: [(column: ColumnData, path: JSONPath)] = []
        for enrichment in request.enrichments {
            guard let index = snapshot.columnIndex(named: enrichment.column) else {
                throw RPCError(.invalidArgument, "column '\(enrichment.column)' does not exist in model '\(snapshot.model)'")
            }
            guard let path = JSONPath(enrichment.key) else {
                throw RPCError(.invalidArgument, "enrichment key '\(enrichment.key)' is not a dotted path")
            }
            targets.append((snapshot.columns[index], path))
        }
        return EnrichResponse(events: request.events.enumerated().map { position, bytes in
            self.enrichOne(position: position, bytes: bytes, keyPath: keyPath, snapshot: snapshot, targets: targets)
        })
    }

    private func enrichOne(
        position: Int, bytes: [UInt8], keyPath: JSONPath, snapshot: ModelSnapshot,
        targets: [(column: ColumnData, path: JSONPath)]
    ) -> EnrichedEvent {
        guard bytes.count <= self.limits.maxEventBytes else {
            return EnrichedEvent(
                outcome: .notEnriched, reason: .invalidEvent, event: [],
                error: "event \(position) is \(bytes.count) bytes; the limit is \(self.limits.maxEventBytes)"
            )
        }
        var event: JSONValue
        do {
            event = try JSONParser.parse(bytes)
        } catch {
            return EnrichedEvent(outcome: .notEnriched, reason: .invalidEvent, event: bytes, error: "event \(position): \(error)")
        }
        guard case .object = event else {
            return EnrichedEvent(
                outcome: .notEnriched, reason: .invalidEvent, event: bytes, error: "event \(position) is not a JSON object"
            )
        }
        let key: LookupKey
        switch event[path: keyPath] {
        case .string(let text): key = .string(text)
        case .int(let number): key = .int(number)
        case .double(let number) where number == number.rounded() && abs(number) < 9.2e18: key = .int(Int64(number))
        default: return EnrichedEvent(outcome: .notEnriched, reason: .noKey, event: bytes)
        }
        guard let row = snapshot.row(for: key) else {
            return EnrichedEvent(outcome: .notEnriched, reason: .notFound, event: bytes)
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
