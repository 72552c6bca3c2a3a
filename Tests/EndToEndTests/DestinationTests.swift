import EnrichClient
import EventJSON
import Foundation
import RPCTesting
import Testing
import Warehouses

@Suite("End to end: destinations, Segment mappings and test mapping")
struct DestinationTests {
    static let orders = DestinationMapping(
        name: "orders",
        condition: #"type = "track" and event = "Order Completed""#,
        matches: [
            ModelMatch(model: "products", matchProperty: "properties.sku"),
            ModelMatch(model: "users", matchProperty: "userId"),
        ],
        enrichments: [ColumnEnrichment(model: "users", column: "plan", key: "context.traits.plan")],
        fieldsJSON: #"""
            {"product": {"@template": "{{__segment_entities.products.main.products.name}}"},
             "product_id": {"@path": "$.__segment_entities.products.product_id"},
             "plan": {"@path": "$.context.traits.plan"},
             "upper_brand": {"@liquid": "{{ __segment_entities.products.brand | upcase }}"}}
            """#
    )

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("Events go through a destination: outcomes per event, outputs per mapping, counts per destination")
    func enrichThroughDestination() async throws {
        let fixture = try await ServerFixture.start()
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        let created = try await client.createDestination(
            CreateDestinationRequest(name: "warehouse-orders", mappings: [Self.orders]))
        #expect(created.version == 1 && created.mappings == [Self.orders])

        let response = try await client.enrich(
            destination: "warehouse-orders",
            events: [
                Self.bytes(
                    #"{"type":"track","event":"Order Completed","userId":5,"properties":{"sku":"SKU-0000009"}}"#),
                Self.bytes(
                    #"{"type":"track","event":"Order Completed","userId":5,"properties":{"sku":"SKU-missing"}}"#),
                Self.bytes(#"{"type":"track","event":"Order Completed","properties":{}}"#),
                Self.bytes(#"{"type":"identify","userId":5}"#),
            ])
        #expect(response.events.map(\.outcome) == [.enriched, .partiallyEnriched, .notEnriched, .notEnriched])
        #expect(response.events.map(\.reason) == [.none, .none, .noKey, .noMappingMatched])
        let output = try JSONParser.parse(try #require(response.events[0].mappings.first).output)
        #expect(output[path: JSONPath("product_id")!] == .int(9))
        guard case .string(let product)? = output[path: JSONPath("product")!],
            case .string(let brand)? = output[path: JSONPath("upper_brand")!],
            case .string(let plan)? = output[path: JSONPath("plan")!]
        else {
            Issue.record("output is missing fields: \(JSONWriter.string(output))")
            return
        }
        #expect(product.hasSuffix(" 9"))
        #expect(brand == brand.uppercased() && !brand.isEmpty)
        #expect(["free", "starter", "pro", "enterprise"].contains(plan))
        let partial = try JSONParser.parse(response.events[1].mappings[0].output)
        #expect(partial[path: JSONPath("product_id")!] == nil)
        #expect(partial[path: JSONPath("product")!] == .string(""))

        let stats = try #require(try await client.getDestination("warehouse-orders").stats)
        #expect(stats == DestinationStats(events: 4, enriched: 1, partiallyEnriched: 1, notEnriched: 2, unmatched: 1))
        await fixture.stop()
    }

    @Test("Test mapping shows exactly what live traffic gets, for saved and inline mappings")
    func testMapping() async throws {
        let fixture = try await ServerFixture.start()
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        _ = try await client.createDestination(CreateDestinationRequest(name: "dest", mappings: [Self.orders]))
        let event = Self.bytes(
            #"{"type":"track","event":"Order Completed","userId":"12","properties":{"sku":"SKU-0000012"}}"#)
        let live = try await client.enrich(destination: "dest", events: [event]).events[0].mappings[0]
        let saved = try await client.testMapping(
            TestMappingRequest(destination: "dest", mapping: "orders", event: event))
        #expect(saved.output == live.output)
        #expect(saved.conditionMatched && saved.outcome == .enriched)
        #expect(saved.entities.map(\.model) == ["products", "users"])
        #expect(saved.entities.allSatisfy { $0.found })
        // The key each model was matched by, found or not (issue 17: it was empty when found).
        #expect(saved.entities.map(\.key) == ["SKU-0000012", "12"])
        let row = try JSONParser.parse(saved.entities[0].rowJSON)
        #expect(row[path: JSONPath("sku")!] == .string("SKU-0000012"))
        #expect(try JSONParser.parse(saved.enrichedEvent)[path: JSONPath("context.traits.plan")!] != nil)

        var inline = Self.orders
        inline.name = "draft"
        inline.condition = #"event = "Product Viewed""#
        let rejected = try await client.testMapping(TestMappingRequest(inlineMapping: inline, event: event))
        #expect(!rejected.conditionMatched && rejected.output.isEmpty)

        await expectRPCError(.notFound, "destination 'dest' has no mapping 'nope'") {
            _ = try await client.testMapping(TestMappingRequest(destination: "dest", mapping: "nope", event: event))
        }
        await expectRPCError(.invalidArgument, "the event is not a JSON object") {
            _ = try await client.testMapping(
                TestMappingRequest(destination: "dest", mapping: "orders", event: Self.bytes("[1]")))
        }
        await fixture.stop()
    }

    @Test(
        "Live traffic without field mappings (read on a tape, spliced) gets what test mapping's tree path gives, for every column type"
    )
    func tapeMatchesTree() async throws {
        let fixture = try await ServerFixture.start()
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        let columns = [
            "sku", "product_id", "name", "category", "brand", "price", "in_stock", "rating", "weight_grams",
            "created_at",
        ]
        let mapping = DestinationMapping(
            name: "all", condition: #"type = "track" and properties.sku exists"#,
            matches: [
                ModelMatch(model: "products", matchProperty: "properties.sku"),
                ModelMatch(model: "users", matchProperty: "userId"),
            ],
            enrichments: columns.map { ColumnEnrichment(model: "products", column: $0, key: "properties.p.\($0)") }
                + [
                    ColumnEnrichment(model: "products", column: "name", key: "properties.sku"),
                    ColumnEnrichment(model: "users", column: "plan", key: "traits"),
                    ColumnEnrichment(model: "users", column: "country", key: "traits.country"),
                ],
            fieldsJSON: ""
        )
        _ = try await client.createDestination(CreateDestinationRequest(name: "all", mappings: [mapping]))
        let events = (1...60).map { index in
            Self.bytes(
                #"{"type":"track", "userId": \#(index % 7 == 0 ? "\"x\"" : String(index)), "traits": "old", "properties": {"sku":"SKU-\#(String(format: "%07d", index))", "n": 1.50}}"#
            )
        }
        let live = try await client.enrich(destination: "all", events: events)
        var nulls = 0
        var partial = 0
        for (event, answer) in zip(events, live.events) {
            let tree = try await client.testMapping(
                TestMappingRequest(destination: "all", mapping: "all", event: event))
            #expect(answer.outcome == tree.outcome)
            let spliced = try JSONParser.parse(try #require(answer.mappings.first).output)
            #expect(
                spliced == (try JSONParser.parse(tree.output)),
                "\(String(decoding: answer.mappings[0].output, as: UTF8.self))")
            if spliced[path: JSONPath("properties.p.rating")!] == .null
                || spliced[path: JSONPath("properties.p.weight_grams")!] == .null
            {
                nulls += 1
            }
            if answer.outcome == .partiallyEnriched { partial += 1 }
        }
        #expect(nulls > 0 && partial > 0, "NULL cells and partial outcomes must both be exercised")
        await fixture.stop()
    }

    @Test("Invalid conditions, field mappings and references are refused with the parser's message; nothing is saved")
    func refusedWrites() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        var bad = Self.orders
        bad.condition = "properties.a<5"
        await expectRPCError(
            .invalidArgument,
            "mapping 'orders': invalid condition at character 13: expected termination character after identifier, got <"
        ) { _ = try await client.createDestination(CreateDestinationRequest(name: "d", mappings: [bad])) }
        bad = Self.orders
        bad.fieldsJSON = #"{"a": {"@path": 5}, "b": {"@oops": 1}}"#
        await expectRPCError(
            .invalidArgument,
            "mapping 'orders': invalid field mappings: /a/@path should be a string or a mapping directive but it is a number. /b has an invalid directive: @oops."
        ) { _ = try await client.createDestination(CreateDestinationRequest(name: "d", mappings: [bad])) }
        bad = Self.orders
        bad.matches.append(ModelMatch(model: "ghost", matchProperty: "userId"))
        await expectRPCError(.invalidArgument, "mapping 'orders': model 'ghost' does not exist") {
            _ = try await client.createDestination(CreateDestinationRequest(name: "d", mappings: [bad]))
        }
        bad = Self.orders
        bad.enrichments = [ColumnEnrichment(model: "users", column: "nope", key: "x")]
        await expectRPCError(.invalidArgument, "mapping 'orders': column 'nope' does not exist in model 'users'") {
            _ = try await client.createDestination(CreateDestinationRequest(name: "d", mappings: [bad]))
        }
        await expectRPCError(.invalidArgument, "mapping name 'orders' is used twice in destination 'd'") {
            _ = try await client.createDestination(
                CreateDestinationRequest(name: "d", mappings: [Self.orders, Self.orders]))
        }
        await expectRPCError(.notFound, "destination 'd' does not exist") { _ = try await client.getDestination("d") }
        #expect(try await client.listDestinations().destinations.isEmpty)
        await fixture.stop()
    }

    @Test("Updates need the current version; deletes remove the destination; the mapping limit holds at N and N+1")
    func updateDeleteAndLimits() async throws {
        var limits = Limits()
        limits.maxDestinationMappings = 2
        let fixture = try await ServerFixture.start(limits: limits, users: 10, products: 10)
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        _ = try await client.createDestination(CreateDestinationRequest(name: "d", mappings: [Self.orders]))
        var second = Self.orders
        second.name = "second"
        let updated = try await client.updateDestination(
            UpdateDestinationRequest(name: "d", mappings: [Self.orders, second], expectedVersion: 1))
        #expect(updated.version == 2 && updated.mappings.map(\.name) == ["orders", "second"])
        await expectRPCError(
            .aborted, "'d' is at version 2, not 1: it changed since you read it; read it again and retry"
        ) {
            _ = try await client.updateDestination(
                UpdateDestinationRequest(name: "d", mappings: [Self.orders], expectedVersion: 1))
        }
        var third = Self.orders
        third.name = "third"
        await expectRPCError(.resourceExhausted, "3 mappings exceed the limit of 2 per destination") {
            _ = try await client.updateDestination(
                UpdateDestinationRequest(name: "d", mappings: [Self.orders, second, third], expectedVersion: 2))
        }
        #expect(try await client.getDestination("d").mappings.count == 2)
        try await client.deleteDestination("d")
        await expectRPCError(.notFound, "destination 'd' does not exist") {
            _ = try await client.enrich(destination: "d", events: [])
        }
        await expectRPCError(.notFound, "destination 'd' does not exist") { try await client.deleteDestination("d") }
        await fixture.stop()
    }
}
