import EventJSON
import Mapping
import ModelCache
import RPCCall
import RPCCore
import RPCMessages

/// Enrich through a destination's mappings, and the TestMapping dry run, which shares every step with it so
/// it shows exactly what live traffic gets.
extension EnrichService {
    /// The snapshots a destination's mappings need, fetched once per request.
    func snapshots(for compiled: DestinationRegistry.Compiled) -> [String: ModelSnapshot] {
        var snapshots: [String: ModelSnapshot] = [:]
        for model in compiled.tables.keys { snapshots[model] = self.cache.snapshot(of: model) }
        return snapshots
    }

    /// Finds a model row for a key value: integers as integers, anything else by its text. With `needed`, a
    /// found row carries only the columns listed for its model (a model listed as nil, or missing, gets all).
    static func lookup(
        snapshots: [String: ModelSnapshot], tables: [String: (schema: String, table: String)],
        needed: [String: Set<String>?] = [:]
    ) -> (Mapping.ModelMatch, MappingValue) -> EntityResult {
        // Column positions per model, worked out once per request rather than per event.
        var positions: [String: [Int]] = [:]
        for (model, snapshot) in snapshots {
            guard case .some(.some(let names)) = needed[model] else { continue }
            positions[model] = snapshot.columns.indices.filter { names.contains(snapshot.columns[$0].schema.name) }
        }
        return { match, key in
            let text = key.jsString
            guard let snapshot = snapshots[match.model] else { return .notFound(key: text) }
            let lookupKey: LookupKey
            if case .number(let number) = key { lookupKey = .int(Int64(number)) } else { lookupKey = .string(text) }
            guard let row = snapshot.row(for: lookupKey) else { return .notFound(key: text) }
            let location = tables[match.model] ?? ("main", match.model)
            let columns = positions[match.model].map { $0.map { snapshot.columns[$0] } } ?? snapshot.columns
            return .found(EntityRow(
                model: match.model, schema: location.schema, table: location.table,
                columns: columns.map { (name: $0.schema.name, value: Self.json($0, row: row)) }
            ))
        }
    }

    static func outcome(_ outcome: EnrichmentOutcome) -> EnrichOutcome {
        switch outcome {
        case .enriched: .enriched
        case .partiallyEnriched: .partiallyEnriched
        case .notEnriched: .notEnriched
        }
    }

    /// The wire form of one mapping's result; `details` adds the entity rows (TestMapping only).
    static func message(_ result: MappingResult, details: Bool) -> MappingOutcome {
        MappingOutcome(
            mapping: result.mapping, conditionMatched: result.conditionMatched, outcome: Self.outcome(result.outcome),
            entities: details ? result.entities.map { entity in
                switch entity.result {
                case .noKey: EntityMatch(model: entity.model)
                case .notFound(let key): EntityMatch(model: entity.model, keyPresent: true, key: key)
                case .found(let row):
                    EntityMatch(
                        model: entity.model, keyPresent: true, key: "", found: true,
                        rowJSON: JSONWriter.bytes(.object(JSONObject(row.columns.map { ($0.name, $0.value) })))
                    )
                }
            } : [],
            enrichedEvent: details ? result.enrichedEvent.map(JSONWriter.bytes) ?? [] : [],
            output: result.output.map(JSONWriter.bytes) ?? [], error: result.error ?? ""
        )
    }

    /// Enrich through a destination's mappings: inline when its compiled plan is cached and every mapping runs on
    /// the tape; on the work pool when the plan must be read from the catalog first, or a mapping has field
    /// mappings (which may render Liquid and read anything).
    func enrichThroughDestination(_ request: EnrichRequestView, body: UnsafeRawBufferPointer) throws(RPCError) -> InlineOutcome {
        guard request.model.isEmpty, request.keyPath.isEmpty, request.enrichments.isEmpty else {
            throw RPCError(.invalidArgument, "with a destination, leave model, key_path and enrichments empty: its mappings say them")
        }
        let name = request.destination.string(in: body)
        let job = DestinationEnrichJob(service: self, destination: name, events: request.events)
        if let compiled = self.destinations.cached(named: name), compiled.mappings.allSatisfy(\.runsOnTape) {
            job.prepare(compiled)
            return .job(job)
        }
        return .offload(job)
    }

