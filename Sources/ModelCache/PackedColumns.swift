/// Integers stored narrow: each row's value is `base + code * step`, the codes 1, 2 or 4 bytes wide
/// (little-endian), chosen when a snapshot is finished (`ColumnData.compacted`). Ids that fit 4 bytes, timestamps
/// in whole seconds (step 1,000,000 µs), small counts, and the codes of dictionary strings and of decimal
/// doubles. Fewer bytes per row is less memory and fewer cache lines per lookup (issue 15).
/// `public` (its members stay `package`) only so that its `@inlinable` readers inline into the Lookup encoder in
/// Services: Swift does not inline `@inlinable` members of a `package` type across modules.
public struct PackedIntegers: Sendable {
    @usableFromInline let codes: [UInt8]
    /// Bytes per code: 1, 2 or 4.
    @usableFromInline let width: Int
    @usableFromInline package let base: Int64
    @usableFromInline package let step: Int64
    @usableFromInline package let count: Int

    init(codes: [UInt8], width: Int, base: Int64, step: Int64, count: Int) {
        self.codes = codes
        self.width = width
        self.base = base
        self.step = step
        self.count = count
    }

    /// Calls `body` with the codes, for readers that read many rows.
    @inlinable @inline(__always)
    package func withCodes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.codes.withUnsafeBytes(body)
    }

    /// The code of row `row` in `codes` (from `withCodes`).
    @inlinable @inline(__always)
    package func code(at row: Int, _ codes: UnsafeRawBufferPointer) -> Int64 {
        switch self.width {
        case 1: Int64(codes[row])
        case 2: Int64(UInt16(littleEndian: codes.loadUnaligned(fromByteOffset: row * 2, as: UInt16.self)))
        default: Int64(UInt32(littleEndian: codes.loadUnaligned(fromByteOffset: row * 4, as: UInt32.self)))
        }
    }

    /// The value of row `row`.
    @inlinable @inline(__always)
    package func value(at row: Int, _ codes: UnsafeRawBufferPointer) -> Int64 {
        self.base &+ self.code(at: row, codes) &* self.step
    }

    /// The address of row `row`'s code, for prefetching.
    @inlinable @inline(__always)
    package func address(of row: Int, _ codes: UnsafeRawBufferPointer) -> UnsafeRawPointer {
        codes.baseAddress! + row * self.width
    }

    var residentBytes: Int { self.codes.capacity }

    /// Every value, decoded; 0 where `null(row)` (as plain columns hold NULLs).
    func decoded(null: (Int) -> Bool) -> [Int64] {
        self.withCodes { codes in (0..<self.count).map { null($0) ? 0 : self.value(at: $0, codes) } }
    }

    /// Packs `values` where `null(row)` is false (null rows get code 0), or nil when they need more than 4 bytes
    /// a row. The step is the greatest common divisor of the values' distances from the smallest.
    static func pack(_ values: UnsafeBufferPointer<Int64>, null: (Int) -> Bool) -> PackedIntegers? {
        var low = Int64.max
        var high = Int64.min
        for (row, value) in values.enumerated() where !null(row) {
            low = min(low, value)
            high = max(high, value)
        }
        if low > high {
            low = 0
            high = 0
        }  // every row null, or none
        let (range, overflow) = high.subtractingReportingOverflow(low)
        guard !overflow else { return nil }
        var step: Int64 = 0
        for (row, value) in values.enumerated() where !null(row) {
            step = Self.gcd(step, value &- low)
            if step == 1 { break }
        }
        if step == 0 { step = 1 }
        let span = UInt64(range / step)
        let width = span <= 0xFF ? 1 : (span <= 0xFFFF ? 2 : (span <= 0xFFFF_FFFF ? 4 : 0))
        guard width > 0 else { return nil }
        var codes = [UInt8](repeating: 0, count: values.count * width)
        codes.withUnsafeMutableBytes { out in
            for (row, value) in values.enumerated() where !null(row) {
                let code = UInt64((value &- low) / step)
                switch width {
                case 1: out[row] = UInt8(code)
                case 2: out.storeBytes(of: UInt16(code).littleEndian, toByteOffset: row * 2, as: UInt16.self)
                default: out.storeBytes(of: UInt32(code).littleEndian, toByteOffset: row * 4, as: UInt32.self)
                }
            }
        }
        return PackedIntegers(codes: codes, width: width, base: low, step: step, count: values.count)
    }

    private static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var a = a.magnitude
        var b = b.magnitude
        while b != 0 { (a, b) = (b, a % b) }
        return Int64(truncatingIfNeeded: a)
    }
}

extension ColumnData {
    /// Scales tried for doubles that are decimals with few digits (prices, ratings).
    static let decimalScales: [Double] = [1, 10, 100, 1_000, 10_000]

