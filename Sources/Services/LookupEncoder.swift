import CPrefetch
import ModelCache
import RPCCore
import RPCMessages

/// A `LookupResponse` written straight from the snapshot's column buffers into protobuf bytes, without Swift
/// strings or protobuf-c structs per key. Every message's size is worked out first (`init`), so the answer is
/// written in one pass into exactly its bytes: into the connection's outbound buffer when it is small
/// (`serialize(into:)`), or in slices into a buffer of its own when it is large (`LookupJob`). The bytes are
/// exactly what `LookupResponse` encodes to (the tests decode them with it). Field numbers come from the generated
/// `LookupResponse.Field` and `ColumnValues.Field`; the sizes assume each is below 16 (a one-byte tag), which
/// RPCMessagesTests checks against protobuf-c's descriptors.
struct EncodedLookupResponse: MessageSerializer {
    /// Each key's row, or -1 when the key was not found.
    let rows: [Int]
    let columns: [ColumnData]
    /// Bytes of each column's `ColumnValues` message.
    let sizes: [Int]
    /// Bytes of the whole answer.
    let total: Int

    init(rows: [Int], columns: [ColumnData]) {
        self.rows = rows
        self.columns = columns
        self.sizes = columns.map { Self.size(of: $0, rows: rows) }
        let count = rows.count
        let found = count == 0 ? 0 : 1 + varintSize(UInt64(count)) + count
        self.total = found + self.sizes.reduce(0) { $0 + 1 + varintSize(UInt64($1)) + $1 }
    }

    func serialize(into writer: inout some SerializedMessageWriter) {
        writer.appendSerialized(count: self.total) { output in
            var raw = RawProtobufWriter(output)
            self.writeFound(&raw)
            for column in self.columns.indices {
                self.writeColumnStart(column, &raw)
                self.writeValues(column, rows: 0..<self.rows.count, &raw)
            }
            precondition(raw.offset == self.total, "LookupResponse sized \(self.total), written \(raw.offset)")
        }
    }

    /// 1: found, packed bools.
    func writeFound(_ writer: inout RawProtobufWriter) {
        guard !self.rows.isEmpty else { return }
        writer.tag(field: LookupResponse.Field.found, wireType: 2)
        writer.varint(UInt64(self.rows.count))
        for row in self.rows { writer.byte(row < 0 ? 0 : 1) }
    }

    /// A column's message up to its values: name, type, nulls, and the packed field's header.
    func writeColumnStart(_ index: Int, _ writer: inout RawProtobufWriter) {
        let column = self.columns[index]
        let count = self.rows.count
        writer.tag(field: LookupResponse.Field.columns, wireType: 2)
        writer.varint(UInt64(self.sizes[index]))
        writer.string(field: ColumnValues.Field.name, column.schema.name)
        writer.tag(field: ColumnValues.Field.type, wireType: 0)
        writer.varint(UInt64(ColumnType(column.schema.type).rawValue))
        guard count > 0 else { return }
        // 3: nulls, packed bools (a missing row counts as null).
        writer.tag(field: ColumnValues.Field.nulls, wireType: 2)
        writer.varint(UInt64(count))
        for row in self.rows { writer.byte(row < 0 || column.nulls.isNull(row) ? 1 : 0) }
        switch column.storage {
        case .int64(let values), .timestamp(let values):
            writer.tag(field: ColumnValues.Field.int64Values, wireType: 2)
            writer.varint(
                UInt64(
                    values.withUnsafeBufferPointer { v in self.rows.reduce(0) { $0 + varintSize(Self.zigzag(v, $1)) } })
            )
        case .double:
            writer.tag(field: ColumnValues.Field.doubleValues, wireType: 2)
            writer.varint(UInt64(count * 8))
        case .bool:
            writer.tag(field: ColumnValues.Field.boolValues, wireType: 2)
            writer.varint(UInt64(count))
        case .string:
            break  // 7: one field per value, written with the values
        }
    }

    /// The values of `rows` (positions among the keys) of column `index`.
    /// Rows ahead of the one being read whose cells are prefetched: each column's rows are random, so a cell is
    /// a cache miss; asking for the cells a few rows ahead keeps several misses in flight (issue 15).
    static let prefetchDistance = 16

