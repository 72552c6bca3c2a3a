import EventJSON
package import Mapping
package import ModelCache

/// Enrich through a destination's mappings, an event at a time: on the tape when every mapping runs there (the
/// sender's bytes kept, cells spliced in), on the tree otherwise, and for events the tape refuses (which the tree
/// path explains). One value per request: it holds the snapshots the plan's models are served from, so a sync
/// finishing mid-request does not change the answer halfway through a batch.
package struct DestinationEnrichment {
    package let plan: DestinationPlan
    /// The outcomes of the events enriched so far.
    package private(set) var tally = Tally()
    private let maxEventBytes: Int
    private let lookup: (ModelMatch, MappingValue) -> EntityResult
    /// Nil when a mapping has field mappings: every event then takes the tree path.
    var batch: TapeBatch?

    /// - Parameters:
    ///   - snapshots: the snapshot each of the plan's models is served from (a model without one finds no rows).
    ///   - maxEventBytes: larger events are answered as invalid.
    package init(plan: DestinationPlan, snapshots: [String: ModelSnapshot], maxEventBytes: Int) {
        self.plan = plan
        self.maxEventBytes = maxEventBytes
        self.lookup = EntityLookup.make(snapshots: snapshots, tables: plan.tables, needed: plan.neededColumns)
        self.batch = plan.runsOnTape ? TapeBatch(plan.mappings, snapshots: snapshots) : nil
    }

    /// Takes the snapshots of the plan's models from `cache`, once.
    package init(plan: DestinationPlan, cache: ModelCache, maxEventBytes: Int) {
        self.init(plan: plan, snapshots: plan.snapshots(from: cache), maxEventBytes: maxEventBytes)
    }

    /// Enriches the event at `position` of the batch and writes its answer to `sink`.
    package mutating func enrich(_ bytes: UnsafeRawBufferPointer, position: Int, into sink: inout some EnrichmentSink) {
        if bytes.count <= self.maxEventBytes,
            self.batch?.enrich(bytes, position: position, into: &sink, tally: &self.tally) == true
        {
            return
        }
        sink.append(self.enrichOnTree(bytes, position: position))
    }

    /// Enriches event `position` of a batch of `count` (`events(i)` is event i's bytes) and writes its answer to
    /// `sink`. Called for the positions in order (a request may stop between two and go on later), it also
    /// works ahead on the events after `position` (`TapeBatch.workAhead`), so that the cache misses of several
    /// events' lookups are in flight together: the same answers as `enrich(_:position:into:)`, sooner.
    package mutating func enrich(
        _ position: Int, of count: Int, events: (Int) -> UnsafeRawBufferPointer, into sink: inout some EnrichmentSink
    ) {
        self.batch?.workAhead(of: position, count: count, maxEventBytes: self.maxEventBytes, events: events)
        self.enrich(events(position), position: position, into: &sink)
    }

    /// One event through every mapping on the tree path: parsed, each mapping applied to the value.
    package mutating func enrichOnTree(_ bytes: UnsafeRawBufferPointer, position: Int) -> EventResult {
        let event: MappingValue
        switch EventParsing.object(bytes, position: position, maxEventBytes: self.maxEventBytes) {
        case .success(let value): event = MappingValue(value)
        case .failure(let refusal):
            self.tally.add(.notEnriched, matched: false)
            return refusal.result
        }
        var matched: [MappingResult] = []
        // In mapping order: the matched ones, and those whose condition could not be decided (over budget),
        // which are reported but not counted.
        var reported: [MappingResult] = []
        for mapping in self.plan.mappings {
            let result = mapping.apply(to: event, lookup: self.lookup)
            if result.conditionMatched { matched.append(result) }
            if result.conditionMatched || result.error != nil { reported.append(result) }
        }
        let total = matched.reduce(0) { $0 + $1.entities.count }
        let found = matched.reduce(0) { count, result in
            count + result.entities.filter { if case .found = $0.result { true } else { false } }.count
        }
        let anyNotFound = matched.contains {
            $0.entities.contains { if case .notFound = $0.result { true } else { false } }
        }
        let (outcome, reason) = Verdict.of(
            models: total, found: found, anyNotFound: anyNotFound, matched: !matched.isEmpty, tally: &self.tally)
        return EventResult(
            outcome: outcome, reason: reason, event: Array(bytes),
            mappings: reported.map { result in
                EventResult.Mapping(
                    name: result.mapping, conditionMatched: result.conditionMatched, outcome: result.outcome,
                    output: result.output.map(JSONWriter.bytes) ?? [], error: result.error ?? ""
                )
            })
    }
}

