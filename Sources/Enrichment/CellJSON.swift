import CPrefetch
package import EventJSON
import Mapping
package import ModelCache

/// The one rule for a model cell as JSON, for every path that writes one (plain Enrich, destinations on the tape
/// and on the tree, TestMapping): NULL is `null`, integers and doubles are numbers, booleans are booleans,
/// timestamps are ISO-8601 strings (as Segment's payloads carry them), strings are strings.
package enum CellJSON {
    /// How numbers are written.
    package enum Numbers: Sendable {
        /// Every digit of an integer (plain Enrich: the event is the sender's JSON, not JavaScript's).
        case exact
        /// As a JavaScript number (destinations: Segment's mappings run in JavaScript, so an integer past 2^53
        /// is rounded there; the tape writes what the tree path, `MappingValue`, produces).
        case javaScript
    }

    /// The cell at `row` of `column` as a JSON value.
    package static func value(_ column: ColumnData, row: Int) -> JSONValue {
        if column.nulls.isNull(row) { return .null }
        switch column.storage {
        case .int64(let data): return .int(data[row])
        case .timestamp(let data): return .string(Timestamp.iso8601(microseconds: data[row]))
        case .double(let data): return .double(data[row])
        case .bool(let data): return .bool(data[row])
        case .string(let arena): return .string(arena.string(at: row))
        case .packedInt(let packed):
            let value = packed.withCodes { packed.value(at: row, $0) }
            if column.schema.type == .timestamp { return .string(Timestamp.iso8601(microseconds: value)) }
            return .int(value)
        case .packedDouble(let packed, let scale):
            return .double(Double(packed.withCodes { packed.value(at: row, $0) }) / scale)
        case .dictionary(let codes, let strings):
            return .string(strings.string(at: Int(codes.withCodes { codes.value(at: row, $0) })))
        }
    }

    /// Appends the cell's JSON text to `output`; strings are escaped straight from the arena, numbers read from
    /// the borrowed buffer. Exactly `JSONWriter.write(value(...))` for `.exact`, and
    /// `JSONWriter.write(MappingValue(value(...)).json)` for `.javaScript`.
    package static func write(_ column: ColumnReference, row: Int, numbers: Numbers, into output: inout [UInt8]) {
        if column.nulls.isNull(row) {
            output.append(contentsOf: "null".utf8)
            return
        }
        if let strings = column.strings {
            // Arenas know whether all their rows are valid UTF-8; one that is not is checked row by row (and an
            // invalid row goes through `String`, which repairs it, as the tree path does).
            let entry = column.codes.map { codes in Int(codes.withCodes { codes.value(at: row, $0) }) } ?? row
            let valid = strings.isValidUTF8
            let written = strings.withBytes(at: entry) { bytes -> Bool in
                guard valid || UTF8Text.isValid(bytes.assumingMemoryBound(to: UInt8.self)) else { return false }
                JSONWriter.writeString(utf8: bytes, into: &output)
                return true
            }
            if written { return }
        }
        switch numbers {
        case .exact:
            JSONWriter.write(Self.value(column.column, row: row), into: &output)
        case .javaScript:
            if let doubles = column.doubles {
                JSONWriter.write(MappingValue.number(doubles[row]).json ?? .null, into: &output)
            } else if let ints = column.ints {
                JSONWriter.write(MappingValue.number(Double(ints[row])).json ?? .null, into: &output)
            } else if let packed = column.packedDoubles {
                let value = Double(packed.integers.withCodes { packed.integers.value(at: row, $0) }) / packed.scale
                JSONWriter.write(MappingValue.number(value).json ?? .null, into: &output)
            } else if let packed = column.packedInts {
                let value = Double(packed.withCodes { packed.value(at: row, $0) })
                JSONWriter.write(MappingValue.number(value).json ?? .null, into: &output)
            } else {
                JSONWriter.write(MappingValue(Self.value(column.column, row: row)).json ?? .null, into: &output)
            }
        }
    }
}

/// A column's parts as separate constants, so the hot path borrows them rather than copying the column's enum
/// (and retaining its buffers) per cell. A class, so handing one around costs one retain.
package final class ColumnReference: Sendable {
    package let column: ColumnData
    let nulls: NullBitmap
    /// The text: the column's arena, or a dictionary column's distinct strings (then `codes` picks the entry).
    let strings: StringArena?
    let codes: PackedIntegers?
    let doubles: [Double]?
    let ints: [Int64]?
    let packedDoubles: (integers: PackedIntegers, scale: Double)?
    /// An int64 column stored narrow (not timestamps: those are written as text).
    let packedInts: PackedIntegers?

    package init(_ column: ColumnData) {
        self.column = column
        self.nulls = column.nulls
        switch column.storage {
        case .string(let arena): (self.strings, self.codes) = (arena, nil)
        case .dictionary(let codes, let strings): (self.strings, self.codes) = (strings, codes)
        default: (self.strings, self.codes) = (nil, nil)
        }
        if case .double(let values) = column.storage { self.doubles = values } else { self.doubles = nil }
        if case .int64(let values) = column.storage { self.ints = values } else { self.ints = nil }
        if case .packedDouble(let packed, let scale) = column.storage {
            self.packedDoubles = (packed, scale)
        } else {
            self.packedDoubles = nil
        }
        if case .packedInt(let packed) = column.storage, column.schema.type == .int64 {
            self.packedInts = packed
        } else {
            self.packedInts = nil
        }
    }

    /// Requests the lines `CellJSON.write` reads first at `row`: the null bit's word and the value (a number, a
    /// code, or the index line that locates a string). A string's text is one more step: it is fetched when
    /// written.
    @inline(__always)
    func prefetch(row: Int) {
        self.nulls.prefetch(row)
        if let codes = self.codes {
            codes.withCodes { enrich_prefetch(codes.address(of: row, $0)) }
        } else if let strings = self.strings {
            strings.prefetchSpan(of: row)
        } else if let doubles = self.doubles {
            doubles.withUnsafeBufferPointer { enrich_prefetch($0.baseAddress! + row) }
        } else if let ints = self.ints {
            ints.withUnsafeBufferPointer { enrich_prefetch($0.baseAddress! + row) }
        } else if let packed = self.packedDoubles?.integers ?? self.packedInts {
            packed.withCodes { enrich_prefetch(packed.address(of: row, $0)) }
        }
    }

    /// A string cell's text, once the line `prefetch(row:)` requested is cached (other cells: nothing more).
    @inline(__always)
    func prefetchText(row: Int) {
        guard self.codes == nil, let strings = self.strings else { return }
        strings.prefetchText(of: row)
    }
}
