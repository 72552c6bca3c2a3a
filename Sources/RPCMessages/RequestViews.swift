public import RPCCore

// Zero-copy decoders for the messages every data-plane call carries: the request header, LookupRequest and
// EnrichRequest. They read protobuf's wire format directly and return byte spans into the payload instead of
// Swift strings and arrays of copies, so a call's decode costs a few branches per field and no allocation per key
// or event. Every other message decodes through protobuf-c (after `WireCheck`); these three are checked against
// protobuf-c's decode of the same bytes by the tests (`RequestViewTests`), on valid and fuzzed input.
//
// The rules are the walk's: a count past its limit is refused at entry N+1 (RESOURCE_EXHAUSTED), a string field
// must be UTF-8 without NUL bytes, unknown fields are skipped (at most `WireLimits.maxUnknownFields`).

/// Where a field's bytes lie in the payload they were decoded from.
public struct ByteSpan: Sendable, Hashable {
    public var start: Int
    public var count: Int

    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }

    public static let empty = ByteSpan(start: 0, count: 0)

    public var isEmpty: Bool { self.count == 0 }

    /// The span's bytes inside `payload`, the buffer the span was decoded from.
    @inline(__always)
    public func bytes(in payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: payload[self.start..<self.start + self.count])
    }

    /// The span as a Swift string (decoded spans are valid UTF-8).
    public func string(in payload: UnsafeRawBufferPointer) -> String {
        String(decoding: self.bytes(in: payload), as: UTF8.self)
    }
}

/// A cursor over protobuf wire bytes.
struct WireReader {
    let bytes: UnsafeRawBufferPointer
    let message: String
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, message: String) {
        self.bytes = bytes
        self.message = message
    }

    var isAtEnd: Bool { self.offset >= self.bytes.count }

    func malformed() -> RPCError {
        RPCError(
            .invalidArgument, "message body is not a valid \(self.message) protobuf encoding (byte \(self.offset))")
    }

    @inline(__always)
    mutating func varint() throws(RPCError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 70 {
            guard self.offset < self.bytes.count else { throw self.malformed() }
            let byte = self.bytes[self.offset]
            self.offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw self.malformed()
    }

    /// The next field's number and wire type.
    @inline(__always)
    mutating func tag() throws(RPCError) -> (field: UInt64, wire: UInt64) {
        let tag = try self.varint()
        guard tag >> 3 != 0 else { throw self.malformed() }
        return (tag >> 3, tag & 7)
    }

    @inline(__always)
    mutating func lengthDelimited() throws(RPCError) -> ByteSpan {
        let length = try self.varint()
        guard length <= UInt64(self.bytes.count - self.offset) else { throw self.malformed() }
        let span = ByteSpan(start: self.offset, count: Int(length))
        self.offset += Int(length)
        return span
    }

    /// Steps over a field of a number the decoder does not read.
    mutating func skip(wire: UInt64, unknown: inout Int, limits: WireLimits) throws(RPCError) {
        unknown += 1
        guard unknown <= limits.maxUnknownFields else {
            throw RPCError(
                .invalidArgument, "\(self.message) carries more than \(limits.maxUnknownFields) unknown fields")
        }
        switch wire {
        case 0: _ = try self.varint()
        case 1:
            guard self.bytes.count - self.offset >= 8 else { throw self.malformed() }
            self.offset += 8
        case 2: _ = try self.lengthDelimited()
        case 5:
            guard self.bytes.count - self.offset >= 4 else { throw self.malformed() }
            self.offset += 4
        default: throw self.malformed()
        }
    }

    /// A string field: UTF-8 with no NUL byte, at most `limits.maxStringBytes`.
    /// `field` is a static name: the error text is built only when there is an error.
    @inline(__always)
    mutating func string(_ field: StaticString, limits: WireLimits) throws(RPCError) -> ByteSpan {
        let span = try self.lengthDelimited()
        let bytes = span.bytes(in: self.bytes)
        guard bytes.count <= limits.maxStringBytes, bytes.firstIndex(of: 0) == nil, WireCheck.isValidUTF8(bytes) else {
            throw Self.stringError(bytes, field: "\(self.message).\(field)", limits: limits)
        }
        return span
    }

    static func stringError(_ bytes: UnsafeRawBufferPointer, field: String, limits: WireLimits) -> RPCError {
        if bytes.count > limits.maxStringBytes {
            return RPCError(.invalidArgument, "\(field) is longer than \(limits.maxStringBytes) bytes")
        }
        if bytes.firstIndex(of: 0) != nil { return RPCError(.invalidArgument, "\(field) contains a NUL byte") }
        return RPCError(.invalidArgument, "\(field) is not valid UTF-8")
    }

    /// Requires a length-delimited field.
    @inline(__always)
    func expect(_ wire: UInt64, _ expected: UInt64) throws(RPCError) {
        guard wire == expected else { throw self.malformed() }
    }
}

