import EventGenerators
import EventJSON
import Mapping
import Testing

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
            guard case .found(_, let row) = TapeEventTests.lookup(self.definition.matches[match], value) else {
                return nil
            }
            self.found.append(row)
            return self.found.count - 1
        }

        func write(enrichment: Int, row: Int, into output: inout [UInt8]) {
            let column = self.definition.enrichments[enrichment].column
            JSONWriter.write(
                MappingValue(self.found[row].columns.first { $0.name == column }?.value ?? .null).json ?? .null,
                into: &output)
        }
    }

    /// Rows for any key whose text does not end in "2": columns with quotes, Unicode, a big integer and a NULL.
    static func lookup(_ match: ModelMatch, _ key: MappingValue) -> EntityResult {
        let text = key.jsString
        guard !text.hasSuffix("2") else { return .notFound(key: text) }
        return .found(
            key: text,
            row: EntityRow(
                model: match.model, schema: "main", table: match.model,
                columns: [
                    ("name", .string("Deluxe \"\(text)\" caf\u{E9}")), ("price", .double(481.03)),
                    ("id", .int(9_007_199_254_740_993)),
                    ("missing", .null), ("whole", .double(3)),
                ]))
    }

    @Test("conditions.json: every vector whose event is an object matches on the tape as on the tree")
    func conditionVectors() throws {
        var scratch = TapeScratch()
        var checked = 0
        for entry in try loadVectors("conditions.json") where entry["expect_error"]?.boolValue != true {
            guard let event = entry["event"], case .object = event, let text = entry["condition"]?.stringValue else {
                continue
            }
            let mapping = try CompiledDestinationMapping(
                MappingDefinition(name: "v", condition: text, matches: [], enrichments: [], fields: nil))
            let matched = Self.tapeEvent(JSONWriter.string(event)) {
                $0.map { mapping.apply(to: $0, rows: FakeRows(mapping.definition), scratch: &scratch).conditionMatched }
            }
            #expect(matched == (entry["expect"]?.boolValue == true), "\(text) on \(JSONWriter.string(event))")
            checked += 1
        }
        #expect(checked >= 90)
    }

    @Test("The output keeps the sender's bytes and changes only the enrichment keys")
    func keepsBytes() throws {
        var scratch = TapeScratch()
        let text =
            #"{ "type" : "track", "big": 12345678901234567890, "properties": {"sku": "SKU-1", "x": 1.50, "product_name": "old", "e": "\u00e9"} }"#
        let mapping = try CompiledDestinationMapping(
            MappingDefinition(
                name: "m", condition: "type = \"track\"",
                matches: [ModelMatch(model: "products", matchProperty: "properties.sku")],
                enrichments: [
                    ColumnEnrichment(model: "products", column: "price", key: "properties.product_name"),
                    ColumnEnrichment(model: "products", column: "name", key: "traits.label"),
                ],
                fields: nil
            ))
        let range = try #require(
            Self.tapeEvent(text) {
                $0.map { mapping.apply(to: $0, rows: FakeRows(mapping.definition), scratch: &scratch).output }
            })
        let output = Array(scratch.outputs[range])
        #expect(
            String(decoding: output, as: UTF8.self)
                == #"{ "type" : "track", "big": 12345678901234567890, "properties": {"sku": "SKU-1", "x": 1.50, "product_name": 481.03, "e": "\u00e9"} ,"traits":{"label":"Deluxe \"SKU-1\" café"}}"#
        )
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
        let texts: [[UInt8]] =
            [
                "{}", "[]", " 1 ", "-0", "01", "1.", "1e", "1e+", "-", "--1", "1.5e-3", "tru", "nul", "[1,]",
                "{\"a\":1,}", "{\"a\" 1}",
                "{1:2}", "\"\\u12\"", "\"\\uD800\"", "\"\\uD800\\u0041\"", "\"\\uD83D\\uDE00\"", "\"\\uDC00\"",
                "\"\\x\"", "\"a\nb\"",
                "\"\\/\"", "\"\u{1F600}\"", "[1] [2]", "", " ", "{\"a\":[1,{\"b\":null}]}", "\"\\u00e9\"",
            ].map { Array($0.utf8) } + [
                [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
                [0x22, 0xE2, 0x82, 0x22],
                [0x22, 0xC3, 0xA9, 0x22], [0x22, 0xC3, 0x5C, 0x6E, 0xA9, 0x22],
                [0x22] + Array("abcdefghijklmnop".utf8) + [0xC0, 0x80] + Array("abcdefgh".utf8) + [0x22],
                [0x22] + Array("abcdefghijklmnop".utf8) + [0xC3, 0xA9] + Array("abcdefghi".utf8) + [0xE2, 0x82, 0x22],
                [0x22] + Array("abcdefghijklmnop".utf8) + [0xF0, 0x9F, 0x98, 0x80] + Array("abcdefghijk".utf8) + [0x22],
                [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22], [0x22, 0xFF, 0x22],
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
            case 2:
                bytes.insert(
                    contentsOf: generator.pick([
                        [0x2C], [0x5C], [0x22], [0xC3], [0x80], [0x00], [0x7D], [0x5D], Array("\\uD800".utf8),
                    ]), at: position)
            default: break
            }
            if (try? JSONParser.parse(bytes)) != nil { accepted += 1 }
            #expect(Self.agree(bytes), "\(String(decoding: bytes, as: UTF8.self)) \(bytes)")
        }
        #expect(accepted > 2_000 && accepted < 18_000, "\(accepted) accepted")
    }
}
