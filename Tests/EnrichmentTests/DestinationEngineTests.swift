import EventGenerators
import EventJSON
import Mapping
import ModelCache
import Testing

@testable import Enrichment

/// The destination engine without RPC: plans compiled against a model directory, the tape path against the tree
/// path with real snapshots (the real `TapeLookup` and cell writer), outcomes, tallies and the dry run.
@Suite("Destination engine")
struct DestinationEngineTests {
    /// Models as a catalog would describe them.
    struct Directory: ModelDirectory {
        func model(named name: String) -> ModelInfo? {
            guard name == "products" || name == "users" else { return nil }
            return ModelInfo(
                name: name, sourceTable: name == "users" ? "" : "dim_products",
                columns: ["key", "name", "price", "id", "missing", "whole", "seen"])
        }
    }

    static let schema: [ColumnSchema] = [
        .init(name: "key", type: .string), .init(name: "name", type: .string), .init(name: "price", type: .double),
        .init(name: "id", type: .int64), .init(name: "missing", type: .string), .init(name: "whole", type: .double),
        .init(name: "seen", type: .timestamp),
    ]

    /// Rows for every key the event generator writes, except those ending in "2" (so some keys are not found):
    /// strings needing escapes, a double, an integer past 2^53, a NULL, a whole double and a timestamp.
    static func snapshot(_ model: String) throws -> ModelSnapshot {
        let keys =
            EventGenerator.strings + [
                "SKU-1", "SKU-3", "SKU-11", "0", "1", "-3", "100", "0.1", "9007199254740993", "12345678901234567890",
            ]
        var builder = try SnapshotBuilder(schema: Self.schema, primaryKey: "key")
        for key in Set(keys).sorted() where !key.hasSuffix("2") {
            var key = key
            var name = "Deluxe \"\(key)\" caf\u{E9}"
            key.withUTF8 { builder.appendString(0, UnsafeRawBufferPointer($0)) }
            name.withUTF8 { builder.appendString(1, UnsafeRawBufferPointer($0)) }
            builder.appendDouble(2, 481.03)
            builder.appendInt64(3, 9_007_199_254_740_993)
            builder.appendNull(4)
            builder.appendDouble(5, 3)
            builder.appendTimestamp(6, 1_704_164_645_250_000)
            builder.endRow()
        }
        return try builder.build(model: model, version: 1)
    }

    static func definition(_ random: inout SplitMix, condition: String) -> MappingDefinition {
        var generator = EventGenerator(random: random)
        defer { random = generator.random }
        let matches = [
            ModelMatch(
                model: "products",
                matchProperty: generator.pick([
                    "properties.sku", "properties.value", "$.userId", "properties.0", "a.b", "properties['sku']",
                ])),
            ModelMatch(model: "users", matchProperty: generator.pick(["userId", "traits.plan", "properties.sku"])),
        ].prefix(1 + Int(generator.random.next() % 2))
        let paths = [
            "properties.product_name", "properties.sku", "traits.plan", "properties", "a.b.c", "type",
            "properties.value.x",
            "K", "traits.plan.deep", "properties.length",
        ]
        let columns = ["name", "price", "id", "missing", "whole", "seen"]
        let enrichments = (0..<(1 + Int(generator.random.next() % 4))).map { _ in
            ColumnEnrichment(
                model: generator.pick(Array(matches)).model, column: generator.pick(columns), key: generator.pick(paths)
            )
        }
        return MappingDefinition(
            name: "m\(generator.random.next() % 3)", condition: condition, matches: Array(matches),
            enrichments: enrichments, fields: nil)
    }

