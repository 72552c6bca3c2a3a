import RPCCore
import RPCMessages

/// An `EnrichResponse` written straight into protobuf bytes as events are enriched, without building Swift
/// structs or protobuf-c structs per event: the tape path hands over its buffers (the event, each mapping's
/// output) and they are copied once, into the response. The bytes are exactly what `EnrichResponse` encodes to
/// (the tests decode them with it).
typealias EncodedEnrichResponse = PreEncodedMessage

/// Writes `EnrichResponse.events` one at a time. Fields at their default value are left out, as protobuf does.
struct EnrichResponseWriter {
    private(set) var writer = ProtobufWriter()

    init(reserving capacity: Int) { self.writer.bytes.reserveCapacity(capacity) }

    /// One mapping's outcome, as the encoder sees it: byte fields by pointer, valid while it is written.
    struct Mapping {
        var name: UnsafeRawBufferPointer
        var conditionMatched: Bool
        var outcome: EnrichOutcome
        var entities: [EntityMatch] = []
        var enrichedEvent: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
        var output: UnsafeRawBufferPointer
        var error: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Appends an event whose mappings `mapping(i)` gives, for i in 0..<mappingCount (called twice per
    /// mapping: once to size the messages, once to write them).
    mutating func appendEvent(
        outcome: EnrichOutcome, reason: MissReason, event: UnsafeRawBufferPointer, error: UnsafeRawBufferPointer,
        mappingCount: Int, mapping: (Int) -> Mapping
    ) {
        var size = Self.enumSize(1, outcome.rawValue) + Self.enumSize(2, reason.rawValue)
            + Self.bytesSize(3, event.count) + Self.bytesSize(4, error.count)
        for index in 0..<mappingCount { size += Self.messageSize(Self.mappingSize(mapping(index))) }
        self.writer.tag(field: 1, wireType: 2)
        self.writer.varint(UInt64(size))
        self.writeEnum(1, outcome.rawValue)
        self.writeEnum(2, reason.rawValue)
        self.writeBytes(3, event)
        self.writeBytes(4, error)
        for index in 0..<mappingCount {
            let parts = mapping(index)
            self.writer.tag(field: 5, wireType: 2)
            self.writer.varint(UInt64(Self.mappingSize(parts)))
            self.writeBytes(1, parts.name)
            self.writeEnum(2, parts.conditionMatched ? 1 : 0)
            self.writeEnum(3, parts.outcome.rawValue)
            for entity in parts.entities {
                self.writer.tag(field: 4, wireType: 2)
                self.writer.varint(UInt64(Self.entitySize(entity)))
                self.writeEntity(entity)
            }
            self.writeBytes(5, parts.enrichedEvent)
            self.writeBytes(6, parts.output)
            self.writeBytes(7, parts.error)
        }
    }

    /// Appends an event built as a struct (the tree path, refusals).
    mutating func append(_ event: EnrichedEvent) {
        var error = event.error
        error.withUTF8 { error in
            event.event.withUnsafeBytes { bytes in
                // The mappings' byte fields must stay valid while `appendEvent` reads them: copy the names,
                // outputs and errors into one buffer and point into it.
                var arena: [UInt8] = []
                var spans: [(name: Range<Int>, enriched: Range<Int>, output: Range<Int>, error: Range<Int>)] = []
                for outcome in event.mappings {
                    func add(_ bytes: some Collection<UInt8>) -> Range<Int> {
                        let start = arena.count
                        arena.append(contentsOf: bytes)
                        return start..<arena.count
                    }
                    spans.append((add(outcome.mapping.utf8), add(outcome.enrichedEvent), add(outcome.output), add(outcome.error.utf8)))
                }
                arena.withUnsafeBytes { arena in
                    self.appendEvent(
                        outcome: event.outcome, reason: event.reason, event: bytes, error: UnsafeRawBufferPointer(error),
                        mappingCount: event.mappings.count
                    ) { index in
                        let outcome = event.mappings[index]
                        let span = spans[index]
                        return Mapping(
                            name: UnsafeRawBufferPointer(rebasing: arena[span.name]), conditionMatched: outcome.conditionMatched,
                            outcome: outcome.outcome, entities: outcome.entities,
                            enrichedEvent: UnsafeRawBufferPointer(rebasing: arena[span.enriched]),
                            output: UnsafeRawBufferPointer(rebasing: arena[span.output]),
                            error: UnsafeRawBufferPointer(rebasing: arena[span.error])
                        )
                    }
                }
            }
        }
    }

    func finished() -> EncodedEnrichResponse { EncodedEnrichResponse(bytes: self.writer.bytes) }

    // MARK: - Sizes and fields

    /// A field number below 16 and its wire type take one byte.
    static func enumSize(_ field: Int, _ value: UInt32) -> Int { value == 0 ? 0 : 1 + varintSize(UInt64(value)) }
    static func bytesSize(_ field: Int, _ count: Int) -> Int { count == 0 ? 0 : 1 + varintSize(UInt64(count)) + count }
    static func messageSize(_ size: Int) -> Int { 1 + varintSize(UInt64(size)) + size }

    static func mappingSize(_ parts: Mapping) -> Int {
        Self.bytesSize(1, parts.name.count) + Self.enumSize(2, parts.conditionMatched ? 1 : 0) + Self.enumSize(3, parts.outcome.rawValue)
            + parts.entities.reduce(0) { $0 + Self.messageSize(Self.entitySize($1)) }
            + Self.bytesSize(5, parts.enrichedEvent.count) + Self.bytesSize(6, parts.output.count) + Self.bytesSize(7, parts.error.count)
    }

    static func entitySize(_ entity: EntityMatch) -> Int {
        Self.bytesSize(1, entity.model.utf8.count) + Self.enumSize(2, entity.keyPresent ? 1 : 0) + Self.bytesSize(3, entity.key.utf8.count)
            + Self.enumSize(4, entity.found ? 1 : 0) + Self.bytesSize(5, entity.rowJSON.count)
    }

    private mutating func writeEnum(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        self.writer.tag(field: field, wireType: 0)
        self.writer.varint(UInt64(value))
    }

    private mutating func writeBytes(_ field: Int, _ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        self.writer.tag(field: field, wireType: 2)
        self.writer.varint(UInt64(bytes.count))
        self.writer.bytes.append(contentsOf: bytes)
    }

    private mutating func writeEntity(_ entity: EntityMatch) {
        var model = entity.model, key = entity.key
        model.withUTF8 { self.writeBytes(1, UnsafeRawBufferPointer($0)) }
        self.writeEnum(2, entity.keyPresent ? 1 : 0)
        key.withUTF8 { self.writeBytes(3, UnsafeRawBufferPointer($0)) }
        self.writeEnum(4, entity.found ? 1 : 0)
        entity.rowJSON.withUnsafeBytes { self.writeBytes(5, $0) }
    }
}
