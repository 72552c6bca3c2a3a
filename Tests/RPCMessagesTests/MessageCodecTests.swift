import RPCCore
import RPCMessages
import Testing

@Suite("protobuf-c message bridge")
struct MessageCodecTests {
    func roundTrip<M: RPCMessage & Equatable>(_ message: M) throws -> M {
        try M(serializedBytes: message.serializedBytes())
    }

    @Test("Every field of a Model survives encode and decode")
    func model() throws {
        let model = Model(
            name: "users", warehouse: "embedded", table: "users", query: "", primaryKey: "id",
            columns: [Column(name: "id", type: .int64, sourceType: "INTEGER"), Column(name: "é", type: .timestamp)],
            createdAtMilliseconds: -5, version: 7, cachedRows: 100_000
        )
        #expect(try self.roundTrip(model) == model)
    }

    @Test("Lookup responses keep typed columns, nulls and empty strings")
    func lookupResponse() throws {
        let response = LookupResponse(
            found: [true, false, true],
            columns: [
                ColumnValues(
                    name: "a", type: .int64, nulls: [false, true, false], int64Values: [Int64.min, 0, Int64.max]),
                ColumnValues(name: "b", type: .double, nulls: [false, true, true], doubleValues: [1.5, 0, -0.25]),
                ColumnValues(name: "c", type: .bool, nulls: [false, true, false], boolValues: [true, false, false]),
                ColumnValues(
                    name: "d", type: .string, nulls: [false, true, false], stringValues: ["x", "", "ünïcødé"]),
            ])
        #expect(try self.roundTrip(response) == response)
    }

    @Test("Enrich requests carry raw event bytes unchanged")
    func enrichRequest() throws {
        let request = EnrichRequest(
            model: "m", keyPath: "properties.sku", enrichments: [Enrichment(column: "c", key: "k")],
            events: [Array(#"{"a":1}"#.utf8), [], [0, 255, 10]]
        )
        #expect(try self.roundTrip(request) == request)
    }

    @Test("Sync runs and envelope messages round-trip")
    func syncAndEnvelope() throws {
        let run = SyncRun(
            id: 3, model: "m", status: .partialSuccess, phase: .load, startedAtMilliseconds: 1,
            finishedAtMilliseconds: 2,
            rowsRead: 10, rowsAdded: 8, rowsChanged: 1, rowsRemoved: 0, rowsFailed: 2, error: "why", rowsExpected: 10)
        #expect(try self.roundTrip(run) == run)
        let header = RequestHeader(
            method: "enrich.v1.Enrich/Lookup", authorization: "Bearer t", timeoutMilliseconds: 250,
            metadata: Metadata([("a", "1"), ("a", "2")]))
        #expect(try self.roundTrip(header) == header)
        let status = Status(code: .permissionDenied, message: "no", metadata: Metadata([("k", "v")]))
        #expect(try self.roundTrip(status) == status)
    }

    @Test("Destinations, their mappings and test-mapping results round-trip, optional members included")
    func destinations() throws {
        let mapping = DestinationMapping(
            name: "m", condition: "type = \"track\"",
            matches: [ModelMatch(model: "p", matchProperty: "properties.sku")],
            enrichments: [ColumnEnrichment(model: "p", column: "c", key: "k")], fieldsJSON: "{}"
        )
        let destination = Destination(
            name: "d", mappings: [mapping], version: 3, createdAtMilliseconds: 9,
            stats: DestinationStats(events: 4, enriched: 1, partiallyEnriched: 1, notEnriched: 2, unmatched: 1))
        #expect(try self.roundTrip(destination) == destination)
        #expect(try self.roundTrip(Destination(name: "bare")) == Destination(name: "bare"))
        let outcome = MappingOutcome(
            mapping: "m", conditionMatched: true, outcome: .partiallyEnriched,
            entities: [EntityMatch(model: "p", keyPresent: true, key: "k", found: true, rowJSON: [123, 125])],
            enrichedEvent: [1], output: [2], error: "e")
        #expect(try self.roundTrip(TestMappingResponse(result: outcome)) == TestMappingResponse(result: outcome))
        let request = TestMappingRequest(destination: "d", inlineMapping: mapping, event: [123, 125])
        #expect(try self.roundTrip(request) == request)
        let event = EnrichedEvent(outcome: .notEnriched, reason: .noMappingMatched, event: [1], mappings: [outcome])
        #expect(try self.roundTrip(event) == event)
    }

    @Test("An empty body decodes to a message of defaults")
    func emptyBody() throws {
        #expect(try LookupRequest(serializedBytes: [UInt8]()) == LookupRequest(model: ""))
    }

    @Test("Bytes that are not protobuf are refused with INVALID_ARGUMENT")
    func garbage() {
        // The wire check names the field and the byte where the encoding breaks.
        #expect(
            throws: RPCError(
                .invalidArgument,
                "message body is not a valid protobuf encoding (enrich.v1.LookupRequest.model, byte 1)")
        ) {
            try LookupRequest(serializedBytes: [0x0A, 0x05, 0x61])  // Field 1 claims 5 bytes, 1 follows.
        }
    }
}
