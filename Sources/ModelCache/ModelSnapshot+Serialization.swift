/// A compact binary form of a snapshot, so a restarted server serves its last good data before the warehouse
/// is reachable. Little-endian, versioned, and checked on the way in:
///
/// ```
/// "ENSNAP01" | u64 version | u64 rows | u32 key column | u32 columns | str model
/// per column: str name | u8 type | u64 null words | null words… | values (by type, see below)
/// index:      u64 slots | slots (u32 each)
/// "ENSNAPND"
/// ```
/// int64/timestamp/double values are 8 bytes each, bools 1 byte, strings `u64 bytes | bytes | offsets (u32,
/// rows + 1)`; `str` is `u32 length | UTF-8`.
extension ModelSnapshot {
    static let magic = Array("ENSNAP01".utf8)
    static let trailer = Array("ENSNAPND".utf8)

    package func serialized() -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes(Self.magic)
        writer.u64(self.version)
        writer.u64(UInt64(self.rowCount))
        writer.u32(UInt32(self.keyColumn))
        writer.u32(UInt32(self.columns.count))
        writer.string(self.model)
        // The file holds plain columns (the format predates compacted ones); they are compacted again at load.
        for column in self.columns.map({ $0.plain() }) {
            writer.string(column.schema.name)
            writer.u8(DataType.allCases.firstIndex(of: column.schema.type).map(UInt8.init) ?? 0)
            writer.u64(UInt64(column.nulls.words.count))
            for word in column.nulls.words { writer.u64(word) }
            switch column.storage {
            case .int64(let values), .timestamp(let values):
                for value in values { writer.u64(UInt64(bitPattern: value)) }
            case .double(let values): for value in values { writer.u64(value.bitPattern) }
            case .bool(let values): for value in values { writer.u8(value ? 1 : 0) }
            case .string(let arena):
                writer.u64(UInt64(arena.bytes.count))
                writer.bytes(arena.bytes)
                writer.u32(0)
                arena.forEachEnd { writer.u32($0) }
            case .packedInt, .packedDouble, .dictionary:
                preconditionFailure("plain() leaves no packed column")
            }
        }
        writer.u64(UInt64(self.index.slots.count))
        for slot in self.index.slots { writer.u32(self.index.plainSlot(slot)) }  // fingerprints are worked out at load
        writer.bytes(Self.trailer)
        return writer.output
    }

    /// Rebuilds a snapshot from `serialized()` output.
    /// - Throws: `SnapshotDecodingError` when the bytes are truncated, from another format version, or
    ///   inconsistent (ragged columns, an index that does not fit).
    package convenience init(deserializing bytes: [UInt8]) throws(SnapshotDecodingError) {
        var reader = ByteReader(bytes)
        guard try reader.bytes(Self.magic.count) == Self.magic else { throw .notASnapshot }
        let version = try reader.u64()
        let rows = Int(try reader.u64())
        let keyColumn = Int(try reader.u32())
        let columnCount = Int(try reader.u32())
        let model = try reader.string()
        guard rows <= SnapshotBuilder.maxRows, columnCount <= SnapshotBuilder.maxColumns, keyColumn < columnCount else {
            throw .inconsistent("header")
        }
        var columns: [ColumnData] = []
        for _ in 0..<columnCount {
            let name = try reader.string()
            let typeIndex = Int(try reader.u8())
            guard typeIndex < DataType.allCases.count else { throw .inconsistent("column type") }
            let type = DataType.allCases[typeIndex]
            var column = ColumnData(schema: ColumnSchema(name: name, type: type), reserving: 0)
            let wordCount = Int(try reader.u64())
            guard wordCount <= rows / 64 + 1 else { throw .inconsistent("null bitmap of \(name)") }
            var nulls = NullBitmap()
            nulls.words = try (0..<wordCount).map { _ throws(SnapshotDecodingError) in try reader.u64() }
            column.nulls = nulls
            switch type {
            case .int64, .timestamp:
                let values = try reader.int64s(rows)
                column.storage = type == .int64 ? .int64(values) : .timestamp(values)
            case .double:
                column.storage = .double(try reader.int64s(rows).map { Double(bitPattern: UInt64(bitPattern: $0)) })
            case .bool:
                column.storage = .bool(try reader.bytes(rows).map { $0 != 0 })
            case .string:
                let byteCount = Int(try reader.u64())
                let text = try reader.bytes(byteCount)
                let offsets = try reader.u32s(rows + 1)
                guard offsets.first == 0, Int(offsets.last ?? 0) == byteCount,
                    zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw .inconsistent("string offsets of \(name)") }
                column.storage = .string(StringArena(bytes: text, offsets: offsets))
            }
            columns.append(columns.count == keyColumn ? column : column.compacted())
        }
        let slotCount = Int(try reader.u64())
        guard slotCount >= 16, slotCount & (slotCount - 1) == 0, slotCount >= rows * 2 else {
            throw .inconsistent("index size")
        }
        let slots = try reader.u32s(slotCount)
        guard slots.allSatisfy({ Int($0) <= rows }) else { throw .inconsistent("index entries") }
        guard try reader.bytes(Self.trailer.count) == Self.trailer, reader.isAtEnd else {
            throw .inconsistent("trailer")
        }
        guard columns.allSatisfy({ $0.count == rows }) else { throw .inconsistent("ragged columns") }
        self.init(
            model: model, version: version, columns: columns, rowCount: rows, keyColumn: keyColumn,
            index: PrimaryKeyIndex(slots: slots, count: rows)
        )
    }
}

