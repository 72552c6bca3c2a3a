// Hand-tuned protobuf writers for the answers written straight from the cache and the enrich engine (Lookup,
// Enrich): no Swift message structs and no protobuf-c structs per key or event. Inlinable: they run per cell.

public import RPCCore

/// A message already encoded into an array (a large answer written in slices); serializing it is one copy.
public struct PreEncodedMessage: MessageSerializer {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public func serialize(into writer: inout some SerializedMessageWriter) {
        writer.appendSerialized(count: self.bytes.count) { output in
            self.bytes.withUnsafeBytes { output.copyMemory(from: $0) }
        }
    }
}

/// How many bytes `value` takes as a protobuf varint.
@inlinable @inline(__always)
public func varintSize(_ value: UInt64) -> Int {
    value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
}

/// Writes protobuf fields into memory sized for them in advance (sizes are worked out first), with no bounds
/// growth: writing past the end is a programming error, caught by the buffer's bounds check in debug builds and
/// by the size check after each answer.
public struct RawProtobufWriter {
    public let output: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    public var offset = 0

    @inlinable
    public init(_ output: UnsafeMutableRawBufferPointer) { self.output = output }

    @inlinable @inline(__always)
    public mutating func byte(_ value: UInt8) {
        self.output[self.offset] = value
        self.offset += 1
    }

    @inlinable @inline(__always)
    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.byte(UInt8(value))
    }

    @inlinable @inline(__always)
    public mutating func tag(field: Int, wireType: Int) { self.varint(UInt64(field << 3 | wireType)) }

    @inlinable @inline(__always)
    public mutating func fixed64(_ value: UInt64) {
        precondition(self.offset + 8 <= self.output.count, "write past the sized answer")
        self.output.storeBytes(of: value.littleEndian, toByteOffset: self.offset, as: UInt64.self)
        self.offset += 8
    }

    @inlinable @inline(__always)
    public mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        precondition(self.offset + bytes.count <= self.output.count, "write past the sized answer")
        (self.output.baseAddress! + self.offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        self.offset += bytes.count
    }

    @inlinable
    public mutating func string(field: Int, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            self.tag(field: field, wireType: 2)
            self.varint(UInt64(utf8.count))
            self.bytes(UnsafeRawBufferPointer(utf8))
        }
    }
}

/// The few protobuf encodings the enrich path writes by hand into a growing array.
public struct ProtobufWriter {
    public var bytes: [UInt8] = []

    @inlinable
    public init() {}

    @inlinable @inline(__always)
    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.bytes.append(UInt8(value))
    }

    @inlinable
    public mutating func tag(field: Int, wireType: Int) { self.varint(UInt64(field << 3 | wireType)) }

    @inlinable
    public mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { self.bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func string(field: Int, _ text: String) {
        self.tag(field: field, wireType: 2)
        self.varint(UInt64(text.utf8.count))
        self.bytes.append(contentsOf: text.utf8)
    }
}

/// Writes `EnrichResponse.events` one at a time into protobuf bytes, from pointers to the engine's buffers: each
/// event's bytes and each mapping's output are copied once, into the response. The bytes are exactly what
/// `EnrichResponse` encodes to (tests decode them with protobuf-c). Fields at their default value are left
/// out, as protobuf does; field numbers come from `EnrichedEvent.Field` and `MappingOutcome.Field`.
public struct EnrichResponseWriter {
    public private(set) var writer = ProtobufWriter()

    public init(reserving capacity: Int) { self.writer.bytes.reserveCapacity(capacity) }

    /// One mapping's result, byte fields by pointer, valid while it is written.
    public struct MappingFields {
        public var name: UnsafeRawBufferPointer
        public var conditionMatched: Bool
        public var outcome: EnrichOutcome
        public var output: UnsafeRawBufferPointer
        public var error: UnsafeRawBufferPointer

        public init(
            name: UnsafeRawBufferPointer, conditionMatched: Bool, outcome: EnrichOutcome,
            output: UnsafeRawBufferPointer,
            error: UnsafeRawBufferPointer
        ) {
            self.name = name
            self.conditionMatched = conditionMatched
            self.outcome = outcome
            self.output = output
            self.error = error
        }
    }

    /// Appends an event whose mappings `mapping(i)` gives, for i in 0..<mappingCount (called twice per
    /// mapping: once to size the messages, once to write them). Entities and the enriched event, TestMapping's
    /// only, are never written here.
    public mutating func appendEvent(
        outcome: EnrichOutcome, reason: MissReason, event: UnsafeRawBufferPointer, error: UnsafeRawBufferPointer,
        mappingCount: Int, mapping: (Int) -> MappingFields
    ) {
        typealias Event = EnrichedEvent.Field
        typealias Outcome = MappingOutcome.Field
        var size =
            Self.enumSize(Event.outcome, outcome.rawValue) + Self.enumSize(Event.reason, reason.rawValue)
            + Self.bytesSize(Event.event, event.count) + Self.bytesSize(Event.error, error.count)
        for index in 0..<mappingCount { size += Self.messageSize(Event.mappings, Self.mappingSize(mapping(index))) }
        self.writer.tag(field: EnrichResponse.Field.events, wireType: 2)
        self.writer.varint(UInt64(size))
        self.writeEnum(Event.outcome, outcome.rawValue)
        self.writeEnum(Event.reason, reason.rawValue)
        self.writeBytes(Event.event, event)
        self.writeBytes(Event.error, error)
        for index in 0..<mappingCount {
            let parts = mapping(index)
            self.writer.tag(field: Event.mappings, wireType: 2)
            self.writer.varint(UInt64(Self.mappingSize(parts)))
            self.writeBytes(Outcome.mapping, parts.name)
            self.writeEnum(Outcome.conditionMatched, parts.conditionMatched ? 1 : 0)
            self.writeEnum(Outcome.outcome, parts.outcome.rawValue)
            self.writeBytes(Outcome.output, parts.output)
            self.writeBytes(Outcome.error, parts.error)
        }
    }

    public func finished() -> PreEncodedMessage { PreEncodedMessage(bytes: self.writer.bytes) }

    static func tagSize(_ field: Int) -> Int { varintSize(UInt64(field << 3)) }
    static func enumSize(_ field: Int, _ value: UInt32) -> Int {
        value == 0 ? 0 : Self.tagSize(field) + varintSize(UInt64(value))
    }
    static func bytesSize(_ field: Int, _ count: Int) -> Int {
        count == 0 ? 0 : Self.tagSize(field) + varintSize(UInt64(count)) + count
    }
    static func messageSize(_ field: Int, _ size: Int) -> Int { Self.tagSize(field) + varintSize(UInt64(size)) + size }

    static func mappingSize(_ parts: MappingFields) -> Int {
        typealias Outcome = MappingOutcome.Field
        return Self.bytesSize(Outcome.mapping, parts.name.count)
            + Self.enumSize(Outcome.conditionMatched, parts.conditionMatched ? 1 : 0)
            + Self.enumSize(Outcome.outcome, parts.outcome.rawValue)
            + Self.bytesSize(Outcome.output, parts.output.count)
            + Self.bytesSize(Outcome.error, parts.error.count)
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
}