    @Test(
        "10,000 random events through the real engine: the tape answers as the tree does (outcome, reason, mappings, tally)"
    )
    func tapeAgreesWithTree() throws {
        let catalog = try loadVectors("conditions_catalog.json").compactMap { $0["condition"]?.stringValue }
            .filter { (try? Subscription($0)) != nil }
        #expect(catalog.count > 150)
        // Catalog conditions name real events, so random events rarely match them; these match often.
        let local = [
            "properties.value = \"x\"", "properties.length = 2", "properties.sku.length > 3", "traits.plan exists",
            "match(properties.value, \"x*\")", "userId = \"7\"", "properties.0 = \"t\"", "", "type = \"track\"",
            "properties exists", "!(event = \"Product Viewed\")", "properties.sku exists or traits exists",
            "type = \"track\" and event = \"Product Viewed\"", "context.K != \"x\"",
        ]
        let snapshots = ["products": try Self.snapshot("products"), "users": try Self.snapshot("users")]
        var random = SplitMix(state: 0x5EED)
        var matchedCount = 0
        var enrichedCount = 0
        for round in 0..<10_000 {
            var generator = EventGenerator(random: random)
            let text = generator.event()
            random = generator.random
            let pick = { (random: inout SplitMix) -> String in
                random.next() % 3 == 0
                    ? catalog[Int(random.next() % UInt64(catalog.count))]
                    : local[Int(random.next() % UInt64(local.count))]
            }
            // One or two mappings per destination.
            var definitions = [Self.definition(&random, condition: pick(&random))]
            if random.next() % 3 == 0 { definitions.append(Self.definition(&random, condition: pick(&random))) }
            let plan = try DestinationPlan(name: "d", definitions, models: Directory())
            #expect(plan.runsOnTape)
            var tapeEngine = DestinationEnrichment(plan: plan, snapshots: snapshots, maxEventBytes: 32 << 10)
            var treeEngine = DestinationEnrichment(plan: plan, snapshots: snapshots, maxEventBytes: 32 << 10)
            var sink = CollectingSink()
            let bytes = Array(text.utf8)
            var tapeTally = Tally()
            let onTape = bytes.withUnsafeBytes {
                tapeEngine.batch!.enrich($0, position: 0, into: &sink, tally: &tapeTally)
            }
            #expect(onTape, "the tape refused \(text)")
            let tape = try #require(sink.results.first)
            let tree = bytes.withUnsafeBytes { treeEngine.enrichOnTree($0, position: 0) }
            let context = "round \(round): \(text) with \(definitions)"
            #expect(tape.outcome == tree.outcome && tape.reason == tree.reason, "\(context)")
            #expect(tapeTally == treeEngine.tally, "\(context)")
            #expect(tape.mappings.map(\.name) == tree.mappings.map(\.name), "\(context)")
            for (onTape, onTree) in zip(tape.mappings, tree.mappings) {
                #expect(
                    onTape.conditionMatched == onTree.conditionMatched && onTape.outcome == onTree.outcome, "\(context)"
                )
                #expect(onTape.error == onTree.error, "\(context)")
                guard onTree.error.isEmpty else { continue }
                let tapeOutput = try JSONParser.parse(onTape.output)
                let treeOutput = try JSONParser.parse(onTree.output)
                #expect(
                    MappingValue(tapeOutput) == MappingValue(treeOutput),
                    "\(context)\ntape: \(String(decoding: onTape.output, as: UTF8.self))\ntree: \(String(decoding: onTree.output, as: UTF8.self))"
                )
            }
            if tree.reason != .noMappingMatched { matchedCount += 1 }
            if tree.outcome != .notEnriched { enrichedCount += 1 }
        }
        // The generator has to reach both sides of conditions and lookups for the comparison to mean anything.
        #expect(matchedCount > 1_000 && enrichedCount > 300, "matched \(matchedCount), enriched \(enrichedCount)")
    }

    /// Runs `events` through `engine` as the Enrich job does: each event's bytes at one address for the whole
    /// batch, the positions in order, the engine working ahead.
    static func enrichPipelined(
        _ events: [[UInt8]], _ engine: inout DestinationEnrichment, into sink: inout CollectingSink
    ) {
        let buffers = events.map { event in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: event.count, alignment: 1)
            buffer.copyBytes(from: event)
            return UnsafeRawBufferPointer(buffer)
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        for position in buffers.indices {
            engine.enrich(position, of: buffers.count, events: { buffers[$0] }, into: &sink)
        }
    }

    @Test(
        "Working ahead (events parsed and rows requested before their turn) changes no answer: 300 random batches, event by event against pipelined"
    )
    func workingAheadAgrees() throws {
        let snapshots = ["products": try Self.snapshot("products"), "users": try Self.snapshot("users")]
        let conditions = ["", "type = \"track\"", "properties.sku exists", "userId = \"7\"", "traits.plan exists"]
        var random = SplitMix(state: 0xA4EAD)
        var pipelinedEvents = 0
        for round in 0..<300 {
            var definitions = [Self.definition(&random, condition: conditions[Int(random.next() % 5)])]
            if random.next() % 2 == 0 {
                definitions.append(Self.definition(&random, condition: conditions[Int(random.next() % 5)]))
            }
            let plan = try DestinationPlan(name: "d", definitions, models: Directory())
            // 0 to 40 events: around and past the lookahead, with invalid and oversized ones among them.
            var events: [[UInt8]] = []
            for _ in 0..<Int(random.next() % 41) {
                var generator = EventGenerator(random: random)
                var text = generator.event()
                random = generator.random
                switch random.next() % 20 {
                case 0: text = "[\(text)]"
                case 1: text = String(text.dropLast())
                // Past the size parsed ahead (TapeBatch.maxAheadBytes), and past the event limit.
                case 2: text = "{\"type\":\"track\",\"pad\":\"\(String(repeating: "x", count: 5_000))\"}"
                case 3: text = "{\"type\":\"track\",\"pad\":\"\(String(repeating: "x", count: 9_000))\"}"
                default: break
                }
                events.append(Array(text.utf8))
            }
            var oneByOne = DestinationEnrichment(plan: plan, snapshots: snapshots, maxEventBytes: 8 << 10)
            var expected = CollectingSink()
            for (position, event) in events.enumerated() {
                event.withUnsafeBytes { oneByOne.enrich($0, position: position, into: &expected) }
            }
            var pipelined = DestinationEnrichment(plan: plan, snapshots: snapshots, maxEventBytes: 8 << 10)
            var actual = CollectingSink()
            Self.enrichPipelined(events, &pipelined, into: &actual)
            #expect(actual.results == expected.results, "round \(round): \(definitions)")
            #expect(pipelined.tally == oneByOne.tally, "round \(round)")
            pipelinedEvents += events.count
        }
        #expect(pipelinedEvents > 5_000)
    }

    @Test("Events past 4 KiB are not parsed ahead: the ring of tapes stays small whatever the batch holds")
    func workingAheadIsBounded() throws {
        let snapshots = ["products": try Self.snapshot("products")]
        let plan = try DestinationPlan(
            name: "d",
            [
                MappingDefinition(
                    name: "m", condition: "type = \"track\"",
                    matches: [ModelMatch(model: "products", matchProperty: "properties.sku")],
                    enrichments: [ColumnEnrichment(model: "products", column: "name", key: "properties.name")],
                    fields: nil)
            ], models: Directory())
        // 30 KiB events that are mostly tape nodes (one per two bytes), then small ones.
        let large = Array(
            (#"{"type":"track","properties":{"sku":"SKU-1"},"a":["# + String(repeating: "0,", count: 15_000) + "0]}")
                .utf8)
        let small = Array(#"{"type":"track","properties":{"sku":"SKU-1"}}"#.utf8)
        let events = Array(repeating: large, count: 12) + Array(repeating: small, count: 12)
        var engine = DestinationEnrichment(plan: plan, snapshots: snapshots, maxEventBytes: 32 << 10)
        var sink = CollectingSink()
        Self.enrichPipelined(events, &engine, into: &sink)
        #expect(sink.results.count == 24 && sink.results.allSatisfy { $0.outcome == .enriched })
        let batch = try #require(engine.batch)
        // A 4 KiB event has at most ~2,000 nodes; a 30 KiB one parsed ahead would leave 15,000 in its slot.
        let ring = batch.ring.map(\.nodes.capacity) + [batch.tape.nodes.capacity]
        #expect(ring.allSatisfy { $0 <= 4_096 }, "\(ring)")
        #expect(batch.turnTape.nodes.capacity >= 15_000)
    }

    @Test("The long __segment_entities form names the schema and table the model's warehouse gives (PostgreSQL's)")
    func longFormLocation() throws {
        struct Postgres: ModelDirectory {
            func model(named name: String) -> ModelInfo? {
                ModelInfo(
                    name: name, sourceTable: "analytics.dim_products", columns: ["key", "name"],
                    location: ("analytics", "dim_products"))
            }
        }
        let plan = try DestinationPlan(
            name: "d",
            [
                MappingDefinition(
                    name: "m", condition: "", matches: [ModelMatch(model: "products", matchProperty: "properties.sku")],
                    enrichments: [],
                    fields: try JSONParser.parse(
                        #"{"long":{"@path":"$.__segment_entities.products.analytics.dim_products.name"},"main":{"@path":"$.__segment_entities.products.main.dim_products.name"}}"#
                    ))
            ], models: Postgres())
        #expect(plan.tables["products"]?.schema == "analytics" && plan.tables["products"]?.table == "dim_products")
        var engine = DestinationEnrichment(
            plan: plan, snapshots: ["products": try Self.snapshot("products")], maxEventBytes: 1 << 10)
        let event = Array(#"{"type":"track","properties":{"sku":"SKU-1"}}"#.utf8)
        let result = event.withUnsafeBytes { engine.enrichOnTree($0, position: 0) }
        let output = try JSONParser.parse(result.mappings.first?.output ?? [])
        #expect(output == .object(JSONObject([("long", .string("Deluxe \"SKU-1\" caf\u{E9}"))])), "\(output)")
        // Without a location, SQLite's naming: `main` and the source table (or the model's name).
        #expect(ModelInfo(name: "p", sourceTable: "", columns: []).location == ("main", "p"))
        #expect(ModelInfo(name: "p", sourceTable: "t", columns: []).location == ("main", "t"))
    }

    @Test("A plan names the mapping and what is wrong: unknown model, unknown column, bad condition")
    func planErrors() throws {
        func plan(_ definition: MappingDefinition) -> PlanError? {
            do { _ = try DestinationPlan(name: "d", [definition], models: Directory()) } catch { return error }
            return nil
        }
        let match = [ModelMatch(model: "products", matchProperty: "properties.sku")]
        #expect(
            plan(
                MappingDefinition(
                    name: "a", condition: "", matches: [ModelMatch(model: "nope", matchProperty: "x")], enrichments: [],
                    fields: nil))
                == PlanError("mapping 'a': model 'nope' does not exist"))
        #expect(
            plan(
                MappingDefinition(
                    name: "b", condition: "", matches: match,
                    enrichments: [ColumnEnrichment(model: "products", column: "colour", key: "c")], fields: nil
                )) == PlanError("mapping 'b': column 'colour' does not exist in model 'products'"))
        let badCondition = try #require(
            plan(MappingDefinition(name: "c", condition: "typo", matches: match, enrichments: [], fields: nil)))
        #expect(badCondition.description.hasPrefix("mapping 'c': invalid condition"), "\(badCondition)")
        #expect(plan(MappingDefinition(name: "ok", condition: "", matches: match, enrichments: [], fields: nil)) == nil)
    }

    @Test(
        "What each model's rows carry: the enrichments' columns, every column with field mappings; tables for long references"
    )
    func neededColumns() throws {
        let match = [ModelMatch(model: "products", matchProperty: "properties.sku")]
        let onTape = try DestinationPlan(
            name: "d",
            [
                MappingDefinition(
                    name: "a", condition: "", matches: match,
                    enrichments: [ColumnEnrichment(model: "products", column: "name", key: "n")], fields: nil
                )
            ], models: Directory())
        #expect(onTape.runsOnTape && onTape.neededColumns["products"] == .some(["name"]))
        #expect(onTape.tables["products"]?.table == "dim_products")
        let withFields = try DestinationPlan(
            name: "d",
            [
                MappingDefinition(
                    name: "a", condition: "", matches: match, enrichments: [],
                    fields: try JSONParser.parse(#"{"x":{"@path":"$.event"}}"#)
                )
            ], models: Directory())
        #expect(!withFields.runsOnTape && withFields.neededColumns["products"] == .some(nil))
    }

    @Test(
        "Outcomes: enriched, partially, not found, no key, no mapping matched, invalid and oversized events; the tally counts them"
    )
    func outcomes() throws {
        let snapshots = ["products": try Self.snapshot("products"), "users": try Self.snapshot("users")]
        let plan = try DestinationPlan(
            name: "d",
            [
                MappingDefinition(
                    name: "both", condition: "type = \"track\"",
                    matches: [
                        ModelMatch(model: "products", matchProperty: "properties.sku"),
                        ModelMatch(model: "users", matchProperty: "userId"),
                    ],
                    enrichments: [
                        ColumnEnrichment(model: "products", column: "price", key: "properties.price"),
                        ColumnEnrichment(model: "users", column: "id", key: "traits.id"),
                        ColumnEnrichment(model: "users", column: "seen", key: "traits.seen"),
                    ],
                    fields: nil
                )
            ], models: Directory())
        var engine = DestinationEnrichment(plan: plan, snapshots: snapshots, maxEventBytes: 200)
        var sink = CollectingSink()
        let events = [
            #"{"type":"track","userId":"pro","properties":{"sku":"SKU-1"}}"#,  // both found
            #"{"type":"track","userId":"SKU-2","properties":{"sku":"SKU-1"}}"#,  // one found
            #"{"type":"track","userId":"SKU-2","properties":{"sku":"SKU-2"}}"#,  // neither
            #"{"type":"track"}"#,  // no keys
            #"{"type":"page","userId":"pro"}"#,  // no mapping
            #"[1,2]"#, #"{"type":"track""#,  // invalid
            "{\"type\":\"track\",\"pad\":\"\(String(repeating: "x", count: 200))\"}",  // oversized
        ]
        for (position, event) in events.enumerated() {
            Array(event.utf8).withUnsafeBytes { engine.enrich($0, position: position, into: &sink) }
        }
        let results = sink.results
        #expect(
            results.map(\.outcome) == [
                .enriched, .partiallyEnriched, .notEnriched, .notEnriched, .notEnriched, .notEnriched, .notEnriched,
                .notEnriched,
            ])
        #expect(
            results.map(\.reason) == [
                .none, .none, .notFound, .noKey, .noMappingMatched, .invalidEvent, .invalidEvent, .invalidEvent,
            ])
        // Integers go out as JavaScript numbers (2^53 + 1 rounds), timestamps as ISO-8601 strings, as Segment's
        // runtime would write them.
        let output = String(decoding: results[0].mappings[0].output, as: UTF8.self)
        #expect(
            output.contains(#""price":481.03"#) && output.contains(#""id":9007199254740992"#)
                && output.contains(#""seen":"2024-01-02T03:04:05.250Z""#), "\(output)")
        #expect(
            results[5].error == "event 5 is not a JSON object"
                && results[7].error == "event 7 is \(events[7].utf8.count) bytes; the limit is 200")
        #expect(results[7].event == Array(events[7].utf8))
        #expect(
            engine.tally
                == {
                    var tally = Tally()
                    tally.enriched = 1
                    tally.partiallyEnriched = 1
                    tally.notEnriched = 6
                    tally.unmatched = 4
                    return tally
                }())
    }

    @Test("The dry run carries every column of each found row and the enriched event")
    func dryRun() throws {
        let snapshots = ["products": try Self.snapshot("products")]
        let plan = try DestinationPlan(
            name: "d",
            [
                MappingDefinition(
                    name: "m", condition: "", matches: [ModelMatch(model: "products", matchProperty: "properties.sku")],
                    enrichments: [ColumnEnrichment(model: "products", column: "name", key: "properties.name")],
                    fields: nil
                )
            ], models: Directory())
        let event = MappingValue(try JSONParser.parse(#"{"type":"track","properties":{"sku":"SKU-1"}}"#))
        let result = plan.test(plan.mappings[0], event: event, snapshots: snapshots)
        #expect(result.outcome == .enriched)
        guard case .found(_, let row) = try #require(result.entities.first).result else {
            Issue.record("no row found: \(result.entities)")
            return
        }
        #expect(row.columns.map(\.name) == Self.schema.map(\.name) && row.table == "dim_products")
        #expect(row.columns.first { $0.name == "id" }?.value == .int(9_007_199_254_740_993))
    }

    @Test("A plan loaded across an invalidation is used but not kept")
    func planCache() throws {
        let cache = PlanCache()
        let plan = try DestinationPlan(name: "d", [], models: Directory())
        var loads = 0
        _ = cache.plan(named: "d") {
            loads += 1
            cache.invalidate("d")  // the destination is written while its plan is compiled
            return plan
        }
        #expect(cache.cached(named: "d") == nil)
        _ = cache.plan(named: "d") {
            loads += 1
            return plan
        }
        _ = cache.plan(named: "d") {
            loads += 1
            return plan
        }
        #expect(loads == 2 && cache.cached(named: "d") != nil)
    }
}

