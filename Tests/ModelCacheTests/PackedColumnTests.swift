import Testing

@testable import ModelCache

/// Columns stored narrow (`ColumnData.compacted`): every value reads back exactly, through files and merges too,
/// and only columns that gain are packed.
@Suite("Packed columns")
struct PackedColumnTests {
    enum Kind: String, CaseIterable {
        case smallInts, wholeSecondTimestamps, wideInts, decimalDoubles, randomDoubles, negativeZero, fewStrings,
            manyStrings
    }

    static func cell(_ kind: Kind, _ row: Int, _ random: inout SystemRandomNumberGenerator) -> CellValue {
        if row % 13 == 5 { return .null }
        switch kind {
        case .smallInts: return .int64(Int64.random(in: -300...40_000, using: &random))
        case .wholeSecondTimestamps:
            return .timestamp(1_600_000_000_000_000 + Int64.random(in: 0...150_000_000, using: &random) * 1_000_000)
        case .wideInts:
            return .int64(
                row == 1 ? Int64.min : (row == 2 ? Int64.max : Int64.random(in: .min ... .max, using: &random)))
        case .decimalDoubles: return .double(Double(Int.random(in: -99_999...99_999, using: &random)) / 100)
        case .randomDoubles: return .double(Double.random(in: -1e6...1e6, using: &random))
        case .negativeZero: return .double(row == 3 ? -0.0 : Double(row) / 10)
        case .fewStrings:
            return .string(
                ["Kitchen", "Garden", "Outdoors", "Toys", "", "Bücher"][Int.random(in: 0..<6, using: &random)])
        case .manyStrings: return .string("item \(row) \(Int.random(in: 0...1_000_000, using: &random))")
        }
    }

    static func type(_ kind: Kind) -> DataType {
        switch kind {
        case .smallInts, .wideInts: .int64
        case .wholeSecondTimestamps: .timestamp
        case .decimalDoubles, .randomDoubles, .negativeZero: .double
        case .fewStrings, .manyStrings: .string
        }
    }

    static func build(_ kind: Kind, rows: Int, first: Int = 0) throws -> (ModelSnapshot, [CellValue]) {
        var random = SystemRandomNumberGenerator()
        var builder = try SnapshotBuilder(
            schema: [ColumnSchema(name: "k", type: .int64), ColumnSchema(name: "v", type: Self.type(kind))],
            primaryKey: "k"
        )
        var cells: [CellValue] = []
        for row in 0..<rows {
            let cell = Self.cell(kind, row, &random)
            ModelCacheTests.push([.int64(Int64(first + row)), cell], into: &builder)
            cells.append(cell)
        }
        return (try builder.build(model: "m", version: 1), cells)
    }

    static func isPacked(_ storage: ColumnData.Storage) -> Bool {
        switch storage {
        case .packedInt, .packedDouble, .dictionary: true
        default: false
        }
    }

    @Test(
        "Each kind of column reads back every cell exactly, packed where it gains, plain where not",
        arguments: Kind.allCases)
    func roundTrip(kind: Kind) throws {
        let (snapshot, cells) = try Self.build(kind, rows: 5_000)
        let column = snapshot.columns[1]
        let packable: Set<Kind> = [.smallInts, .wholeSecondTimestamps, .decimalDoubles, .fewStrings]
        #expect(Self.isPacked(column.storage) == packable.contains(kind), "\(kind): \(column.storage)")
        for (row, cell) in cells.enumerated() {
            let read = column.value(at: row)
            if case .double(let want) = cell, case .double(let got) = read {
                #expect(want.bitPattern == got.bitPattern, "\(kind) row \(row)")
            } else {
                #expect(read == cell, "\(kind) row \(row)")
            }
        }
        if packable.contains(kind) {
            #expect(
                column.residentBytes * 5 < column.plain().residentBytes * 3,
                "\(kind): \(column.residentBytes) bytes packed")
        }
        // Files hold plain columns and are packed again when read.
        let copy = try ModelSnapshot(deserializing: snapshot.serialized())
        for row in 0..<cells.count { #expect(copy.columns[1].value(at: row) == column.value(at: row)) }
        #expect(Self.isPacked(copy.columns[1].storage) == Self.isPacked(column.storage))
        #expect(snapshot.diff(from: copy) == (added: 0, changed: 0, removed: 0))
    }

    @Test(
        "A merge of packed snapshots reads back as the rows it kept and the rows it added",
        arguments: [Kind.smallInts, .decimalDoubles, .fewStrings])
    func merge(kind: Kind) throws {
        let (base, baseCells) = try Self.build(kind, rows: 2_000)
        let (delta, deltaCells) = try Self.build(kind, rows: 500, first: 2_000)
        var dropping = [Bool](repeating: false, count: 2_000)
        for row in stride(from: 0, to: 2_000, by: 3) { dropping[row] = true }
        let merged = try base.merging(delta, dropping: dropping, version: 2)
        let expected = baseCells.enumerated().filter { !dropping[$0.offset] }.map(\.element) + deltaCells
        #expect(merged.rowCount == expected.count)
        for (row, cell) in expected.enumerated() { #expect(merged.columns[1].value(at: row) == cell) }
        #expect(Self.isPacked(merged.columns[1].storage))
        #expect(!Self.isPacked(merged.columns[0].storage), "the key column stays plain")
    }
}