    /// One event through every mapping on the tree path (field mappings, or an event the tape refused).
    func enrichOnTree(
        position: Int, bytes: UnsafeRawBufferPointer, compiled: DestinationRegistry.Compiled,
        lookup: (Mapping.ModelMatch, MappingValue) -> EntityResult, tally: inout DestinationRegistry.Tally
    ) -> EnrichedEvent {
        let (event, problem) = self.parseEvent(position: position, bytes: bytes)
        guard let event else {
            tally.add(.notEnriched, matched: false)
            return problem!  // parseEvent returns one of the two.
        }
        var matched: [MappingResult] = []
        // In mapping order: the matched ones, and those whose condition could not be decided (over budget),
        // which are reported but not counted.
        var reported: [MappingResult] = []
        for mapping in compiled.mappings {
            let result = mapping.apply(to: event, lookup: lookup)
            if result.conditionMatched { matched.append(result) }
            if result.conditionMatched || result.error != nil { reported.append(result) }
        }
        let total = matched.reduce(0) { $0 + $1.entities.count }
        let found = matched.reduce(0) { count, result in
            count + result.entities.filter { if case .found = $0.result { true } else { false } }.count
        }
        let anyNotFound = matched.contains { $0.entities.contains { if case .notFound = $0.result { true } else { false } } }
        let (outcome, reason) = Self.verdict(models: total, found: found, anyNotFound: anyNotFound, matched: !matched.isEmpty, tally: &tally)
        return EnrichedEvent(
            outcome: outcome, reason: reason, event: Array(bytes), mappings: reported.map { Self.message($0, details: false) }
        )
    }

    /// An event's outcome from its matched mappings, counted in `tally`: enriched when every model of every
    /// matched mapping found its row, partially when some did; otherwise why not.
    static func verdict(
        models: Int, found: Int, anyNotFound: Bool, matched: Bool, tally: inout DestinationRegistry.Tally
    ) -> (EnrichOutcome, MissReason) {
        let outcome = EnrichmentOutcome(models: models, found: found)
        tally.add(outcome, matched: matched)
        var reason = MissReason.none
        if !matched {
            reason = .noMappingMatched
        } else if outcome == .notEnriched {
            reason = anyNotFound ? .notFound : .noKey
        }
        return (Self.outcome(outcome), reason)
    }

    /// Parses one event of a batch, or says why it is refused (size, JSON, not an object).
    func parseEvent(position: Int, bytes: UnsafeRawBufferPointer) -> (MappingValue?, EnrichedEvent?) {
        guard bytes.count <= self.limits.maxEventBytes else {
            return (nil, EnrichedEvent(
                outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes),
                error: "event \(position) is \(bytes.count) bytes; the limit is \(self.limits.maxEventBytes)"
            ))
        }
        do {
            let json = try JSONParser.parse(bytes.assumingMemoryBound(to: UInt8.self))
            guard case .object = json else {
                return (nil, EnrichedEvent(
                    outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes), error: "event \(position) is not a JSON object"
                ))
            }
            return (MappingValue(json), nil)
        } catch {
            return (nil, EnrichedEvent(outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes), error: "event \(position): \(error)"))
        }
    }

    func testMapping(_ request: TestMappingRequest, destinations service: DestinationService) throws -> TestMappingResponse {
        guard request.event.count <= self.limits.maxEventBytes else {
            throw RPCError(.invalidArgument, "the event is \(request.event.count) bytes; the limit is \(self.limits.maxEventBytes)")
        }
        let event: MappingValue
        do {
            event = MappingValue(try JSONParser.parse(request.event))
        } catch {
            throw RPCError(.invalidArgument, "the event is not valid JSON: \(error)")
        }
        guard case .object = event else { throw RPCError(.invalidArgument, "the event is not a JSON object") }
        let compiled: DestinationRegistry.Compiled
        let mapping: CompiledDestinationMapping
        if let inline = request.inlineMapping {
            guard request.mapping.isEmpty else {
                throw RPCError(.invalidArgument, "give a saved mapping's name or an inline mapping, not both")
            }
            try Validation.name(inline.name, kind: "mapping", limit: self.limits.maxNameBytes)
            try service.checkSizes(inline)
            compiled = try self.destinations.compile(name: request.destination, [DestinationService.record(inline)])
            mapping = compiled.mappings[0]
        } else {
            guard !request.destination.isEmpty, !request.mapping.isEmpty else {
                throw RPCError(.invalidArgument, "name a destination and one of its mappings, or give an inline mapping")
            }
            compiled = try self.destinations.destination(named: request.destination)
            guard let saved = compiled.mappings.first(where: { $0.definition.name == request.mapping }) else {
                throw RPCError(.notFound, "destination '\(request.destination)' has no mapping '\(request.mapping)'")
            }
            mapping = saved
        }
        let lookup = Self.lookup(snapshots: self.snapshots(for: compiled), tables: compiled.tables)
        return TestMappingResponse(result: Self.message(mapping.apply(to: event, lookup: lookup), details: true))
    }
}

