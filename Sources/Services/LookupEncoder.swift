import ModelCache
import RPCCore
import RPCMessages

/// A `LookupResponse` written straight from the snapshot's column buffers into protobuf bytes, without building
/// Swift strings or protobuf-c structs per key: the hot path's allocations stay constant per column, whatever
/// the batch size. The bytes are exactly what `LookupResponse` encodes to (the tests decode them with it).
struct EncodedLookupResponse: RPCMessage {
    let bytes: [UInt8]

    init(rows: [Int?], columns: [ColumnData]) {
        // Buffers are sized up front (strings from their arena offsets), so the encode allocates a fixed number
        // of times per column whatever the batch: no doubling as the bytes grow.
        let estimates = columns.map { Self.estimatedBytes(of: $0, rows: rows) }
        var writer = ProtobufWriter()
        writer.bytes.reserveCapacity(64 + rows.count * 2 + estimates.reduce(0, +))
        // 1: found, packed bools.
        writer.packed(field: 1, count: rows.count, elementBytes: 1) { $0.varint(rows[$1] == nil ? 0 : 1) }
        for (column, estimate) in zip(columns, estimates) {
            var message = ProtobufWriter()
            message.bytes.reserveCapacity(estimate)
            message.string(field: 1, column.schema.name)
            message.tag(field: 2, wireType: 0)
            message.varint(UInt64(ColumnType(column.schema.type).rawValue))
            message.packed(field: 3, count: rows.count, elementBytes: 1) { writer, index in
                writer.varint(rows[index].map { column.nulls.isNull($0) ? 1 : 0 } ?? 1)
            }
            switch column.storage {
            case .int64(let values), .timestamp(let values):
                values.withUnsafeBufferPointer { values in
                    message.packed(field: 4, count: rows.count, elementBytes: 10) { writer, index in
                        let value = rows[index].map { values[$0] } ?? 0
                        writer.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))  // sint64: zigzag.
                    }
                }
            case .double(let values):
                message.tag(field: 5, wireType: 2)
                message.varint(UInt64(rows.count * 8))
                for row in rows { message.fixed64((row.map { values[$0] } ?? 0).bitPattern) }
            case .bool(let values):
                message.packed(field: 6, count: rows.count, elementBytes: 1) { writer, index in writer.varint(rows[index].map { values[$0] ? 1 : 0 } ?? 0) }
            case .string(let arena):
                for row in rows {
                    message.tag(field: 7, wireType: 2)
                    if let row {
                        arena.withBytes(at: row) { text in
                            message.varint(UInt64(text.count))
                            message.bytes.append(contentsOf: text)
                        }
                    } else {
                        message.varint(0)
                    }
                }
            }
            writer.tag(field: 2, wireType: 2)
            writer.varint(UInt64(message.bytes.count))
            writer.bytes.append(contentsOf: message.bytes)
        }
        self.bytes = writer.bytes
    }

    /// An upper bound of a column message's encoded size: name and type, the null flags, and the values (at
    /// most 10 bytes per varint, 8 per double, the string bytes plus a tag and a length each).
    static func estimatedBytes(of column: ColumnData, rows: [Int?]) -> Int {
        let fixed = 32 + column.schema.name.utf8.count + rows.count * 2
        switch column.storage {
        case .int64, .timestamp: return fixed + 16 + rows.count * 10
        case .double: return fixed + 16 + rows.count * 8
        case .bool: return fixed + 16 + rows.count
        case .string(let arena):
            var bytes = 0
            for row in rows { if let row { bytes += arena.length(at: row) } }
            return fixed + bytes + rows.count * 6
        }
    }

    init(serializedBytes bytes: UnsafeRawBufferPointer) throws(RPCError) { self.bytes = Array(bytes) }

    func withSerializedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.bytes.withUnsafeBytes(body)
    }
}

/// The few protobuf encodings the lookup path writes by hand.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.bytes.append(UInt8(value))
    }

    mutating func tag(field: Int, wireType: Int) { self.varint(UInt64(field << 3 | wireType)) }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { self.bytes.append(contentsOf: $0) }
    }

    mutating func string(field: Int, _ text: String) {
        self.tag(field: field, wireType: 2)
        self.varint(UInt64(text.utf8.count))
        self.bytes.append(contentsOf: text.utf8)
    }

    /// A packed repeated field of `count` varints (each at most `elementBytes`), written by `element`; omitted
    /// when empty, as protobuf does.
    mutating func packed(field: Int, count: Int, elementBytes: Int, _ element: (inout ProtobufWriter, Int) -> Void) {
        guard count > 0 else { return }
        var body = ProtobufWriter()
        body.bytes.reserveCapacity(count * elementBytes)
        for index in 0..<count { element(&body, index) }
        self.tag(field: field, wireType: 2)
        self.varint(UInt64(body.bytes.count))
        self.bytes.append(contentsOf: body.bytes)
    }
}
