import Enrichment
import EventJSON
import Mapping
import ModelCache
import Testing

/// Plain Enrich (a key path and column -> key pairs, no destination): the tape path against the tree path it
/// replaced, and the sender's bytes kept.
@Suite("Plain Enrich on the tape")
struct PlainEnrichTests {
    static let schema: [ColumnSchema] = [
        .init(name: "sku", type: .string), .init(name: "count", type: .int64), .init(name: "price", type: .double),
        .init(name: "active", type: .bool), .init(name: "seen", type: .timestamp), .init(name: "label", type: .string),
    ]

    /// 50 rows keyed "k0"..."k49", every type, NULLs on every seventh row, labels needing escapes.
    static func snapshot() throws -> ModelSnapshot {
        var builder = try SnapshotBuilder(schema: Self.schema, primaryKey: "sku")
        for row in 0..<50 {
            var key = "k\(row)"
            key.withUTF8 { builder.appendString(0, UnsafeRawBufferPointer($0)) }
            if row % 7 == 3 { builder.appendNull(1) } else { builder.appendInt64(1, Int64(row) * 1_000_000_000_007) }
            builder.appendDouble(2, Double(row) / 8)
            builder.appendBool(3, row % 2 == 0)
            builder.appendTimestamp(4, Int64(row) * 86_400_000_000)
            var label = row % 5 == 0 ? "quote \" slash \\ tab \t é \u{1F600}" : "plain \(row)"
            if row % 7 == 4 {
                builder.appendNull(5)
            } else {
                label.withUTF8 { builder.appendString(5, UnsafeRawBufferPointer($0)) }
            }
            builder.endRow()
        }
        return try builder.build(model: "items", version: 1)
    }

    /// Runs both paths on one event; returns (tree, tape) answers.
    static func both(
        _ event: [UInt8], keyPath: String, enrichments: [(String, String)], snapshot: ModelSnapshot
    ) throws -> (EventResult, EventResult) {
        let path = try #require(JSONPath(keyPath))
        let targets = try enrichments.map { column, key in
            KeyedEnrichment.Target(
                column: snapshot.columns[try #require(snapshot.columnIndex(named: column))],
                path: try #require(JSONPath(key)))
        }
        var engine = KeyedEnrichment(keyPath: path, snapshot: snapshot, targets: targets, maxEventBytes: 32 << 10)
        let treeAnswer = event.withUnsafeBytes { engine.enrichOnTree($0, position: 0) }
        var sink = CollectingSink()
        event.withUnsafeBytes { engine.enrich($0, position: 0, into: &sink) }
        return (treeAnswer, try #require(sink.results.first))
    }

    @Test("On 5,000 random events the tape path answers as the tree path did: same outcome, reason and JSON")
    func differential() throws {
        let snapshot = try Self.snapshot()
        var random = SystemRandomNumberGenerator()
        let keyPaths = ["sku", "properties.sku", "a.b.sku", "list.1", "properties.list.0"]
        let targetPaths = [
            "enriched.count", "properties.price", "sku", "a", "a.b", "properties.sku.deep", "list.1", "x.y.z",
        ]
        let columns = ["count", "price", "active", "seen", "label", "sku"]
        for _ in 0..<5_000 {
            let key: String =
                switch Int.random(in: 0..<8, using: &random) {
                case 0: "\"k\(Int.random(in: 0..<60, using: &random))\""  // found, or not
                case 1: "\"k\\u0031\""  // escaped: k1
                case 2: "\(Int.random(in: 0..<3, using: &random))"  // a number against string keys
                case 3: "null"
                case 4: "{\"not\":\"a key\"}"
                case 5: "\"\""
                case 6: "12345678901234567890123"  // past Int64
                default: "\"k\(Int.random(in: 0..<50, using: &random))\""
                }
            let space = ["", " ", "\n  "].randomElement(using: &random)!
            let noise = [
                "\"n\":18446744073709551617", "\"s\":\"\\ud83d\\ude00 and \\u00e9\"", "\"f\":1.50", "\"e\":[]",
                "\"sku\":\"dup\"", "\"a\":3", "\"list\":[\"k2\",\"k3\"]", "\"properties\":{\"list\":[\"k4\"]}",
            ]
            .shuffled(using: &random).prefix(Int.random(in: 0...4, using: &random))
            let keyPath = keyPaths.randomElement(using: &random)!
            let wrapped: String =
                switch keyPath {
                case "sku": "\"sku\":\(space)\(key)"
                case "properties.sku": "\"properties\":{\"sku\":\(key)}"
                case "a.b.sku": "\"a\":{\"b\":{\"sku\":\(key)}}"
                case "list.1": "\"list\":[0,\(key)]"
                default: "\"properties\":{\"list\":[\(key)]}"
                }
            let members = ([wrapped] + noise).shuffled(using: &random).joined(separator: ",\(space)")
            let event = Array("{\(space)\(members)\(space)}".utf8)
            let enrichments = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                (columns.randomElement(using: &random)!, targetPaths.randomElement(using: &random)!)
            }
            let (tree, tape) = try Self.both(event, keyPath: keyPath, enrichments: enrichments, snapshot: snapshot)
            let text = String(decoding: event, as: UTF8.self)
            #expect(tape.outcome == tree.outcome && tape.reason == tree.reason, "\(text) \(enrichments)")
            #expect(try JSONParser.parse(tape.event) == JSONParser.parse(tree.event), "\(text) \(enrichments)")
        }
    }

    @Test("Every byte outside the enriched key is the sender's: big integers, 1e400, lone surrogates, spacing, escapes")
    func verbatim() throws {
        let snapshot = try Self.snapshot()
        let untouched =
            #"{ "big" : 18446744073709551617, "huge":1e400,"lone":"\ud800", "esc":"\u00e9\/", "sku":"k1",  "n":1.50 }"#
        let (tree, tape) = try Self.both(
            Array(untouched.utf8), keyPath: "sku", enrichments: [("count", "enriched")], snapshot: snapshot)
        #expect(tape.outcome == .enriched && tree.outcome == .enriched)
        let expected =
            #"{ "big" : 18446744073709551617, "huge":1e400,"lone":"\ud800", "esc":"\u00e9\/", "sku":"k1",  "n":1.50 ,"enriched":1000000000007}"#
        #expect(String(decoding: tape.event, as: UTF8.self) == expected)
        // What the tree path did: re-serialised everything.
        #expect(String(decoding: tree.event, as: UTF8.self).contains("1.8446744073709552e+19"))
        // A not-enriched event comes back byte for byte.
        let missing = #"{"sku" : "nope", "big":18446744073709551617}"#
        let (_, notFound) = try Self.both(
            Array(missing.utf8), keyPath: "sku", enrichments: [("count", "c")], snapshot: snapshot)
        #expect(notFound.reason == .notFound && notFound.event == Array(missing.utf8))
    }

    @Test("An event over the size limit comes back unchanged, with the reason")
    func oversized() throws {
        let snapshot = try Self.snapshot()
        let event = Array("{\"sku\":\"k1\",\"pad\":\"\(String(repeating: "x", count: 33 << 10))\"}".utf8)
        let (tree, tape) = try Self.both(event, keyPath: "sku", enrichments: [("count", "c")], snapshot: snapshot)
        #expect(tape.reason == .invalidEvent && tape.event == event && tape.error.contains("the limit is 32768"))
        #expect(tree.event == event)
    }
}
