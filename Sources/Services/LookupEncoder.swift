import ModelCache
import RPCCore
import RPCMessages

/// A `LookupResponse` written straight from the snapshot's column buffers into protobuf bytes, without building
/// Swift strings or protobuf-c structs per key: the hot path's allocations stay constant per column, whatever
/// the batch size. The bytes are exactly what `LookupResponse` encodes to (the tests decode them with it).
struct EncodedLookupResponse: RPCMessage {
    let bytes: [UInt8]

    init(rows: [Int?], columns: [ColumnData]) {
        // Every message's size is worked out first, so the answer is written in one pass into one buffer of
        // exactly its size: one allocation per call whatever the batch or the number of columns.
        let count = rows.count
        let sizes = columns.map { Self.size(of: $0, rows: rows) }
        let found = count == 0 ? 0 : 1 + varintSize(UInt64(count)) + count
        let total = found + sizes.reduce(0) { $0 + 1 + varintSize(UInt64($1)) + $1 }
        var writer = ProtobufWriter()
        writer.bytes.reserveCapacity(total)
        // 1: found, packed bools.
        if count > 0 {
            writer.tag(field: 1, wireType: 2)
            writer.varint(UInt64(count))
            for row in rows { writer.bytes.append(row == nil ? 0 : 1) }
        }
        for (column, size) in zip(columns, sizes) {
            writer.tag(field: 2, wireType: 2)
            writer.varint(UInt64(size))
            writer.string(field: 1, column.schema.name)
            writer.tag(field: 2, wireType: 0)
            writer.varint(UInt64(ColumnType(column.schema.type).rawValue))
            if count > 0 {  // 3: nulls, packed bools (a missing row counts as null).
                writer.tag(field: 3, wireType: 2)
                writer.varint(UInt64(count))
                for row in rows { writer.bytes.append(row.map { column.nulls.isNull($0) ? 1 : 0 } ?? 1) }
            }
            switch column.storage {
            case .int64(let values), .timestamp(let values):
                guard count > 0 else { break }
                values.withUnsafeBufferPointer { values in
                    writer.tag(field: 4, wireType: 2)
                    writer.varint(UInt64(rows.reduce(0) { $0 + varintSize(Self.zigzag(values, $1)) }))
                    for row in rows { writer.varint(Self.zigzag(values, row)) }
                }
            case .double(let values):
                writer.tag(field: 5, wireType: 2)
                writer.varint(UInt64(count * 8))
                for row in rows { writer.fixed64((row.map { values[$0] } ?? 0).bitPattern) }
            case .bool(let values):
                guard count > 0 else { break }
                writer.tag(field: 6, wireType: 2)
                writer.varint(UInt64(count))
                for row in rows { writer.bytes.append(row.map { values[$0] ? 1 : 0 } ?? 0) }
            case .string(let arena):
                for row in rows {
                    writer.tag(field: 7, wireType: 2)
                    if let row {
                        arena.withBytes(at: row) { text in
                            writer.varint(UInt64(text.count))
                            writer.bytes.append(contentsOf: text)
                        }
                    } else {
                        writer.varint(0)
                    }
                }
            }
        }
        assert(writer.bytes.count == total, "LookupResponse size worked out as \(total), written \(writer.bytes.count)")
        self.bytes = writer.bytes
    }

    /// A row's int64 or timestamp as a sint64 (zigzag) varint; a missing row is 0.
    @inline(__always)
    static func zigzag(_ values: UnsafeBufferPointer<Int64>, _ row: Int?) -> UInt64 {
        let value = row.map { values[$0] } ?? 0
        return UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// The encoded size of one column's `ColumnValues` message for these rows.
    static func size(of column: ColumnData, rows: [Int?]) -> Int {
        let count = rows.count
        let name = column.schema.name.utf8.count
        var size = 1 + varintSize(UInt64(name)) + name + 1 + varintSize(UInt64(ColumnType(column.schema.type).rawValue))
        if count > 0 { size += 1 + varintSize(UInt64(count)) + count }  // nulls
        switch column.storage {
        case .int64(let values), .timestamp(let values):
            guard count > 0 else { break }
            let body = values.withUnsafeBufferPointer { values in rows.reduce(0) { $0 + varintSize(Self.zigzag(values, $1)) } }
            size += 1 + varintSize(UInt64(body)) + body
        case .double:
            size += 1 + varintSize(UInt64(count * 8)) + count * 8
        case .bool:
            if count > 0 { size += 1 + varintSize(UInt64(count)) + count }
        case .string(let arena):
            for row in rows {
                let length = row.map { arena.length(at: $0) } ?? 0
                size += 1 + varintSize(UInt64(length)) + length
            }
        }
        return size
    }

    init(serializedBytes bytes: UnsafeRawBufferPointer) throws(RPCError) { self.bytes = Array(bytes) }

    func withSerializedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.bytes.withUnsafeBytes(body)
    }
}

/// How many bytes `value` takes as a protobuf varint.
@inline(__always)
func varintSize(_ value: UInt64) -> Int {
    value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
}

/// The few protobuf encodings the lookup and enrich paths write by hand.
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
}