// MARK: - RequestHeader

/// The request header, read in place (enrich.v1.RequestHeader).
public struct RequestHeaderView: Sendable {
    public var method = ByteSpan.empty
    public var authorization = ByteSpan.empty
    public var timeoutMilliseconds: UInt64 = 0
    /// Key and value spans; empty (and unallocated) when the header carries none.
    public var metadata: [(key: ByteSpan, value: ByteSpan)] = []

    /// Decodes a header of at most `maxMetadataEntries` metadata pairs.
    /// - Throws: `RPCError(.unauthenticated)` when the authorization field holds a NUL byte or invalid UTF-8,
    ///   `.resourceExhausted` past `maxMetadataEntries`, `.invalidArgument` for anything else malformed.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, maxMetadataEntries: Int, limits: WireLimits = WireLimits()
    ) throws(RPCError) -> RequestHeaderView {
        var reader = WireReader(bytes, message: "enrich.v1.RequestHeader")
        var header = RequestHeaderView()
        var unknown = 0
        while !reader.isAtEnd {
            let (field, wire) = try reader.tag()
            switch field {
            case 1:
                try reader.expect(wire, 2)
                header.method = try reader.string("method", limits: limits)
            case 2:
                try reader.expect(wire, 2)
                do { header.authorization = try reader.string("authorization", limits: limits) } catch {
                    throw RPCError(.unauthenticated, "the token contains a NUL byte or invalid UTF-8")
                }
            case 3:
                try reader.expect(wire, 0)
                header.timeoutMilliseconds = try reader.varint()
            case 4:
                try reader.expect(wire, 2)
                guard header.metadata.count < maxMetadataEntries else {
                    throw RPCError(
                        .resourceExhausted,
                        "the request header carries more than \(maxMetadataEntries) metadata entries (the limit)"
                    )
                }
                let entry = try reader.lengthDelimited()
                header.metadata.append(try Self.metadataEntry(entry, in: bytes, limits: limits))
            default:
                try reader.skip(wire: wire, unknown: &unknown, limits: limits)
            }
        }
        return header
    }

    private static func metadataEntry(
        _ span: ByteSpan, in payload: UnsafeRawBufferPointer, limits: WireLimits
    ) throws(RPCError) -> (key: ByteSpan, value: ByteSpan) {
        var reader = WireReader(span.bytes(in: payload), message: "enrich.v1.MetadataEntry")
        var key = ByteSpan.empty
        var value = ByteSpan.empty
        var unknown = 0
        while !reader.isAtEnd {
            let (field, wire) = try reader.tag()
            switch field {
            case 1:
                try reader.expect(wire, 2)
                key = try reader.string("key", limits: limits)
            case 2:
                try reader.expect(wire, 2)
                value = try reader.string("value", limits: limits)
            default:
                try reader.skip(wire: wire, unknown: &unknown, limits: limits)
            }
        }
        // Spans inside the entry, moved to be relative to the whole payload.
        return (
            ByteSpan(start: span.start + key.start, count: key.count),
            ByteSpan(start: span.start + value.start, count: value.count)
        )
    }

    /// The metadata as Swift values.
    public func metadata(in payload: UnsafeRawBufferPointer) -> Metadata {
        guard !self.metadata.isEmpty else { return Metadata() }
        return Metadata(self.metadata.map { ($0.key.string(in: payload), $0.value.string(in: payload)) })
    }
}

// MARK: - LookupRequest

/// A LookupRequest, read in place.
public struct LookupRequestView: Sendable {
    public var model = ByteSpan.empty
    public var columns: [ByteSpan] = []
    public var stringKeys: [ByteSpan] = []
    public var intKeys: [Int64] = []

    public init() {}

    public var keyCount: Int { self.stringKeys.count + self.intKeys.count }