/// One mapping's models and enrichment columns, resolved once per request for the tape path. A class, so
/// handing it to each event's mapping run costs one retain.
final class TapeLookup: TapeRows {
    /// The snapshot of each of the mapping's matches (nil: not synced; every key is then not found).
    let snapshots: [ModelSnapshot?]
    /// Each enrichment's column (nil: the snapshot lacks it, and the tree path would write null), held by
    /// reference so reading one per event does not copy (and retain) its buffers.
    let columns: [ColumnReference?]

    /// A column's parts as separate constants, so the hot path borrows them rather than copying the column.
    final class ColumnReference {
        let column: ColumnData
        let nulls: NullBitmap
        let strings: StringArena?
        let doubles: [Double]?
        let ints: [Int64]?

        init(_ column: ColumnData) {
            self.column = column
            self.nulls = column.nulls
            if case .string(let arena) = column.storage { self.strings = arena } else { self.strings = nil }
            if case .double(let values) = column.storage { self.doubles = values } else { self.doubles = nil }
            if case .int64(let values) = column.storage { self.ints = values } else { self.ints = nil }
        }
    }

    init(_ mapping: CompiledDestinationMapping, snapshots: [String: ModelSnapshot]) {
        self.snapshots = mapping.definition.matches.map { snapshots[$0.model] }
        self.columns = mapping.definition.enrichments.map { enrichment in
            snapshots[enrichment.model].flatMap { snapshot in
                snapshot.columnIndex(named: enrichment.column).map { ColumnReference(snapshot.columns[$0]) }
            }
        }
    }

    func row(match: Int, key: TapeKey) -> Int? {
        guard let snapshot = self.snapshots[match] else { return nil }
        switch key {
        case .utf8(let bytes):
            if snapshot.hasStringKeys { return snapshot.row(forUTF8: UnsafeRawBufferPointer(bytes)) }
            return snapshot.row(for: .string(String(decoding: bytes, as: UTF8.self)))
        case .value(.number(let number)):
            return snapshot.row(for: .int(Int64(number)))
        case .value(let value):
            return snapshot.row(for: .string(value.jsString))
        }
    }

    func write(enrichment: Int, row: Int, into output: inout [UInt8]) {
        guard let reference = self.columns[enrichment], !reference.nulls.isNull(row) else {
            output.append(contentsOf: "null".utf8)
            return
        }
        if reference.strings != nil {
            // Arenas know whether all their rows are valid UTF-8; one that is not is checked row by row.
            let valid = reference.strings!.isValidUTF8
            let written = reference.strings!.withBytes(at: row) { bytes -> Bool in
                guard valid || UTF8Text.isValid(bytes.assumingMemoryBound(to: UInt8.self)) else { return false }
                JSONWriter.writeString(utf8: bytes, into: &output)
                return true
            }
            if written { return }
        }
        // Numbers go through the same MappingValue rule as the tree path, read straight from the borrowed
        // buffer rather than through a copy of the column.
        if let doubles = reference.doubles {
            JSONWriter.write(MappingValue.number(doubles[row]).json ?? .null, into: &output)
            return
        }
        if let ints = reference.ints {
            JSONWriter.write(MappingValue.number(Double(ints[row])).json ?? .null, into: &output)
            return
        }
        JSONWriter.write(MappingValue(EnrichService.json(reference.column, row: row)).json ?? .null, into: &output)
    }
}

/// A request's tape state: the tape, the scratch buffers and each mapping's rows and name, reused for every
/// event of the batch.
struct TapeBatch {
    let mappings: [CompiledDestinationMapping]
    /// Nil when a mapping has field mappings: every event then takes the tree path.
    let rows: [TapeLookup]?
    /// The mappings' names back to back, and where each one is.
    let names: [UInt8]
    let nameSpans: [Range<Int>]
    var tape = JSONTape()
    var scratch = TapeScratch()
    /// The current event's matched mappings (and those whose condition could not be decided): which, their
    /// outcome, and their output (or error text, when `failed`) in `scratch.outputs`.
    var matched: [(mapping: Int, outcome: EnrichOutcome, output: Range<Int>, failed: Bool)] = []

    init(_ mappings: [CompiledDestinationMapping], snapshots: [String: ModelSnapshot]) {
        self.mappings = mappings
        self.rows = mappings.allSatisfy(\.runsOnTape) ? mappings.map { TapeLookup($0, snapshots: snapshots) } : nil
        var names: [UInt8] = []
        self.nameSpans = mappings.map { mapping in
            let start = names.count
            names.append(contentsOf: mapping.definition.name.utf8)
            return start..<names.count
        }
        self.names = names
    }