extension DestinationPlan {
    /// The snapshot each of the plan's models is served from now.
    package func snapshots(from cache: ModelCache) -> [String: ModelSnapshot] {
        var snapshots: [String: ModelSnapshot] = [:]
        for model in self.tables.keys { snapshots[model] = cache.snapshot(of: model) }
        return snapshots
    }

    /// The dry run (TestMapping): `mapping` (one of the plan's, or one compiled alone against it) applied to
    /// `event` on the tree path, each found row with every column, exactly as live traffic's tree path does.
    package func test(
        _ mapping: CompiledDestinationMapping, event: MappingValue, snapshots: [String: ModelSnapshot]
    ) -> MappingResult {
        mapping.apply(to: event, lookup: EntityLookup.make(snapshots: snapshots, tables: self.tables))
    }
}

/// Events parsed for the tree path, or refused with the reason.
enum EventParsing {
    struct Refusal: Error { let result: EventResult }

    /// The event as a JSON object, or why not (size, JSON, not an object).
    static func object(_ bytes: UnsafeRawBufferPointer, position: Int, maxEventBytes: Int) -> Result<JSONValue, Refusal>
    {
        guard bytes.count <= maxEventBytes else {
            return .failure(
                Refusal(
                    result: .invalid(bytes, "event \(position) is \(bytes.count) bytes; the limit is \(maxEventBytes)"))
            )
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes.assumingMemoryBound(to: UInt8.self))
        } catch {
            return .failure(Refusal(result: .invalid(bytes, "event \(position): \(error)")))
        }
        guard case .object = value else {
            return .failure(Refusal(result: .invalid(bytes, "event \(position) is not a JSON object")))
        }
        return .success(value)
    }
}

/// Rows for the tree path: a key value finds its row (integers as integers, anything else by its text), and a
/// found row carries the columns its model needs.
enum EntityLookup {
    /// - Parameter needed: the columns to carry per model (a model listed as nil, or missing, gets all).
    static func make(
        snapshots: [String: ModelSnapshot], tables: [String: (schema: String, table: String)],
        needed: [String: Set<String>?] = [:]
    ) -> (ModelMatch, MappingValue) -> EntityResult {
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
            return .found(
                key: text,
                row: EntityRow(
                    model: match.model, schema: location.schema, table: location.table,
                    columns: columns.map { (name: $0.schema.name, value: CellJSON.value($0, row: row)) }
                ))
        }
    }
}

/// One mapping's models and enrichment columns, resolved once per request for the tape path. A class, so
/// handing it to each event's mapping run costs one retain.
final class TapeLookup: TapeRows {
    /// The snapshot of each of the mapping's matches (nil: not synced; every key is then not found).
    let snapshots: [ModelSnapshot?]
    /// Each enrichment's column (nil: the snapshot lacks it, and the tree path would write null).
    let columns: [ColumnReference?]

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
        guard let column = self.columns[enrichment] else {
            output.append(contentsOf: "null".utf8)
            return
        }
        CellJSON.write(column, row: row, numbers: .javaScript, into: &output)
    }
}

/// A request's tape state: the tape, the scratch buffers and each mapping's rows and name, reused for every
/// event of the batch.
struct TapeBatch {
    let mappings: [CompiledDestinationMapping]
    let rows: [TapeLookup]
    /// The mappings' names back to back, and where each one is.
    let names: [UInt8]
    let nameSpans: [Range<Int>]
    /// The tape of the event being enriched: one of the ring's while `workAhead` runs, and `turnTape` (swapped
    /// in and back) for an event parsed at its turn.
    var tape = JSONTape()
    var turnTape = JSONTape()
    var scratch = TapeScratch()
    /// The current event's matched mappings (and those whose condition could not be decided): which, their
    /// outcome, and their output (or error text, when `failed`) in `scratch.outputs`.
    var matched: [(mapping: Int, outcome: EnrichmentOutcome, output: Range<Int>, failed: Bool)] = []

