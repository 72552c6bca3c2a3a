import EventJSON
import Mapping
import Testing

/// A seeded generator, so a failure names an event that can be made again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random JSON texts over a small vocabulary of the keys conditions and mappings read, written with the
/// spellings a tree would normalise away: spacing, escapes, raw Unicode, repeated keys, big integers.
struct EventGenerator {
    var random: SplitMix
    static let keys = [
        "type", "event", "name", "userId", "properties", "traits", "context", "sku", "plan", "value", "a", "b", "0",
        "1", "length", "K", "\u{212A}", "caf\u{E9}", "cafe\u{301}",
    ]
    static let strings = ["track", "Product Viewed", "", "SKU-1", "SKU-2", "x", "xabc", "pro", "7", "\u{1F600}", "caf\u{E9}"]

    mutating func pick<T>(_ options: [T]) -> T { options[Int(self.random.next() % UInt64(options.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { self.random.next() % 100 < percent }

    mutating func space() -> String { self.chance(20) ? self.pick([" ", "\n", "\t ", "\r\n  "]) : "" }

    mutating func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value > 0x7F && self.chance(30) {
                    for unit in String(scalar).utf16 { out += "\\u" + String(unit, radix: 16, uppercase: self.chance(50)).leftPadded(4) }
                } else if scalar.isASCII && self.chance(3) {
                    out += "\\u00" + String(scalar.value, radix: 16).leftPadded(2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    mutating func value(depth: Int) -> String {
        switch self.random.next() % (depth > 3 ? 6 : 9) {
        case 0: return self.pick(["0", "1", "-3", "2.50", "1e2", "9007199254740993", "12345678901234567890", "0.1"])
        case 1: return self.pick(["true", "false", "null"])
        case 2, 3, 4, 5: return self.string(self.pick(Self.strings))
        case 6, 7: return self.object(depth: depth + 1)
        default:
            let count = Int(self.random.next() % 4)
            return "[" + (0..<count).map { _ in self.space() + self.value(depth: depth + 1) + self.space() }.joined(separator: ",") + "]"
        }
    }

    mutating func object(depth: Int) -> String {
        let count = Int(self.random.next() % 5)
        var members: [String] = []
        for _ in 0..<count {
            members.append(self.space() + self.string(self.pick(Self.keys)) + self.space() + ":" + self.space() + self.value(depth: depth) + self.space())
        }
        return "{" + members.joined(separator: ",") + self.space() + "}"
    }

    /// An event: usually with type, event and properties, sometimes with them of the wrong kind.
    mutating func event() -> String {
        var members: [String] = []
        for key in ["type", "event", "userId", "properties", "traits", "context"] where self.chance(70) {
            var value = key == "properties" || key == "traits" ? (self.chance(85) ? self.object(depth: 1) : self.value(depth: 1)) : self.value(depth: 1)
            if key == "properties" && value.hasPrefix("{") && self.chance(70) {  // usually a key to match on
                let sku = self.space() + "\"sku\":" + self.string(self.pick(["SKU-1", "SKU-2", "SKU-3", "SKU-11"]))
                value = "{" + sku + (value == "{}" || value.dropFirst().allSatisfy({ $0.isWhitespace || $0 == "}" }) ? "" : ",") + value.dropFirst()
            }
            members.append(self.space() + self.string(key) + ":" + self.space() + value)
        }
        if self.chance(10) { members.append("\"properties\":" + self.object(depth: 1)) }  // a repeated key
        members.shuffle(using: &self.random)
        return self.space() + "{" + members.joined(separator: ",") + "}" + self.space()
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - self.count)) + self }
}

@Suite("Events on a tape")
struct TapeEventTests {
    static func tapeEvent<Result>(_ text: String, _ body: (TapeEvent?) -> Result) -> Result {
        let bytes = Array(text.utf8)
        var tape = JSONTape()
        return bytes.withUnsafeBufferPointer { buffer in
            guard tape.parse(buffer), tape.nodes[0].kind == .object else { return body(nil) }
            return tape.withView(buffer) { body(TapeEvent($0)) }
        }
    }

    /// `lookup` behind the tape path's interface: rows found by the same rule, cells written as the tree
    /// path writes them.
    final class FakeRows: TapeRows {
        let definition: MappingDefinition
        var found: [EntityRow] = []

        init(_ definition: MappingDefinition) { self.definition = definition }

        func row(match: Int, key: TapeKey) -> Int? {
            let value: MappingValue
            switch key {
            case .utf8(let bytes): value = .string(String(decoding: bytes, as: UTF8.self))
            case .value(let decoded): value = decoded
            }
            guard case .found(let row) = TapeEventTests.lookup(self.definition.matches[match], value) else { return nil }
            self.found.append(row)
            return self.found.count - 1
        }

        func write(enrichment: Int, row: Int, into output: inout [UInt8]) {
            let column = self.definition.enrichments[enrichment].column
            JSONWriter.write(MappingValue(self.found[row].columns.first { $0.name == column }?.value ?? .null).json ?? .null, into: &output)
        }
    }

    /// Rows for any key whose text does not end in "2": columns with quotes, Unicode, a big integer and a NULL.
    static func lookup(_ match: ModelMatch, _ key: MappingValue) -> EntityResult {
        let text = key.jsString
        guard !text.hasSuffix("2") else { return .notFound(key: text) }
        return .found(EntityRow(model: match.model, schema: "main", table: match.model, columns: [
            ("name", .string("Deluxe \"\(text)\" caf\u{E9}")), ("price", .double(481.03)), ("id", .int(9_007_199_254_740_993)),
            ("missing", .null), ("whole", .double(3)),
        ]))
    }

    static func definitions(_ random: inout SplitMix, condition: String) -> MappingDefinition {
        var generator = EventGenerator(random: random)
        defer { random = generator.random }
        let matches = [
            ModelMatch(model: "products", matchProperty: generator.pick(["properties.sku", "properties.value", "$.userId", "properties.0", "a.b", "properties['sku']"])),
            ModelMatch(model: "users", matchProperty: generator.pick(["userId", "traits.plan", "properties.sku"])),
        ].prefix(1 + Int(generator.random.next() % 2))
        let paths = ["properties.product_name", "properties.sku", "traits.plan", "properties", "a.b.c", "type", "properties.value.x",
                     "K", "traits.plan.deep", "properties.length"]
        let columns = ["name", "price", "id", "missing", "whole"]
        let enrichments = (0..<(1 + Int(generator.random.next() % 4))).map { _ in
            ColumnEnrichment(model: generator.pick(Array(matches)).model, column: generator.pick(columns), key: generator.pick(paths))
        }
        return MappingDefinition(name: "m", condition: condition, matches: Array(matches), enrichments: enrichments, fields: nil)
    }

    @Test("conditions.json: every vector whose event is an object matches on the tape as on the tree")
    func conditionVectors() throws {
        var scratch = TapeScratch()
        var checked = 0
        for entry in try loadVectors("conditions.json") where entry["expect_error"]?.boolValue != true {
            guard let event = entry["event"], case .object = event, let text = entry["condition"]?.stringValue else { continue }
            let mapping = try CompiledDestinationMapping(MappingDefinition(name: "v", condition: text, matches: [], enrichments: [], fields: nil))
            let matched = Self.tapeEvent(JSONWriter.string(event)) { $0.map { mapping.apply(to: $0, rows: FakeRows(mapping.definition), scratch: &scratch).conditionMatched } }
            #expect(matched == (entry["expect"]?.boolValue == true), "\(text) on \(JSONWriter.string(event))")
            checked += 1
        }
        #expect(checked >= 90)
    }

    @Test("10,000 random events: condition, outcome and output agree with the tree path (Segment's catalog conditions)")
    func agreesWithTree() throws {
        let catalog = try loadVectors("conditions_catalog.json").compactMap { $0["condition"]?.stringValue }
            .filter { (try? Subscription($0)) != nil }
        #expect(catalog.count > 150)
        // Catalog conditions name real events, so random events rarely match them; these match often.
        let local = ["properties.value = \"x\"", "properties.length = 2", "properties.sku.length > 3", "traits.plan exists",
                     "match(properties.value, \"x*\")", "userId = \"7\"", "properties.0 = \"t\"", "", "type = \"track\"",
                     "properties exists", "!(event = \"Product Viewed\")", "properties.sku exists or traits exists",
                     "type = \"track\" and event = \"Product Viewed\"", "context.K != \"x\""]
        var random = SplitMix(state: 0x5EED)
        var matchedCount = 0, enrichedCount = 0
        var scratch = TapeScratch()  // reused across events, as the service reuses it across a batch
        for round in 0..<10_000 {
            var generator = EventGenerator(random: random)
            let text = generator.event()
            random = generator.random
            let condition = random.next() % 3 == 0 ? catalog[Int(random.next() % UInt64(catalog.count))] : local[Int(random.next() % UInt64(local.count))]
            let mapping = try CompiledDestinationMapping(Self.definitions(&random, condition: condition))
            let tree = mapping.apply(to: MappingValue(try JSONParser.parse(text)), lookup: Self.lookup)
            if round % 2 == 0 { scratch.startEvent() }  // outputs of earlier events stay put until cleared
            let tape = try #require(Self.tapeEvent(text) { $0.map { mapping.apply(to: $0, rows: FakeRows(mapping.definition), scratch: &scratch) } }, "\(text)")
            let context = "round \(round): \(text) with \(mapping.definition)"
            #expect(tape.conditionMatched == tree.conditionMatched, "\(context)")
            guard tree.conditionMatched else { continue }
            matchedCount += 1
            #expect(tape.outcome == tree.outcome, "\(context)")
            if tree.outcome != .notEnriched { enrichedCount += 1 }
            let output = Array(scratch.outputs[tape.output])
            let spliced = try JSONParser.parse(output)
            #expect(MappingValue(spliced) == MappingValue(tree.output!), "\(context)\ntape: \(String(decoding: output, as: UTF8.self))\ntree: \(JSONWriter.string(tree.output!))")
        }
        // The generator has to reach both sides of conditions and lookups for the comparison to mean anything.
        #expect(matchedCount > 1_000 && enrichedCount > 300, "matched \(matchedCount), enriched \(enrichedCount)")
    }

    @Test("The output keeps the sender's bytes and changes only the enrichment keys")
    func keepsBytes() throws {
        var scratch = TapeScratch()
        let text = #"{ "type" : "track", "big": 12345678901234567890, "properties": {"sku": "SKU-1", "x": 1.50, "product_name": "old", "e": "\u00e9"} }"#
        let mapping = try CompiledDestinationMapping(MappingDefinition(
            name: "m", condition: "type = \"track\"", matches: [ModelMatch(model: "products", matchProperty: "properties.sku")],
            enrichments: [ColumnEnrichment(model: "products", column: "price", key: "properties.product_name"),
                          ColumnEnrichment(model: "products", column: "name", key: "traits.label")],
            fields: nil
        ))
        let range = try #require(Self.tapeEvent(text) { $0.map { mapping.apply(to: $0, rows: FakeRows(mapping.definition), scratch: &scratch).output } })
        let output = Array(scratch.outputs[range])
        #expect(String(decoding: output, as: UTF8.self) ==
            #"{ "type" : "track", "big": 12345678901234567890, "properties": {"sku": "SKU-1", "x": 1.50, "product_name": 481.03, "e": "\u00e9"} ,"traits":{"label":"Deluxe \"SKU-1\" café"}}"#)
    }
}

@Suite("JSON tape")
struct JSONTapeTests {
    static func agree(_ bytes: [UInt8]) -> Bool {
        var tape = JSONTape()
        let accepted = bytes.withUnsafeBufferPointer { tape.parse($0) }
        return accepted == ((try? JSONParser.parse(bytes)) != nil)
    }

    @Test("Accepts exactly what JSONParser accepts: edge cases of strings, numbers, nesting and UTF-8")
    func edgeCases() {
        let texts: [[UInt8]] = [
            "{}", "[]", " 1 ", "-0", "01", "1.", "1e", "1e+", "-", "--1", "1.5e-3", "tru", "nul", "[1,]", "{\"a\":1,}", "{\"a\" 1}",
            "{1:2}", "\"\\u12\"", "\"\\uD800\"", "\"\\uD800\\u0041\"", "\"\\uD83D\\uDE00\"", "\"\\uDC00\"", "\"\\x\"", "\"a\nb\"",
            "\"\\/\"", "\"\u{1F600}\"", "[1] [2]", "", " ", "{\"a\":[1,{\"b\":null}]}", "\"\\u00e9\"",
        ].map { Array($0.utf8) } + [
            [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
            [0x22, 0xC3, 0xA9, 0x22], [0x22, 0xC3, 0x5C, 0x6E, 0xA9, 0x22],
            [0x22] + Array("abcdefghijklmnop".utf8) + [0xC0, 0x80] + Array("abcdefgh".utf8) + [0x22],
            [0x22] + Array("abcdefghijklmnop".utf8) + [0xC3, 0xA9] + Array("abcdefghi".utf8) + [0xE2, 0x82, 0x22],
            [0x22] + Array("abcdefghijklmnop".utf8) + [0xF0, 0x9F, 0x98, 0x80] + Array("abcdefghijk".utf8) + [0x22], [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22], [0x22, 0xFF, 0x22],
            Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8),
            Array((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8),
            Array((String(repeating: "{\"a\":", count: 64) + "1" + String(repeating: "}", count: 64)).utf8),
            Array((String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)).utf8),
        ]
        for text in texts { #expect(Self.agree(text), "\(String(decoding: text, as: UTF8.self)) \(text)") }
    }

    @Test("Accepts exactly what JSONParser accepts over 20,000 random events, each cut, flipped or spliced")
    func mutations() {
        var random = SplitMix(state: 42)
        var accepted = 0
        for _ in 0..<20_000 {
            var generator = EventGenerator(random: random)
            var bytes = Array(generator.event().utf8)
            random = generator.random
            let position = Int(random.next() % UInt64(bytes.count + 1))
            switch random.next() % 4 {
            case 0: bytes = Array(bytes[..<position])
            case 1 where position < bytes.count: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 2: bytes.insert(contentsOf: generator.pick([[0x2C], [0x5C], [0x22], [0xC3], [0x80], [0x00], [0x7D], [0x5D], Array("\\uD800".utf8)]), at: position)
            default: break
            }
            if (try? JSONParser.parse(bytes)) != nil { accepted += 1 }
            #expect(Self.agree(bytes), "\(String(decoding: bytes, as: UTF8.self)) \(bytes)")
        }
        #expect(accepted > 2_000 && accepted < 18_000, "\(accepted) accepted")
    }
}
