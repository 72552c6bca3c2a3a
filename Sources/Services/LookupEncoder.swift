import ModelCache
import RPCCore
import RPCMessages

/// A `LookupResponse` written straight from the snapshot's column buffers into protobuf bytes, without building
/// Swift strings or protobuf-c structs per key: the hot path's allocations stay constant per column, whatever
/// the batch size. The bytes are exactly what `LookupResponse` encodes to (the tests decode them with it).
struct EncodedLookupResponse: RPCMessage {
    let bytes: [UInt8]

    init(rows: [Int?], columns: [ColumnData]) {
        var writer = ProtobufWriter()
        writer.bytes.reserveCapacity(64 + rows.count * (2 + columns.count * 10))
        // 1: found, packed bools.
        writer.packed(field: 1, count: rows.count) { $0.varint(rows[$1] == nil ? 0 : 1) }
        for column in columns {
            var message = ProtobufWriter()
            message.string(field: 1, column.schema.name)
            message.tag(field: 2, wireType: 0)
            message.varint(UInt64(ColumnType(column.schema.type).rawValue))
            message.packed(field: 3, count: rows.count) { writer, index in
                writer.varint(rows[index].map { column.nulls.isNull($0) ? 1 : 0 } ?? 1)
            }
            switch column.storage {
            case .int64(let values), .timestamp(let values):
                values.withUnsafeBufferPointer { values in
                    message.packed(field: 4, count: rows.count) { writer, index in
                        let value = rows[index].map { values[$0] } ?? 0
                        writer.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))  // sint64: zigzag.
                    }
                }
            case .double(let values):
                message.tag(field: 5, wireType: 2)
                message.varint(UInt64(rows.count * 8))
                for row in rows { message.fixed64((row.map { values[$0] } ?? 0).bitPattern) }
            case .bool(let values):
                message.packed(field: 6, count: rows.count) { writer, index in writer.varint(rows[index].map { values[$0] ? 1 : 0 } ?? 0) }
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

    /// A packed repeated field of `count` varints, written by `element`; omitted when empty, as protobuf does.
    mutating func packed(field: Int, count: Int, _ element: (inout ProtobufWriter, Int) -> Void) {
        guard count > 0 else { return }
        var body = ProtobufWriter()
        body.bytes.reserveCapacity(count * 2)
        for index in 0..<count { element(&body, index) }
        self.tag(field: field, wireType: 2)
        self.varint(UInt64(body.bytes.count))
        self.bytes.append(contentsOf: body.bytes)
    }
}
