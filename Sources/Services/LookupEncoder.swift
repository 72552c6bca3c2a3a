import ModelCache
import RPCCore
import RPCMessages

/// A `LookupResponse` written straight from the snapshot's column buffers into protobuf bytes, without Swift
/// strings or protobuf-c structs per key. Every message's size is worked out first (`init`), so the answer is
/// written in one pass into exactly its bytes: into the connection's outbound buffer when it is small
/// (`serialize(into:)`), or in slices into a buffer of its own when it is large (`LookupJob`). The bytes are
/// exactly what `LookupResponse` encodes to (the tests decode them with it).
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
        writer.tag(field: 1, wireType: 2)
        writer.varint(UInt64(self.rows.count))
        for row in self.rows { writer.byte(row < 0 ? 0 : 1) }
    }

    /// A column's message up to its values: name, type, nulls, and the packed field's header.
    func writeColumnStart(_ index: Int, _ writer: inout RawProtobufWriter) {
        let column = self.columns[index]
        let count = self.rows.count
        writer.tag(field: 2, wireType: 2)
        writer.varint(UInt64(self.sizes[index]))
        writer.string(field: 1, column.schema.name)
        writer.tag(field: 2, wireType: 0)
        writer.varint(UInt64(ColumnType(column.schema.type).rawValue))
        guard count > 0 else { return }
        // 3: nulls, packed bools (a missing row counts as null).
        writer.tag(field: 3, wireType: 2)
        writer.varint(UInt64(count))
        for row in self.rows { writer.byte(row < 0 || column.nulls.isNull(row) ? 1 : 0) }
        switch column.storage {
        case .int64(let values), .timestamp(let values):
            writer.tag(field: 4, wireType: 2)
            writer.varint(UInt64(values.withUnsafeBufferPointer { v in self.rows.reduce(0) { $0 + varintSize(Self.zigzag(v, $1)) } }))
        case .double:
            writer.tag(field: 5, wireType: 2)
            writer.varint(UInt64(count * 8))
        case .bool:
            writer.tag(field: 6, wireType: 2)
            writer.varint(UInt64(count))
        case .string:
            break  // 7: one field per value, written with the values
        }
    }

    /// The values of `rows` (positions among the keys) of column `index`.
    func writeValues(_ index: Int, rows range: Range<Int>, _ writer: inout RawProtobufWriter) {
        switch self.columns[index].storage {
        case .int64(let values), .timestamp(let values):
            values.withUnsafeBufferPointer { values in
                for position in range { writer.varint(Self.zigzag(values, self.rows[position])) }
            }
        case .double(let values):
            for position in range {
                let row = self.rows[position]
                writer.fixed64((row < 0 ? 0 : values[row]).bitPattern)
            }
        case .bool(let values):
            for position in range {
                let row = self.rows[position]
                writer.byte(row >= 0 && values[row] ? 1 : 0)
            }
        case .string(let arena):
            for position in range {
                let row = self.rows[position]
                writer.tag(field: 7, wireType: 2)
                if row >= 0 {
                    arena.withBytes(at: row) { text in
                        writer.varint(UInt64(text.count))
                        writer.bytes(text)
                    }
                } else {
                    writer.varint(0)
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
            let body = values.withUnsafeBufferPointer { values in rows.reduce(0) { $0 + varintSize(Self.zigzag(values, $1)) } }
            size += 1 + varintSize(UInt64(body)) + body
        case .double:
            if count > 0 { size += 1 + varintSize(UInt64(count * 8)) + count * 8 }
        case .bool:
            if count > 0 { size += 1 + varintSize(UInt64(count)) + count }
        case .string(let arena):
            for row in rows {
                let length = row < 0 ? 0 : arena.length(at: row)
                size += 1 + varintSize(UInt64(length)) + length
            }
        }
        return size
    }
}

/// A message already encoded into an array (a large answer written in slices); serializing it is one copy.
struct PreEncodedMessage: MessageSerializer {
    let bytes: [UInt8]

    func serialize(into writer: inout some SerializedMessageWriter) {
        writer.appendSerialized(count: self.bytes.count) { output in
            self.bytes.withUnsafeBytes { output.copyMemory(from: $0) }
        }
    }
}

/// How many bytes `value` takes as a protobuf varint.
@inline(__always)
func varintSize(_ value: UInt64) -> Int {
    value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
}

/// Writes protobuf fields into memory sized for them in advance (sizes are worked out first), with no bounds
/// growth: writing past the end is a programming error, caught by the buffer's bounds check in debug builds and
/// by the size check after each answer.
struct RawProtobufWriter {
    let output: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ output: UnsafeMutableRawBufferPointer) { self.output = output }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        self.output[self.offset] = value
        self.offset += 1
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.byte(UInt8(value))
    }

    @inline(__always)
    mutating func tag(field: Int, wireType: Int) { self.varint(UInt64(field << 3 | wireType)) }

    @inline(__always)
    mutating func fixed64(_ value: UInt64) {
        precondition(self.offset + 8 <= self.output.count, "write past the sized answer")
        self.output.storeBytes(of: value.littleEndian, toByteOffset: self.offset, as: UInt64.self)
        self.offset += 8
    }

    @inline(__always)
    mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        precondition(self.offset + bytes.count <= self.output.count, "write past the sized answer")
        (self.output.baseAddress! + self.offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        self.offset += bytes.count
    }

    mutating func string(field: Int, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            self.tag(field: field, wireType: 2)
            self.varint(UInt64(utf8.count))
            self.bytes(UnsafeRawBufferPointer(utf8))
        }
    }
}

/// The few protobuf encodings the enrich path writes by hand into a growing array.
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