    /// How far `workAhead` runs ahead of the event being enriched, in three steps, each reading what the one
    /// before requested: event p + lookahead is parsed and its keys' index slots requested; event
    /// p + lookahead / 2 has its candidate rows read and the lines locating their keys and cells requested;
    /// event p + 2 has the text of its keys and string cells requested. Far enough that each request has a few
    /// events' work to arrive in; near enough that what it brought in is still cached.
    static let lookahead = 8
    static let textAhead = 2
    /// Larger events are parsed at their turn, not ahead, into `turnTape`: their own work overlaps the misses,
    /// and the ring's tapes (about 10 bytes per byte of JSON at worst) then hold at most `lookahead + 2` times
    /// this, next to the one tape sized for the largest event.
    static let maxAheadBytes = 4 << 10
    /// Events parsed ahead, event p in slot `p % ring.count`; `ringEvent[slot]` is the event a slot holds
    /// (-1: none, or it is not a JSON object the tape accepts).
    var ring: [JSONTape]
    var ringEvent: [Int]
    /// The hash of each plain match key of each slot's event, `keysPerEvent` per slot (`Int.min`: none; a key
    /// whose hash is `Int.min` is merely not prefetched).
    var hashes: [Int]
    /// Where each mapping's matches start among an event's keys.
    let keyBase: [Int]
    let keysPerEvent: Int
    /// For each of an event's keys: the snapshot its match looks up, and the columns its enrichments write.
    let targets: [(snapshot: ModelSnapshot?, columns: [ColumnReference])]
    /// Each key's candidate row from step two, as `hashes` (-1: none).
    var candidates: [Int]
    /// The events parsed ahead so far, those whose rows were requested, and those whose text was.
    var parsedTo = 0
    var fetchedTo = 0
    var textTo = 0

    init(_ mappings: [CompiledDestinationMapping], snapshots: [String: ModelSnapshot]) {
        self.mappings = mappings
        self.rows = mappings.map { TapeLookup($0, snapshots: snapshots) }
        var keyBase: [Int] = []
        var keys = 0
        for mapping in mappings {
            keyBase.append(keys)
            keys += mapping.definition.matches.count
        }
        self.keyBase = keyBase
        self.keysPerEvent = keys
        self.targets = zip(mappings, self.rows).flatMap { mapping, lookup in
            lookup.snapshots.indices.map { match in
                (lookup.snapshots[match], mapping.enrichments(ofMatch: match).compactMap { lookup.columns[$0] })
            }
        }
        self.ring = Array(repeating: JSONTape(), count: Self.lookahead + 1)
        self.ringEvent = Array(repeating: -1, count: Self.lookahead + 1)
        self.hashes = Array(repeating: Int.min, count: (Self.lookahead + 1) * keys)
        self.candidates = Array(repeating: -1, count: (Self.lookahead + 1) * keys)
        var names: [UInt8] = []
        self.nameSpans = mappings.map { mapping in
            let start = names.count
            names.append(contentsOf: mapping.definition.name.utf8)
            return start..<names.count
        }
        self.names = names
    }

    /// Parses events and requests the rows they will read, ahead of event `position` (see `lookahead`).
    mutating func workAhead(
        of position: Int, count: Int, maxEventBytes: Int, events: (Int) -> UnsafeRawBufferPointer
    ) {
        self.parsedTo = max(self.parsedTo, position)
        let parseEnd = min(position + Self.lookahead + 1, count)
        while self.parsedTo < parseEnd {
            self.parseAhead(events(self.parsedTo), position: self.parsedTo, maxEventBytes: maxEventBytes)
            self.parsedTo += 1
        }
        self.fetchedTo = max(self.fetchedTo, position)
        let fetchEnd = min(position + Self.lookahead / 2 + 1, count)
        while self.fetchedTo < fetchEnd {
            self.fetchRows(position: self.fetchedTo)
            self.fetchedTo += 1
        }
        self.textTo = max(self.textTo, position)
        let textEnd = min(position + Self.textAhead + 1, count)
        while self.textTo < textEnd {
            self.fetchText(position: self.textTo)
            self.textTo += 1
        }
    }

