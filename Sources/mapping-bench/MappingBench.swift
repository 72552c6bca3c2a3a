import EventJSON
import Mapping
import ModelCache

/// Micro-benchmark of the destination mapping path: a realistic mapping (condition, two model lookups with
/// enrichments, five field mappings) over in-memory snapshots, compiled once and reused per event. The same
/// run measures compiling the mapping for every event, the cost that compile-once saves.
@main
struct MappingBench {
    static func main() {
        let arguments = CommandLine.arguments
        let events = arguments.count > 1 ? Int(arguments[1]) ?? 200_000 : 200_000
        let (products, users) = Self.snapshots()
        let definition = MappingDefinition(
            name: "orders",
            condition: #"type = "track" and event = "Order Completed""#,
            matches: [
                ModelMatch(model: "products", matchProperty: "properties.sku"),
                ModelMatch(model: "users", matchProperty: "userId"),
            ],
            enrichments: [
                ColumnEnrichment(model: "users", column: "plan", key: "context.traits.plan"),
                ColumnEnrichment(model: "products", column: "brand", key: "properties.brand"),
            ],
            fields: try! JSONParser.parse(
                #"""
                {"product": {"@path": "$.__segment_entities.products.name"},
                 "price": {"@path": "$.__segment_entities.products.main.products.price"},
                 "label": {"@template": "{{properties.brand}} / {{__segment_entities.products.category}}"},
                 "plan": {"@path": "$.context.traits.plan"},
                 "vip": {"@if": {"exists": {"@path": "$.context.traits.plan"}, "then": true, "else": false}}}
                """#)
        )
        let inputs: [[UInt8]] = (0..<1_000).map { index in
            Array(
                #"{"type":"track","event":"Order Completed","userId":"\#(index % 10_000 + 1)","properties":{"sku":"SKU-\#(index * 37 % 100_000 + 1)","total":12.5}}"#
                    .utf8)
        }
        let lookup: (ModelMatch, MappingValue) -> EntityResult = { match, key in
            let snapshot = match.model == "products" ? products : users
            guard let row = snapshot.row(for: .string(key.jsString)) else { return .notFound(key: key.jsString) }
            return .found(
                key: key.jsString,
                row: EntityRow(
                    model: match.model, schema: "main", table: match.model,
                    columns: snapshot.columns.map { column in
                        (name: column.schema.name, value: Self.json(column.value(at: row)))
                    }))
        }
        let compiled = try! CompiledDestinationMapping(definition)
        var enriched = 0
        let clock = ContinuousClock()

        // Warm up, then the measured runs.
        for input in inputs { _ = compiled.apply(to: MappingValue(try! JSONParser.parse(input)), lookup: lookup) }
        let once = clock.measure {
            for index in 0..<events {
                let event = MappingValue(try! JSONParser.parse(inputs[index % inputs.count]))
                let result = compiled.apply(to: event, lookup: lookup)
                if result.outcome == .enriched, let output = result.output {
                    enriched += JSONWriter.bytes(output).count > 0 ? 1 : 0
                }
            }
        }
        let perEventRuns = max(1, events / 10)
        let perEvent = clock.measure {
            for index in 0..<perEventRuns {
                let mapping = try! CompiledDestinationMapping(definition)
                let event = MappingValue(try! JSONParser.parse(inputs[index % inputs.count]))
                _ = mapping.apply(to: event, lookup: lookup)
            }
        }
        let onceRate = Double(events) / Self.seconds(once)
        let perEventRate = Double(perEventRuns) / Self.seconds(perEvent)
        print("mapping-bench: condition + 2 model lookups/enrichments + 5 field mappings, JSON in and out, 1 core")
        print("compiled once:       \(Int(onceRate)) events/s  (\(events) events, \(enriched) enriched)")
        print("compiled per event:  \(Int(perEventRate)) events/s  (\(perEventRuns) events)")
        print(
            "ratio (once / per event): \(Int((onceRate / perEventRate * 10).rounded()) / 10).\(Int((onceRate / perEventRate * 10).rounded()) % 10)x"
        )
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func json(_ cell: CellValue) -> JSONValue {
        switch cell {
        case .null: .null
        case .int64(let value), .timestamp(let value): .int(value)
        case .double(let value): .double(value)
        case .bool(let value): .bool(value)
        case .string(let value): .string(value)
        }
    }

    static func snapshots() -> (ModelSnapshot, ModelSnapshot) {
        var products = try! SnapshotBuilder(
            schema: [
                ColumnSchema(name: "sku", type: .string), ColumnSchema(name: "name", type: .string),
                ColumnSchema(name: "brand", type: .string), ColumnSchema(name: "category", type: .string),
                ColumnSchema(name: "price", type: .double),
            ],
            primaryKey: "sku", expectedRows: 100_000
        )
        for index in 1...100_000 {
            for (column, text) in ["SKU-\(index)", "Product \(index)", "Brand \(index % 50)", "Category \(index % 8)"]
                .enumerated()
            {
                var text = text
                text.withUTF8 { products.appendString(column, UnsafeRawBufferPointer($0)) }
            }
            products.appendDouble(4, Double(index % 1_000) / 10)
            products.endRow()
        }
        var users = try! SnapshotBuilder(
            schema: [ColumnSchema(name: "id", type: .string), ColumnSchema(name: "plan", type: .string)],
            primaryKey: "id", expectedRows: 10_000
        )
        for index in 1...10_000 {
            for (column, text) in [String(index), ["free", "pro", "enterprise"][index % 3]].enumerated() {
                var text = text
                text.withUTF8 { users.appendString(column, UnsafeRawBufferPointer($0)) }
            }
            users.endRow()
        }
        return (try! products.build(model: "products", version: 1), try! users.build(model: "users", version: 1))
    }
}