    func writeValues(_ index: Int, rows range: Range<Int>, _ writer: inout RawProtobufWriter) {
        let distance = Self.prefetchDistance
        self.rows.withUnsafeBufferPointer { rows in
            let end = range.upperBound
            switch self.columns[index].storage {
            case .int64(let values), .timestamp(let values):
                values.withUnsafeBufferPointer { values in
                    for position in range {
                        if position + distance < end, rows[position + distance] >= 0 {
                            enrich_prefetch(values.baseAddress! + rows[position + distance])
                        }
                        writer.varint(Self.zigzag(values, rows[position]))
                    }
                }
            case .double(let values):
                values.withUnsafeBufferPointer { values in
                    for position in range {
                        if position + distance < end, rows[position + distance] >= 0 {
                            enrich_prefetch(values.baseAddress! + rows[position + distance])
                        }
                        let row = rows[position]
                        writer.fixed64((row < 0 ? 0 : values[row]).bitPattern)
                    }
                }
            case .bool(let values):
                values.withUnsafeBufferPointer { values in
                    for position in range {
                        if position + distance < end, rows[position + distance] >= 0 {
                            enrich_prefetch(values.baseAddress! + rows[position + distance])
                        }
                        let row = rows[position]
                        writer.byte(row >= 0 && values[row] ? 1 : 0)
                    }
                }
            case .string(let arena):
                arena.withStorage { text, lengths in
                    // Two stages ahead: the index line that locates a row, then (once it is in) the row's text.
                    for position in range {
                        if position + distance < end, rows[position + distance] >= 0 {
                            arena.prefetchSpan(of: rows[position + distance], lengths: lengths)
                        }
                        if position + distance / 2 < end, rows[position + distance / 2] >= 0 {
                            let span = arena.span(of: rows[position + distance / 2], lengths: lengths)
                            enrich_prefetch(text.baseAddress! + span.lowerBound)
                        }
                        let row = rows[position]
                        writer.tag(field: ColumnValues.Field.stringValues, wireType: 2)
                        if row >= 0 {
                            let span = arena.span(of: row, lengths: lengths)
                            writer.varint(UInt64(span.count))
                            writer.bytes(UnsafeRawBufferPointer(rebasing: text[span]))
                        } else {
                            writer.varint(0)
                        }
                    }
                }
            }
        }
    }

    /// A row's int64 or timestamp as a sint64 (zigzag) varint; a missing row is 0.
    @inline(__always)
    static func zigzag(_ values: UnsafeBufferPointer<Int64>, _ row: Int) -> UInt64 {
        let value = row < 0 ? 0 : values[row]
        return UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// The encoded size of one column's `ColumnValues` message for these rows.
    static func size(of column: ColumnData, rows: [Int]) -> Int {
        let count = rows.count
        let name = column.schema.name.utf8.count
        var size = 1 + varintSize(UInt64(name)) + name + 1 + varintSize(UInt64(ColumnType(column.schema.type).rawValue))
        if count > 0 { size += 1 + varintSize(UInt64(count)) + count }  // nulls
        switch column.storage {
        case .int64(let values), .timestamp(let values):
            guard count > 0 else { break }
            let distance = Self.prefetchDistance
            let body = values.withUnsafeBufferPointer { values in
                rows.withUnsafeBufferPointer { rows in
                    var body = 0
                    for position in rows.indices {
                        if position + distance < count, rows[position + distance] >= 0 {
                            enrich_prefetch(values.baseAddress! + rows[position + distance])
                        }
                        body += varintSize(Self.zigzag(values, rows[position]))
                    }
                    return body
                }
            }
            size += 1 + varintSize(UInt64(body)) + body
        case .double:
            if count > 0 { size += 1 + varintSize(UInt64(count * 8)) + count * 8 }
        case .bool:
            if count > 0 { size += 1 + varintSize(UInt64(count)) + count }
        case .string(let arena):
            let distance = Self.prefetchDistance
            arena.withStorage { _, lengths in
                rows.withUnsafeBufferPointer { rows in
                    for position in rows.indices {
                        if position + distance < count, rows[position + distance] >= 0 {
                            arena.prefetchSpan(of: rows[position + distance], lengths: lengths)
                        }
                        let row = rows[position]
                        let length = row < 0 ? 0 : arena.span(of: row, lengths: lengths).count
                        size += 1 + varintSize(UInt64(length)) + length
                    }
                }
            }
        }
        return size
    }
}
