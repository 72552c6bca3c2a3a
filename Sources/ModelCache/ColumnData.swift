/// One column of a snapshot: a contiguous typed buffer plus a null bitmap.
package struct ColumnData: Sendable {
    package enum Storage: Sendable {
        case int64([Int64])
        /// Microseconds since the Unix epoch.
        case timestamp([Int64])
        case double([Double])
        case bool([Bool])
        case string(StringArena)
        /// An int64 or timestamp column (the schema says which) stored narrow.
        case packedInt(PackedIntegers)
        /// A double column whose every value is an integer divided by `scale`, stored as the integers.
        case packedDouble(PackedIntegers, scale: Double)
        /// A string column with few distinct values: a code per row into `strings`.
        case dictionary(codes: PackedIntegers, strings: StringArena)
    }

    package let schema: ColumnSchema
    package internal(set) var storage: Storage
    package internal(set) var nulls: NullBitmap

    init(schema: ColumnSchema, reserving rows: Int) {
        self.schema = schema
        self.nulls = NullBitmap()
        switch schema.type {
        case .int64: self.storage = .int64(Self.reserved(rows))
        case .timestamp: self.storage = .timestamp(Self.reserved(rows))
        case .double: self.storage = .double(Self.reserved(rows))
        case .bool: self.storage = .bool(Self.reserved(rows))
        case .string:
            var arena = StringArena()
            arena.reserve(rows: rows)
            self.storage = .string(arena)
        }
    }

    private static func reserved<T>(_ rows: Int) -> [T] {
        var values: [T] = []
        values.reserveCapacity(rows)
        return values
    }

    package var count: Int {
        switch self.storage {
        case .int64(let values), .timestamp(let values): values.count
        case .double(let values): values.count
        case .bool(let values): values.count
        case .string(let arena): arena.count
        case .packedInt(let packed), .packedDouble(let packed, _), .dictionary(let packed, _): packed.count
        }
    }

    /// The cell at `row`, boxed. For tests and tools; the hot path switches on `storage` once per column.
    package func value(at row: Int) -> CellValue {
        if self.nulls.isNull(row) { return .null }
        switch self.storage {
        case .int64(let values): return .int64(values[row])
        case .timestamp(let values): return .timestamp(values[row])
        case .double(let values): return .double(values[row])
        case .bool(let values): return .bool(values[row])
        case .string(let arena): return .string(arena.string(at: row))
        case .packedInt(let packed):
            let value = packed.withCodes { packed.value(at: row, $0) }
            return self.schema.type == .timestamp ? .timestamp(value) : .int64(value)
        case .packedDouble(let packed, let scale):
            return .double(Double(packed.withCodes { packed.value(at: row, $0) }) / scale)
        case .dictionary(let codes, let strings):
            return .string(strings.string(at: Int(codes.withCodes { codes.value(at: row, $0) })))
        }
    }

    package var residentBytes: Int {
        let values =
            switch self.storage {
            case .int64(let values), .timestamp(let values): values.capacity * 8
            case .double(let values): values.capacity * 8
            case .bool(let values): values.capacity
            case .string(let arena): arena.residentBytes
            case .packedInt(let packed), .packedDouble(let packed, _): packed.residentBytes
            case .dictionary(let codes, let strings): codes.residentBytes + strings.residentBytes
            }
        return values + self.nulls.residentBytes
    }
}