/// Why snapshot bytes could not be read back.
package enum SnapshotDecodingError: Error, Equatable, Sendable {
    case notASnapshot
    case truncated
    case inconsistent(String)
}

struct ByteWriter {
    var output: [UInt8] = []
    mutating func bytes(_ values: [UInt8]) { self.output += values }
    mutating func u8(_ value: UInt8) { self.output.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { self.output += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { self.output += $0 } }
    mutating func string(_ value: String) {
        self.u32(UInt32(value.utf8.count))
        self.output += value.utf8
    }
}

struct ByteReader {
    let input: [UInt8]
    var position = 0
    init(_ input: [UInt8]) { self.input = input }

    var isAtEnd: Bool { self.position == self.input.count }

    mutating func bytes(_ count: Int) throws(SnapshotDecodingError) -> [UInt8] {
        guard count >= 0, self.position + count <= self.input.count else { throw .truncated }
        defer { self.position += count }
        return Array(self.input[self.position..<(self.position + count)])
    }

    mutating func u8() throws(SnapshotDecodingError) -> UInt8 { try self.bytes(1)[0] }

    mutating func fixed<T: FixedWidthInteger>(_ type: T.Type) throws(SnapshotDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard self.position + size <= self.input.count else { throw .truncated }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { target in
            self.input.withUnsafeBytes { source in
                target.copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[self.position..<(self.position + size)]))
            }
        }
        self.position += size
        return T(littleEndian: value)
    }

    mutating func u32() throws(SnapshotDecodingError) -> UInt32 { try self.fixed(UInt32.self) }
    mutating func u64() throws(SnapshotDecodingError) -> UInt64 { try self.fixed(UInt64.self) }

    mutating func string() throws(SnapshotDecodingError) -> String {
        let length = Int(try self.u32())
        return String(decoding: try self.bytes(length), as: UTF8.self)
    }

    /// `count` little-endian 8-byte integers, read in one pass.
    mutating func int64s(_ count: Int) throws(SnapshotDecodingError) -> [Int64] {
        guard count >= 0, self.position + count * 8 <= self.input.count else { throw .truncated }
        let start = self.position
        self.position += count * 8
        return [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
            self.input.withUnsafeBytes { source in
                for index in 0..<count {
                    buffer[index] = Int64(
                        littleEndian: source.loadUnaligned(fromByteOffset: start + index * 8, as: Int64.self))
                }
            }
            initialized = count
        }
    }

    mutating func u32s(_ count: Int) throws(SnapshotDecodingError) -> [UInt32] {
        guard count >= 0, self.position + count * 4 <= self.input.count else { throw .truncated }
        let start = self.position
        self.position += count * 4
        return [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
            self.input.withUnsafeBytes { source in
                for index in 0..<count {
                    buffer[index] = UInt32(
                        littleEndian: source.loadUnaligned(fromByteOffset: start + index * 4, as: UInt32.self))
                }
            }
            initialized = count
        }
    }
}