    /// The column in its most compact form that reads back every value exactly: integers and timestamps packed
    /// (`PackedIntegers`), doubles that are all n / 10^k exactly stored as their n, strings with few distinct
    /// values as dictionary codes. Otherwise unchanged. The key column is never compacted (lookups compare keys
    /// in place).
    func compacted() -> ColumnData {
        var column = self
        let nulls = self.nulls
        switch self.storage {
        case .int64(let values), .timestamp(let values):
            if let packed = values.withUnsafeBufferPointer({ PackedIntegers.pack($0, null: nulls.isNull) }) {
                column.storage = .packedInt(packed)
            }
        case .double(let values):
            for scale in Self.decimalScales {
                guard let scaled = Self.scaledIntegers(values, scale: scale, nulls: nulls) else { continue }
                if let packed = scaled.withUnsafeBufferPointer({ PackedIntegers.pack($0, null: nulls.isNull) }) {
                    column.storage = .packedDouble(packed, scale: scale)
                }
                break
            }
        case .string(let arena):
            if let (codes, dictionary) = Self.dictionary(arena) {
                column.storage = .dictionary(codes: codes, strings: dictionary)
            }
        case .bool, .packedInt, .packedDouble, .dictionary:
            break
        }
        return column
    }

    /// `values` times `scale` as integers when every non-null one is exactly such an integer divided by `scale`
    /// (bit for bit: -0.0, NaN and infinities never are), else nil.
    static func scaledIntegers(_ values: [Double], scale: Double, nulls: NullBitmap) -> [Int64]? {
        var scaled = [Int64](repeating: 0, count: values.count)
        for (row, value) in values.enumerated() where !nulls.isNull(row) {
            let product = (value * scale).rounded()
            guard product.isFinite, abs(product) < 9.0e15 else { return nil }
            let integer = Int64(product)
            guard (Double(integer) / scale).bitPattern == value.bitPattern else { return nil }
            scaled[row] = integer
        }
        return scaled
    }

    /// The arena as dictionary codes and the distinct strings, when there are few enough (at most 65,535) for
    /// the codes and the dictionary to take under half the arena's bytes.
    static func dictionary(_ arena: StringArena) -> (PackedIntegers, StringArena)? {
        let rows = arena.count
        guard rows >= 64 else { return nil }
        var slots = [Int32](repeating: -1, count: 1 << 17)  // open addressing over the distinct strings
        let mask = slots.count - 1
        var dictionary = StringArena()
        var codes = [Int64](repeating: 0, count: rows)
        let limit = min(65_535, rows / 4)
        for row in 0..<rows {
            let found: Int? = arena.withBytes(at: row) { text in
                var slot = PrimaryKeyIndex.hash(text) & mask
                while true {
                    let entry = slots[slot]
                    if entry < 0 {
                        guard dictionary.count < limit, dictionary.append(text) else { return nil }
                        slots[slot] = Int32(dictionary.count - 1)
                        return dictionary.count - 1
                    }
                    if dictionary.withBytes(at: Int(entry), { $0.elementsEqual(text) }) { return Int(entry) }
                    slot = (slot + 1) & mask
                }
            }
            guard let found else { return nil }
            codes[row] = Int64(found)
        }
        let dictionaryArena = dictionary.trimmed()
        guard
            let packed = codes.withUnsafeBufferPointer({ PackedIntegers.pack($0, null: { _ in false }) }),
            packed.residentBytes + dictionaryArena.residentBytes < arena.residentBytes / 2
        else { return nil }
        return (packed, dictionaryArena)
    }

    /// The column with plain storage, NULL cells holding 0, 0.0 or "" as a builder leaves them (merges, diffs
    /// and snapshot files work on plain columns).
    func plain() -> ColumnData {
        var column = self
        let nulls = self.nulls
        switch self.storage {
        case .packedInt(let packed):
            let values = packed.decoded(null: nulls.isNull)
            column.storage = self.schema.type == .timestamp ? .timestamp(values) : .int64(values)
        case .packedDouble(let packed, let scale):
            column.storage = .double(packed.decoded(null: nulls.isNull).map { Double($0) / scale })
        case .dictionary(let codes, let strings):
            var arena = StringArena()
            arena.reserve(rows: codes.count)
            codes.withCodes { raw in
                for row in 0..<codes.count {
                    if nulls.isNull(row) {
                        _ = arena.append(UnsafeRawBufferPointer(start: nil, count: 0))
                    } else {
                        strings.withBytes(at: Int(codes.value(at: row, raw))) { _ = arena.append($0) }
                    }
                }
            }
            column.storage = .string(arena.trimmed())
        case .int64, .timestamp, .double, .bool, .string:
            break
        }
        return column
    }
}
