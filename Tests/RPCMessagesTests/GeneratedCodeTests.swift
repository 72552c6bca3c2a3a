import RPCCore
import Testing

@testable import RPCMessages

/// The generated Swift layer held to protobuf-c's own descriptors, and the hand-tuned writers to protobuf-c's
/// decoder.
@Suite("Generated message layer")
struct GeneratedCodeTests {
    @Test("Every generated message's fields (names and numbers) are protobuf-c's, in order")
    func fieldsMatchDescriptors() {
        #expect(allMessageTypes.count > 60)
        for type in allMessageTypes {
            let generated = type.generatedFields
            let fromC = type.protobufCFields
            #expect(
                generated.map(\.name) == fromC.map(\.name) && generated.map(\.number) == fromC.map(\.number),
                "\(type.protoName)")
        }
    }

    @Test("The hand-tuned writers' field numbers are below 16 (one-byte tags, as their sizers assume)")
    func writerFieldsFitOneByte() {
        for type in [
            EnrichResponse.self, EnrichedEvent.self, MappingOutcome.self, LookupResponse.self, ColumnValues.self,
        ] as [any ProtobufCBridged.Type] {
            #expect(type.protobufCFields.allSatisfy { $0.number < 16 }, "\(type.protoName)")
        }
    }

    @Test(
        "EnrichResponseWriter writes what protobuf-c decodes as the same events (defaults left out, mappings, errors)")
    func enrichWriter() throws {
        var writer = EnrichResponseWriter(reserving: 0)
        let expected = [
            EnrichedEvent(outcome: .enriched, reason: .none, event: Array(#"{"a":1}"#.utf8)),
            EnrichedEvent(
                outcome: .notEnriched, reason: .invalidEvent, event: [0xFF, 0x00], error: "event 1 is not a JSON object"
            ),
            EnrichedEvent(
                outcome: .partiallyEnriched, reason: .none, event: Array("{}".utf8),
                mappings: [
                    MappingOutcome(
                        mapping: "m1", conditionMatched: true, outcome: .partiallyEnriched,
                        output: Array(#"{"x":"é"}"#.utf8)),
                    MappingOutcome(
                        mapping: "m2", conditionMatched: false, outcome: .notEnriched, error: "condition over budget"),
                ]),
            EnrichedEvent(outcome: .unspecified, reason: .noMappingMatched, event: Array(repeating: 0x61, count: 300)),
        ]
        for event in expected {
            // Every byte field in one buffer, which stays open while the writer reads it.
            var arena: [UInt8] = []
            func add(_ bytes: some Collection<UInt8>) -> Range<Int> {
                arena.append(contentsOf: bytes)
                return (arena.count - bytes.count)..<arena.count
            }
            let eventSpan = add(event.event)
            let errorSpan = add(event.error.utf8)
            let spans = event.mappings.map { (add($0.mapping.utf8), add($0.output), add($0.error.utf8)) }
            arena.withUnsafeBytes { arena in
                writer.appendEvent(
                    outcome: event.outcome, reason: event.reason,
                    event: UnsafeRawBufferPointer(rebasing: arena[eventSpan]),
                    error: UnsafeRawBufferPointer(rebasing: arena[errorSpan]), mappingCount: event.mappings.count
                ) { index in
                    EnrichResponseWriter.MappingFields(
                        name: UnsafeRawBufferPointer(rebasing: arena[spans[index].0]),
                        conditionMatched: event.mappings[index].conditionMatched,
                        outcome: event.mappings[index].outcome,
                        output: UnsafeRawBufferPointer(rebasing: arena[spans[index].1]),
                        error: UnsafeRawBufferPointer(rebasing: arena[spans[index].2])
                    )
                }
            }
        }
        let bytes = writer.finished().serializedBytes()
        #expect(try EnrichResponse(serializedBytes: bytes) == EnrichResponse(events: expected))
        #expect(bytes == EnrichResponse(events: expected).serializedBytes())
    }

    @Test("Every rpc declares a cost, roles and whether it writes; writes run on the pool")
    func methodTable() {
        #expect(Methods.all.count == Set(Methods.all.map(\.fullName)).count)
        for method in Methods.all {
            #expect(method.cost != nil, "\(method)")
            if method.isWrite { #expect(method.cost == .pool, "\(method)") }
        }
        #expect(Methods.healthCheck.roles == nil && Methods.lookup.cost == .inline && Methods.watchSync.cost == .stream)
        #expect(Methods.createToken.roles == ["workspace_owner"] && Methods.createToken.isWrite)
    }
}