    /// Step one for event `position`: parsed into its ring slot, each plain match key hashed and the index slot
    /// it is looked up at requested.
    mutating func parseAhead(_ raw: UnsafeRawBufferPointer, position: Int, maxEventBytes: Int) {
        let slot = position % self.ring.count
        self.ringEvent[slot] = -1
        let buffer = raw.assumingMemoryBound(to: UInt8.self)
        guard raw.count <= min(maxEventBytes, Self.maxAheadBytes), self.ring[slot].parse(buffer),
            self.ring[slot].nodes[0].kind == .object
        else { return }
        self.ringEvent[slot] = position
        let base = slot * self.keysPerEvent
        let mappings = self.mappings
        let keyBase = self.keyBase
        let targets = self.targets
        self.hashes.withUnsafeMutableBufferPointer { hashes in
            for key in base..<(base + self.keysPerEvent) { hashes[key] = Int.min }
            self.ring[slot].withView(buffer) { view in
                let event = TapeEvent(view)
                for (index, mapping) in mappings.enumerated() {
                    mapping.plainMatchKeys(of: event) { match, text in
                        let key = keyBase[index] + match
                        if let hash = targets[key].snapshot?.prefetchSlot(forUTF8: UnsafeRawBufferPointer(text)) {
                            hashes[base + key] = hash
                        }
                    }
                }
            }
        }
    }

    /// Step two for event `position` (its index slots requested a few events ago): each key's candidate row
    /// read, and the lines of its key and of the cells its enrichments write requested.
    mutating func fetchRows(position: Int) {
        let slot = position % self.ring.count
        guard self.ringEvent[slot] == position else { return }
        let base = slot * self.keysPerEvent
        self.targets.withUnsafeBufferPointer { targets in
            for key in targets.indices {
                self.candidates[base + key] = -1
                let hash = self.hashes[base + key]
                guard hash != Int.min, let row = targets[key].snapshot?.prefetchCandidate(hash: hash) else { continue }
                self.candidates[base + key] = row
                for column in targets[key].columns { column.prefetch(row: row) }
            }
        }
    }

    /// Step three for event `position`: the text of each candidate's key and of its string cells requested.
    func fetchText(position: Int) {
        let slot = position % self.ring.count
        guard self.ringEvent[slot] == position else { return }
        let base = slot * self.keysPerEvent
        self.targets.withUnsafeBufferPointer { targets in
            for key in targets.indices {
                let row = self.candidates[base + key]
                guard row >= 0 else { continue }
                targets[key].snapshot?.prefetchKey(row: row)
                for column in targets[key].columns { column.prefetchText(row: row) }
            }
        }
    }

    /// Enriches one event on the tape and writes its answer; false (nothing written) when the event is not a
    /// JSON object the parser accepts. The event's tape is the one `workAhead` parsed, if it did.
    mutating func enrich(
        _ raw: UnsafeRawBufferPointer, position: Int, into sink: inout some EnrichmentSink, tally: inout Tally
    ) -> Bool {
        let buffer = raw.assumingMemoryBound(to: UInt8.self)
        let slot = position % self.ring.count
        let ahead = self.ringEvent[slot] == position
        if ahead {
            swap(&self.tape, &self.ring[slot])
            self.ringEvent[slot] = -1
        } else {
            // An event parsed at its turn (it may be large) gets a tape of its own, which never enters the ring.
            swap(&self.tape, &self.turnTape)
        }
        defer { if !ahead { swap(&self.tape, &self.turnTape) } }
        if !ahead {
            guard self.tape.parse(buffer), self.tape.nodes[0].kind == .object else { return false }
        }
        self.scratch.startEvent()
        self.matched.removeAll(keepingCapacity: true)
        var models = 0
        var found = 0
        var notFound = 0
        var conditionsMatched = 0
        self.tape.withView(buffer) { view in
            let event = TapeEvent(view)
            for (index, mapping) in self.mappings.enumerated() {
                let result = mapping.apply(to: event, rows: self.rows[index], scratch: &self.scratch)
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
                self.matched.append((index, result.outcome, result.output, false))
            }
        }
        let (outcome, reason) = Verdict.of(
            models: models, found: found, anyNotFound: notFound > 0, matched: conditionsMatched > 0, tally: &tally
        )
        let matched = self.matched
        let spans = self.nameSpans
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        self.scratch.outputs.withUnsafeBytes { outputs in
            self.names.withUnsafeBytes { names in
                sink.appendEvent(
                    outcome: outcome, reason: reason, event: raw, error: empty, mappingCount: matched.count
                ) { position in
                    let entry = matched[position]
                    let bytes = UnsafeRawBufferPointer(rebasing: outputs[entry.output])
                    return MappingPart(
                        name: UnsafeRawBufferPointer(rebasing: names[spans[entry.mapping]]),
                        conditionMatched: !entry.failed,
                        outcome: entry.outcome, output: entry.failed ? empty : bytes,
                        error: entry.failed ? bytes : empty
                    )
                }
            }
        }
        return true
    }
}
