import EventGenerators
import EventJSON
import Mapping
import Testing

/// A tiny in-memory "cache": products by sku and users by id.
struct FakeEntities {
    static let products: [String: [(name: String, value: JSONValue)]] = [
        "SKU-1": [("sku", .string("SKU-1")), ("name", .string("Lamp")), ("price", .double(19.5)), ("brand", .null)],
        "SKU-2": [
            ("sku", .string("SKU-2")), ("name", .string("Kettle")), ("price", .int(30)), ("brand", .string("Acme")),
        ],
    ]
    static let users: [String: [(name: String, value: JSONValue)]] = [
        "7": [("id", .int(7)), ("plan", .string("pro"))]
    ]

    static func lookup(_ match: ModelMatch, _ key: MappingValue) -> EntityResult {
        let text = key.jsString
        let table = match.model == "products" ? Self.products : Self.users
        guard let columns = table[text] else { return .notFound(key: text) }
        return .found(
            key: text, row: EntityRow(model: match.model, schema: "main", table: match.model, columns: columns))
    }
}

func event(_ text: String) throws -> MappingValue { MappingValue(try JSONParser.parse(text)) }

@Suite("Destination mappings and enrichment references")
struct DestinationMappingTests {
    static let definition = MappingDefinition(
        name: "orders",
        condition: #"type = "track" and event = "Order Completed""#,
        matches: [
            ModelMatch(model: "products", matchProperty: "properties.sku"),
            ModelMatch(model: "users", matchProperty: "userId"),
        ],
        enrichments: [ColumnEnrichment(model: "users", column: "plan", key: "context.traits.plan")],
        fields: try! JSONParser.parse(
            #"""
            {
              "product_name": {"@template": "{{__segment_entities.products.main.products.name}}"},
              "price": {"@path": "$.__segment_entities.products.price"},
              "brand": {"@path": "$.__segment_entities.products.brand"},
              "plan": {"@path": "$.context.traits.plan"},
              "total": {"@path": "$.properties.total"}
            }
            """#)
    )

    @Test("Rows are reachable by Segment's long reference and by <model>.<column>; enrichments write into the event")
    func fullyEnriched() throws {
        let compiled = try CompiledDestinationMapping(Self.definition)
        let result = compiled.apply(
            to: try event(
                #"{"type":"track","event":"Order Completed","userId":7,"properties":{"sku":"SKU-1","total":3}}"#),
            lookup: FakeEntities.lookup
        )
        #expect(result.conditionMatched)
        #expect(result.outcome == .enriched)
        #expect(result.error == nil)
        #expect(
            result.output
                == (try JSONParser.parse(#"{"product_name":"Lamp","price":19.5,"brand":null,"plan":"pro","total":3}"#)))
        // The enriched event carries the enrichment but not the internal entities key.
        #expect(result.enrichedEvent?[path: JSONPath("context.traits.plan")!] == .string("pro"))
        #expect(result.enrichedEvent?[path: JSONPath(segmentEntitiesKey)!] == nil)
    }

    @Test("A missing row leaves its references out (template gives \"\"), and the event is partially enriched")
    func rowAbsent() throws {
        let compiled = try CompiledDestinationMapping(Self.definition)
        let result = compiled.apply(
            to: try event(#"{"type":"track","event":"Order Completed","userId":7,"properties":{"sku":"SKU-404"}}"#),
            lookup: FakeEntities.lookup
        )
        #expect(result.outcome == .partiallyEnriched)
        #expect(
            result.entities.map(\.result) == [
                .notFound(key: "SKU-404"),
                FakeEntities.lookup(ModelMatch(model: "users", matchProperty: ""), .number(7)),
            ])
        #expect(result.output == (try JSONParser.parse(#"{"product_name":"","plan":"pro"}"#)))
    }

    @Test("A missing match property means no key: nothing is looked up and the event is not enriched")
    func matchPropertyMissing() throws {
        let compiled = try CompiledDestinationMapping(Self.definition)
        let result = compiled.apply(
            to: try event(#"{"type":"track","event":"Order Completed","properties":{}}"#), lookup: FakeEntities.lookup
        )
        #expect(result.outcome == .notEnriched)
        #expect(result.entities.map(\.result) == [.noKey, .noKey])
        #expect(result.output == (try JSONParser.parse(#"{"product_name":""}"#)))
    }

    @Test("A NULL column stays null in the output (use @excludeWhenNull to drop it)")
    func nullColumn() throws {
        var definition = Self.definition
        definition.fields = try JSONParser.parse(
            #"{"brand":{"@path":"$.__segment_entities.products.brand"},"b2":{"@excludeWhenNull":{"@path":"$.__segment_entities.products.brand"}}}"#
        )
        let result = try CompiledDestinationMapping(definition).apply(
            to: try event(#"{"type":"track","event":"Order Completed","userId":"7","properties":{"sku":"SKU-1"}}"#),
            lookup: FakeEntities.lookup
        )
        #expect(result.output == (try JSONParser.parse(#"{"brand":null}"#)))
    }

    @Test("An event the condition rejects is not mapped")
    func conditionRejects() throws {
        let result = try CompiledDestinationMapping(Self.definition).apply(
            to: try event(#"{"type":"identify","userId":7}"#), lookup: FakeEntities.lookup
        )
        #expect(!result.conditionMatched)
        #expect(result.output == nil)
    }

    @Test("Without field mappings the output is the enriched event; an empty condition matches everything")
    func noFields() throws {
        let definition = MappingDefinition(
            name: "raw", condition: "", matches: [ModelMatch(model: "products", matchProperty: "$.properties.sku")],
            enrichments: [ColumnEnrichment(model: "products", column: "name", key: "properties.product_name")],
            fields: nil
        )
        let result = try CompiledDestinationMapping(definition).apply(
            to: try event(#"{"properties":{"sku":"SKU-2"}}"#), lookup: FakeEntities.lookup
        )
        #expect(result.outcome == .enriched)
        #expect(result.output == (try JSONParser.parse(#"{"properties":{"sku":"SKU-2","product_name":"Kettle"}}"#)))
    }

    @Test("Bad conditions, field mappings and paths are refused when compiled, with the parser's message")
    func refusedDefinitions() {
        var bad = Self.definition
        bad.condition = "typo"
        #expect(throws: DestinationError.self) { try CompiledDestinationMapping(bad) }
        do { _ = try CompiledDestinationMapping(bad) } catch {
            #expect(error.description.hasPrefix("mapping 'orders': invalid condition"))
        }
        bad = Self.definition
        bad.fields = try? JSONParser.parse(#"{"a":{"@path":5}}"#)
        #expect(
            throws: DestinationError.invalidFields(
                mapping: "orders", ["/a/@path should be a string or a mapping directive but it is a number."])
        ) {
            try CompiledDestinationMapping(bad)
        }
        bad = Self.definition
        bad.enrichments = [ColumnEnrichment(model: "ghost", column: "x", key: "y")]
        #expect(throws: DestinationError.enrichmentWithoutMatch(mapping: "orders", model: "ghost")) {
            try CompiledDestinationMapping(bad)
        }
        bad = Self.definition
        bad.enrichments = [ColumnEnrichment(model: "users", column: "plan", key: "a..b")]
        #expect(throws: DestinationError.invalidPath(mapping: "orders", "a..b")) { try CompiledDestinationMapping(bad) }
    }
}

@Suite("Condition parse errors a person can act on")
struct ConditionErrorTests {
    @Test(
        "Errors carry a position and say what is wrong",
        arguments: [
            (
                "type = \"track\" and event !\"x\"",
                "invalid condition at character 27: expected '=' after '!', got '\"'"
            ),
            // Issue 17: this used to say "expected '=' after '!', got '='".
            (
                "event !=\"x\"",
                "invalid condition at character 9: '!=' must be followed by a space, got '\"' (write `!= \"x\"`, not `!=\"x\"`)"
            ),
            (
                "properties.a<5",
                "invalid condition at character 13: expected termination character after identifier, got <"
            ),
            ("type = \"x", "invalid condition at character 10: unterminated string"),
            ("Event = \"x\"", "invalid condition: no condition found"),
            ("(type = \"a\"", "invalid condition at character 1: '(' is not closed"),
            ("type", "invalid condition at character 1: 'type' needs an operator"),
        ])
    func messages(text: String, prefix: String) {
        do {
            _ = try Subscription(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description.hasPrefix(prefix), "\(error.description)")
        }
    }
}