    /// Enriches one event on the tape and writes its answer; false (nothing written) when the event is not a
    /// JSON object the parser accepts, or a mapping needs the tree path.
    mutating func enrich(
        _ bytes: UnsafeRawBufferPointer, into response: inout EnrichResponseWriter, tally: inout DestinationRegistry.Tally
    ) -> Bool {
        guard let rows = self.rows else { return false }
        return { (buffer: UnsafeBufferPointer<UInt8>) -> Bool in
            guard self.tape.parse(buffer), self.tape.nodes[0].kind == .object else { return false }
            self.scratch.startEvent()
            self.matched.removeAll(keepingCapacity: true)
            var models = 0, found = 0, notFound = 0, conditionsMatched = 0
            self.tape.withView(buffer) { view in
                let event = TapeEvent(view)
                for (index, mapping) in self.mappings.enumerated() {
                    let result = mapping.apply(to: event, rows: rows[index], scratch: &self.scratch)
                    if let error = result.error {
                        // The condition could not be decided within its budget: reported as the mapping's error.
                        let text = self.scratch.appendOutput(error.description.utf8)
                        self.matched.append((index, .notEnriched, text, true))
                        continue
                    }
                    guard result.conditionMatched else { continue }
                    models += result.models
                    found += result.found
                    notFound += result.notFound
                    conditionsMatched += 1
                    self.matched.append((index, EnrichService.outcome(result.outcome), result.output, false))
                }
            }
            let (outcome, reason) = EnrichService.verdict(
                models: models, found: found, anyNotFound: notFound > 0, matched: conditionsMatched > 0, tally: &tally
            )
            let matched = self.matched
            let spans = self.nameSpans
            self.scratch.outputs.withUnsafeBytes { outputs in
                self.names.withUnsafeBytes { names in
                    response.appendEvent(
                        outcome: outcome, reason: reason, event: UnsafeRawBufferPointer(buffer), error: UnsafeRawBufferPointer(start: nil, count: 0),
                        mappingCount: matched.count
                    ) { position in
                        let entry = matched[position]
                        let bytes = UnsafeRawBufferPointer(rebasing: outputs[entry.output])
                        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
                        return EnrichResponseWriter.Mapping(
                            name: UnsafeRawBufferPointer(rebasing: names[spans[entry.mapping]]), conditionMatched: !entry.failed,
                            outcome: entry.outcome, output: entry.failed ? empty : bytes, error: entry.failed ? bytes : empty
                        )
                    }
                }
            }
            return true
        }(bytes.assumingMemoryBound(to: UInt8.self))
    }
}

/// Enrich through a destination, an event at a time: on the tape when every mapping runs there, on the tree
/// otherwise (and for events the tape refuses, which the tree explains).
final class DestinationEnrichJob: InlineJob {
    let service: EnrichService
    let destination: String
    let events: [ByteSpan]
    private var compiled: DestinationRegistry.Compiled?
    private var tape: TapeBatch?
    private var lookup: ((Mapping.ModelMatch, MappingValue) -> EntityResult)?
    private var writer: EnrichResponseWriter
    private var tally = DestinationRegistry.Tally()
    private var next = 0

    init(service: EnrichService, destination: String, events: [ByteSpan]) {
        self.service = service
        self.destination = destination
        self.events = events
        self.writer = EnrichResponseWriter(reserving: events.reduce(64) { $0 + $1.count * 3 + 16 })
    }

    /// Takes the compiled plan and the snapshots its models are served from, once per request.
    func prepare(_ compiled: DestinationRegistry.Compiled) {
        let snapshots = self.service.snapshots(for: compiled)
        self.compiled = compiled
        self.tape = TapeBatch(compiled.mappings, snapshots: snapshots)
        self.lookup = EnrichService.lookup(snapshots: snapshots, tables: compiled.tables, needed: compiled.neededColumns)
    }

    func step(payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant) throws(RPCError) -> (any MessageSerializer)? {
        if self.compiled == nil {
            // Offloaded: the plan is read from the catalog here, on the work pool.
            do { self.prepare(try self.service.destinations.destination(named: self.destination)) } catch {
                throw EnrichService.rpcError(error)
            }
        }
        guard let compiled = self.compiled, let lookup = self.lookup else { return nil }
        let maxEventBytes = self.service.limits.maxEventBytes
        while self.next < self.events.count {
            let bytes = self.events[self.next].bytes(in: payload)
            if !(bytes.count <= maxEventBytes && self.tape!.enrich(bytes, into: &self.writer, tally: &self.tally)) {  // Set by prepare.
                self.writer.append(self.service.enrichOnTree(
                    position: self.next, bytes: bytes, compiled: compiled, lookup: lookup, tally: &self.tally
                ))
            }
            self.next += 1
            if ContinuousClock.now >= until && self.next < self.events.count { return nil }
        }
        self.service.destinations.record(destination: self.destination, self.tally)
        return self.writer.finished()
    }
}

extension EnrichService {
    /// An error from the catalog or the registry as the call's status.
    static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as any RPCErrorConvertible: error.rpcError
        default: RPCError(.internalError, "internal error")
        }
    }
}