    /// Decodes a request of at most `maxKeys` keys (string and integer together) and `maxColumns` columns.
    /// - Throws: `RPCError(.resourceExhausted)` at the first key or column past its limit; `.invalidArgument` for a
    ///   malformed encoding, and for a string key holding a NUL or other control byte (0x00-0x1F, 0x7F), which no
    ///   stored key can match.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, maxKeys: Int, maxColumns: Int, limits: WireLimits = WireLimits()
    ) throws(RPCError) -> LookupRequestView {
        var reader = WireReader(bytes, message: "enrich.v1.LookupRequest")
        var request = LookupRequestView()
        var unknown = 0
        while !reader.isAtEnd {
            let (field, wire) = try reader.tag()
            switch field {
            case 1:
                try reader.expect(wire, 2)
                request.model = try reader.string("model", limits: limits)
            case 2:
                try reader.expect(wire, 2)
                guard request.columns.count < maxColumns else {
                    throw RPCError(.resourceExhausted, "more than \(maxColumns) columns (the limit per request)")
                }
                request.columns.append(try reader.string("columns", limits: limits))
            case 3:
                try reader.expect(wire, 2)
                guard request.keyCount < maxKeys else { throw Self.tooManyKeys(maxKeys) }
                let key = try reader.string("string_keys", limits: limits)
                try Self.checkKey(key.bytes(in: bytes), position: request.stringKeys.count)
                request.stringKeys.append(key)
            case 4:
                if wire == 2 {  // packed, as proto3 writes it
                    let run = try reader.lengthDelimited()
                    var inner = WireReader(run.bytes(in: bytes), message: "enrich.v1.LookupRequest.int_keys")
                    while !inner.isAtEnd {
                        guard request.keyCount < maxKeys else { throw Self.tooManyKeys(maxKeys) }
                        request.intKeys.append(Self.unzigzag(try inner.varint()))
                    }
                } else {
                    try reader.expect(wire, 0)
                    guard request.keyCount < maxKeys else { throw Self.tooManyKeys(maxKeys) }
                    request.intKeys.append(Self.unzigzag(try reader.varint()))
                }
            default:
                try reader.skip(wire: wire, unknown: &unknown, limits: limits)
            }
        }
        return request
    }

    static func tooManyKeys(_ limit: Int) -> RPCError {
        RPCError(.resourceExhausted, "more than \(limit) keys (the limit per Lookup)")
    }

    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1))) }

    /// Refuses a key with a control byte: no stored key holds one, and a NUL once let a truncated key match.
    static func checkKey(_ key: UnsafeRawBufferPointer, position: Int) throws(RPCError) {
        for byte in key where byte < 0x20 || byte == 0x7F {
            throw RPCError(
                .invalidArgument,
                "string key \(position) contains a control byte (0x\(String(byte, radix: 16, uppercase: true)))"
            )
        }
    }
}

// MARK: - EnrichRequest

/// An EnrichRequest, read in place: events stay in the payload as spans.
public struct EnrichRequestView: Sendable {
    public var model = ByteSpan.empty
    public var keyPath = ByteSpan.empty
    public var enrichments: [(column: ByteSpan, key: ByteSpan)] = []
    public var events: [ByteSpan] = []
    public var destination = ByteSpan.empty

    public init() {}

    /// Decodes a request of at most `maxEvents` events and `maxEnrichments` enrichments.
    /// - Throws: `RPCError(.resourceExhausted)` at the first event or enrichment past its limit, `.invalidArgument`
    ///   for a malformed encoding.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, maxEvents: Int, maxEnrichments: Int, limits: WireLimits = WireLimits()
    ) throws(RPCError) -> EnrichRequestView {
        var reader = WireReader(bytes, message: "enrich.v1.EnrichRequest")
        var request = EnrichRequestView()
        var unknown = 0
        while !reader.isAtEnd {
            let (field, wire) = try reader.tag()
            switch field {
            case 1:
                try reader.expect(wire, 2)
                request.model = try reader.string("model", limits: limits)
            case 2:
                try reader.expect(wire, 2)
                request.keyPath = try reader.string("key_path", limits: limits)
            case 3:
                try reader.expect(wire, 2)
                guard request.enrichments.count < maxEnrichments else {
                    throw RPCError(
                        .resourceExhausted, "more than \(maxEnrichments) enrichments (the limit per request)")
                }
                request.enrichments.append(try Self.enrichment(try reader.lengthDelimited(), in: bytes, limits: limits))
            case 4:
                try reader.expect(wire, 2)
                guard request.events.count < maxEvents else {
                    throw RPCError(.resourceExhausted, "more than \(maxEvents) events (the limit per Enrich)")
                }
                request.events.append(try reader.lengthDelimited())
            case 5:
                try reader.expect(wire, 2)
                request.destination = try reader.string("destination", limits: limits)
            default:
                try reader.skip(wire: wire, unknown: &unknown, limits: limits)
            }
        }
        return request
    }

    private static func enrichment(
        _ span: ByteSpan, in payload: UnsafeRawBufferPointer, limits: WireLimits
    ) throws(RPCError) -> (column: ByteSpan, key: ByteSpan) {
        var reader = WireReader(span.bytes(in: payload), message: "enrich.v1.Enrichment")
        var column = ByteSpan.empty
        var key = ByteSpan.empty
        var unknown = 0
        while !reader.isAtEnd {
            let (field, wire) = try reader.tag()
            switch field {
            case 1:
                try reader.expect(wire, 2)
                column = try reader.string("column", limits: limits)
            case 2:
                try reader.expect(wire, 2)
                key = try reader.string("key", limits: limits)
            default:
                try reader.skip(wire: wire, unknown: &unknown, limits: limits)
            }
        }
        return (
            ByteSpan(start: span.start + column.start, count: column.count),
            ByteSpan(start: span.start + key.start, count: key.count)
        )
    }
}