@Suite("Cells as JSON")
struct CellJSONTests {
    @Test(
        "One rule for both paths: exact integers for plain Enrich, JavaScript numbers for destinations; strings repaired as String does"
    )
    func cells() throws {
        var builder = try SnapshotBuilder(
            schema: [
                .init(name: "k", type: .string), .init(name: "n", type: .int64), .init(name: "t", type: .timestamp),
                .init(name: "b", type: .bool),
            ],
            primaryKey: "k"
        )
        let invalid: [UInt8] = [0x61, 0xFF, 0x62]
        invalid.withUnsafeBytes { builder.appendString(0, $0) }
        builder.appendInt64(1, 9_007_199_254_740_993)
        builder.appendTimestamp(2, -1_000)
        builder.appendBool(3, true)
        builder.endRow()
        let snapshot = try builder.build(model: "m", version: 1)
        func write(_ column: Int, _ numbers: CellJSON.Numbers) -> String {
            var output: [UInt8] = []
            CellJSON.write(ColumnReference(snapshot.columns[column]), row: 0, numbers: numbers, into: &output)
            return String(decoding: output, as: UTF8.self)
        }
        #expect(write(1, .exact) == "9007199254740993" && write(1, .javaScript) == "9007199254740992")
        #expect(write(2, .exact) == #""1969-12-31T23:59:59.999Z""# && write(3, .javaScript) == "true")
        #expect(write(0, .exact) == JSONWriter.string(.string(String(decoding: invalid, as: UTF8.self))))
        for column in 0..<4 {
            #expect(write(column, .exact) == JSONWriter.string(CellJSON.value(snapshot.columns[column], row: 0)))
        }
    }
}
