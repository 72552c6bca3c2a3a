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
    /// Bytes of each integer column's packed values field (0 for other columns), worked out with `sizes`.
    let packedBodies: [Int]
    /// Bytes of the whole answer.
    let total: Int

    init(rows: [Int], columns: [ColumnData]) {
        self.rows = rows
        self.columns = columns
        var sizes: [Int] = []
        var bodies: [Int] = []
        sizes.reserveCapacity(columns.count)
        bodies.reserveCapacity(columns.count)
        Self.prefetchFirstRows(rows, columns)
        for column in columns {
            let (size, body) = Self.size(of: column, rows: rows)
            sizes.append(size)
            bodies.append(body)
        }
        self.sizes = sizes
        self.packedBodies = bodies
        let count = rows.count
        let found = count == 0 ? 0 : 1 + varintSize(UInt64(count)) + count
        self.total = found + sizes.reduce(0) { $0 + 1 + varintSize(UInt64($1)) + $1 }
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
        case .int64, .timestamp, .packedInt:
            writer.tag(field: ColumnValues.Field.int64Values, wireType: 2)
            writer.varint(UInt64(self.packedBodies[index]))
        case .double, .packedDouble:
            writer.tag(field: ColumnValues.Field.doubleValues, wireType: 2)
            writer.varint(UInt64(count * 8))
        case .bool:
            writer.tag(field: ColumnValues.Field.boolValues, wireType: 2)
            writer.varint(UInt64(count))
        case .string, .dictionary:
            break  // 7: one field per value, written with the values
        }
    }

    /// Rows ahead of the one being read whose cells are prefetched: each column's rows are random, so a cell is
    /// a cache miss; asking for the cells a few rows ahead keeps several misses in flight (issue 15).
    static let prefetchDistance = 16

    /// Requests the first `prefetchDistance` rows of every column at once, before the per-column passes. Each
    /// pass prefetches that far ahead of itself, so without this its first rows would be misses taken one after
    /// another: at batch 100, a sixth of all cells.
    static func prefetchFirstRows(_ rows: [Int], _ columns: [ColumnData]) {
        let first = rows.prefix(Self.prefetchDistance)
        for column in columns {
            switch column.storage {
            case .int64, .timestamp, .packedInt:
                Self.withIntegers(column) { _, address in
                    for row in first where row >= 0 { enrich_prefetch(address(row)) }
                }
            case .double, .packedDouble:
                Self.withDoubles(column) { _, address in
                    for row in first where row >= 0 { enrich_prefetch(address(row)) }
                }
            case .bool(let values):
                values.withUnsafeBufferPointer { values in
                    for row in first where row >= 0 { enrich_prefetch(values.baseAddress! + row) }
                }
            case .string, .dictionary:
                Self.withStrings(column) { arena, _, code in
                    arena.withStorage { _, lengths in
                        for row in first where row >= 0 {
                            if let code {
                                enrich_prefetch(code(row))
                            } else {
                                arena.prefetchSpan(of: row, lengths: lengths)
                            }
                        }
                    }
                }
            }
            for row in first where row >= 0 { column.nulls.prefetch(row) }
        }
    }

    /// Calls `body` with the column's integers (int64, timestamp, packed) as a reader: the value of a row (0 for a
    /// missing row or a NULL, as the proto says) and the address to prefetch for it.
    @inline(__always)
    static func withIntegers<Result>(
        _ column: ColumnData, _ body: (_ value: (Int) -> Int64, _ address: (Int) -> UnsafeRawPointer) -> Result
    ) -> Result {
        let nulls = column.nulls
        switch column.storage {
        case .int64(let values), .timestamp(let values):
            return values.withUnsafeBufferPointer { values in
                body({ $0 < 0 ? 0 : values[$0] }, { UnsafeRawPointer(values.baseAddress! + $0) })
            }
        case .packedInt(let packed):
            return packed.withCodes { codes in
                body(
                    { $0 < 0 || nulls.isNull($0) ? 0 : packed.value(at: $0, codes) },
                    { packed.address(of: $0, codes) })
            }
        default:
            preconditionFailure("not an integer column")
        }
    }

    /// The same for doubles (plain, or decimals stored as integers).
    @inline(__always)
    static func withDoubles<Result>(
        _ column: ColumnData, _ body: (_ value: (Int) -> Double, _ address: (Int) -> UnsafeRawPointer) -> Result
    ) -> Result {
        let nulls = column.nulls
        switch column.storage {
        case .double(let values):
            return values.withUnsafeBufferPointer { values in
                body({ $0 < 0 ? 0 : values[$0] }, { UnsafeRawPointer(values.baseAddress! + $0) })
            }
        case .packedDouble(let packed, let scale):
            return packed.withCodes { codes in
                body(
                    { $0 < 0 || nulls.isNull($0) ? 0 : Double(packed.value(at: $0, codes)) / scale },
                    { packed.address(of: $0, codes) })
            }
        default:
            preconditionFailure("not a double column")
        }
    }

    /// The same for strings: the arena and the entry of a row (its row, or its dictionary code), and the
    /// address to prefetch for the entry lookup (the dictionary code, or nil to prefetch the arena's index).
    @inline(__always)
    static func withStrings<Result>(
        _ column: ColumnData,
        _ body: (_ arena: StringArena, _ entry: (Int) -> Int, _ code: ((Int) -> UnsafeRawPointer)?) -> Result
    ) -> Result {
        switch column.storage {
        case .string(let arena):
            return body(arena, { $0 }, nil)
        case .dictionary(let codes, let strings):
            return codes.withCodes { raw in
                body(strings, { Int(codes.value(at: $0, raw)) }, { codes.address(of: $0, raw) })
            }
        default:
            preconditionFailure("not a string column")
        }
    }

    func writeValues(_ index: Int, rows range: Range<Int>, _ writer: inout RawProtobufWriter) {
        let distance = Self.prefetchDistance
        let column = self.columns[index]
        self.rows.withUnsafeBufferPointer { rows in
            let end = range.upperBound
            switch column.storage {
            case .int64, .timestamp, .packedInt:
                Self.withIntegers(column) { value, address in
                    for position in range {
                        if position + distance < end, rows[position + distance] >= 0 {
                            enrich_prefetch(address(rows[position + distance]))
                        }
                        let value = value(rows[position])
                        writer.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
                    }
                }
            case .double, .packedDouble:
                Self.withDoubles(column) { value, address in
                    for position in range {
                        if position + distance < end, rows[position + distance] >= 0 {
                            enrich_prefetch(address(rows[position + distance]))
                        }
                        writer.fixed64(value(rows[position]).bitPattern)
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
            case .string, .dictionary:
                Self.withStrings(column) { arena, entry, code in
                    arena.withStorage { text, lengths in
                        // Two stages ahead: the index line that locates a row (or its dictionary code), then (once
                        // it is in) the row's text.
                        for position in range {
                            if position + distance < end, rows[position + distance] >= 0 {
                                if let code {
                                    enrich_prefetch(code(rows[position + distance]))
                                } else {
                                    arena.prefetchSpan(of: rows[position + distance], lengths: lengths)
                                }
                            }
                            if code == nil, position + distance / 2 < end, rows[position + distance / 2] >= 0 {
                                arena.prefetchText(of: rows[position + distance / 2], text: text, lengths: lengths)
                            }
                            let row = rows[position]
                            writer.tag(field: ColumnValues.Field.stringValues, wireType: 2)
                            if row >= 0 {
                                let span = arena.span(of: entry(row), lengths: lengths)
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
    }

    /// The encoded size of one column's `ColumnValues` message for these rows, and of its packed integers field
    /// (0 for other columns).
    static func size(of column: ColumnData, rows: [Int]) -> (message: Int, packedBody: Int) {
        let count = rows.count
        let name = column.schema.name.utf8.count
        var size =
            1 + varintSize(UInt64(name)) + name + 1 + varintSize(UInt64(ColumnType(column.schema.type).rawValue))
        if count > 0 { size += 1 + varintSize(UInt64(count)) + count }  // nulls
        let distance = Self.prefetchDistance
        var packedBody = 0
        switch column.storage {
        case .int64, .timestamp, .packedInt:
            guard count > 0 else { break }
            packedBody = Self.withIntegers(column) { value, address in
                rows.withUnsafeBufferPointer { rows in
                    var body = 0
                    for position in rows.indices {
                        if position + distance < count, rows[position + distance] >= 0 {
                            enrich_prefetch(address(rows[position + distance]))
                        }
                        let value = value(rows[position])
                        body += varintSize(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
                    }
                    return body
                }
            }
            size += 1 + varintSize(UInt64(packedBody)) + packedBody
        case .double, .packedDouble:
            if count > 0 { size += 1 + varintSize(UInt64(count * 8)) + count * 8 }
        case .bool:
            if count > 0 { size += 1 + varintSize(UInt64(count)) + count }
        case .string, .dictionary:
            Self.withStrings(column) { arena, entry, code in
                arena.withStorage { text, lengths in
                    rows.withUnsafeBufferPointer { rows in
                        for position in rows.indices {
                            if position + distance < count, rows[position + distance] >= 0 {
                                if let code {
                                    enrich_prefetch(code(rows[position + distance]))
                                } else {
                                    arena.prefetchSpan(of: rows[position + distance], lengths: lengths)
                                }
                            }
                            let row = rows[position]
                            guard row >= 0 else {
                                size += 2
                                continue
                            }
                            let span = arena.span(of: entry(row), lengths: lengths)
                            // The text is read when the values are written, after every column is sized.
                            if code == nil, !span.isEmpty { enrich_prefetch(text.baseAddress! + span.lowerBound) }
                            size += 1 + varintSize(UInt64(span.count)) + span.count
                        }
                    }
                }
            }
        }
        return (size, packedBody)
    }
}
