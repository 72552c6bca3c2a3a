import EnrichClient

/// An `EnrichResponse` read the way a lean consumer reads it: a streaming pass over the protobuf that checks
/// the framing of every field and counts each event's outcome, without building a struct, an array or a string
/// per event (the SDK's `EnrichResponse` decode does all three). The load generator shares the machine's cores
/// with the server, so what it spends per event is taken from the server being measured.
struct OutcomeCounts: MessageDeserializer {
    private(set) var events = 0
    private(set) var enriched = 0

    init(serializedBytes bytes: UnsafeRawBufferPointer, limits: WireLimits) throws(RPCError) {
        var reader = Reader(bytes: bytes)
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            guard field == UInt64(EnrichResponse.Field.events), wireType == 2 else {
                try reader.skip(wireType)
                continue
            }
            var event = Reader(bytes: try reader.lengthDelimited())
            self.events += 1
            while !event.isAtEnd {
                let (field, wireType) = try event.tag()
                if field == UInt64(EnrichedEvent.Field.outcome), wireType == 0 {
                    if try event.varint() == UInt64(EnrichOutcome.enriched.rawValue) { self.enriched += 1 }
                } else {
                    try event.skip(wireType)
                }
            }
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        var isAtEnd: Bool { self.position >= self.bytes.count }

        static func malformed(_ what: String) -> RPCError { RPCError(.dataLoss, "malformed EnrichResponse: \(what)") }

        mutating func varint() throws(RPCError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard self.position < self.bytes.count, shift < 64 else { throw Self.malformed("truncated varint") }
                let byte = self.bytes[self.position]
                self.position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }

        mutating func tag() throws(RPCError) -> (field: UInt64, wireType: UInt64) {
            let tag = try self.varint()
            return (tag >> 3, tag & 7)
        }

        mutating func lengthDelimited() throws(RPCError) -> UnsafeRawBufferPointer {
            let length = try self.varint()
            guard length <= UInt64(self.bytes.count - self.position) else {
                throw Self.malformed("length past the end")
            }
            defer { self.position += Int(length) }
            return UnsafeRawBufferPointer(rebasing: self.bytes[self.position..<(self.position + Int(length))])
        }

        mutating func skip(_ wireType: UInt64) throws(RPCError) {
            switch wireType {
            case 0: _ = try self.varint()
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard self.position + size <= self.bytes.count else { throw Self.malformed("truncated fixed field") }
                self.position += size
            case 2: _ = try self.lengthDelimited()
            default: throw Self.malformed("wire type \(wireType)")
            }
        }
    }
}
