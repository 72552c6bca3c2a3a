import ModelCache
import Testing

/// Rows pushed into a builder and, side by side, into a plain dictionary that is obviously right.
struct Reference {
    var rows: [String: [CellValue]] = [:]
    var order: [String] = []
}

@Suite("Columnar cache")
struct ModelCacheTests {
    static let schema = [
        ColumnSchema(name: "sku", type: .string), ColumnSchema(name: "qty", type: .int64),
        ColumnSchema(name: "price", type: .double), ColumnSchema(name: "live", type: .bool),
        ColumnSchema(name: "at", type: .timestamp),
    ]

    static func push(_ cells: [CellValue], into builder: inout SnapshotBuilder) {
        for (index, cell) in cells.enumerated() {
            switch cell {
            case .null: builder.appendNull(index)
            case .int64(let value): builder.appendInt64(index, value)
            case .double(let value): builder.appendDouble(index, value)
            case .bool(let value): builder.appendBool(index, value)
            case .string(var value): value.withUTF8 { builder.appendString(index, UnsafeRawBufferPointer($0)) }
            case .timestamp(let value): builder.appendTimestamp(index, value)
            }
        }
        builder.endRow()
    }

    @Test("Lookups agree with a naive dictionary over 50k random rows, including NULLs and misses")
    func matchesDictionary() throws {
        var builder = try SnapshotBuilder(schema: Self.schema, primaryKey: "sku")
        var reference = Reference()
        var random = SystemRandomNumberGenerator()
        for _ in 0..<50_000 {
            let key = "K\(Int.random(in: 0..<80_000, using: &random))"
            let cells: [CellValue] = [
                .string(key),
                Bool.random() ? .int64(Int64.random(in: -1_000...1_000)) : .null,
                .double(Double.random(in: 0...100)),
                Int.random(in: 0..<5) == 0 ? .null : .bool(Bool.random()),
                .timestamp(Int64.random(in: 0...2_000_000_000_000_000)),
            ]
            Self.push(cells, into: &builder)
            if reference.rows[key] == nil {  // The first row with a key wins; later ones are rejected.
                reference.rows[key] = cells
                reference.order.append(key)
            }
        }
        let snapshot = try builder.build(model: "m", version: 1)
        #expect(snapshot.rowCount == reference.rows.count)
        #expect(builder.rejectedRows == 50_000 - reference.rows.count)
        for key in (0..<80_000).map({ "K\($0)" }) {
            let row = snapshot.row(for: .string(key))
            guard let expected = reference.rows[key] else {
                #expect(row == nil)
                continue
            }
            let found = try #require(row)
            #expect(snapshot.columns.map { $0.value(at: found) } == expected)
        }
    }

    @Test("Diff counts added, changed and removed rows exactly as a naive cell-by-cell comparison does")
    func diffMatchesNaive() throws {
        var random = SystemRandomNumberGenerator()
        func cell(_ type: DataType) -> CellValue {
            if Int.random(in: 0..<6, using: &random) == 0 { return .null }
            switch type {
            case .string: return .string(["", "a", "b", "ab", "é"].randomElement(using: &random)!)
            case .int64: return .int64(Int64.random(in: 0..<3, using: &random))
            case .double: return .double([0, 1.5, .nan, -0.0].randomElement(using: &random)!)
            case .bool: return .bool(Bool.random(using: &random))
            case .timestamp: return .timestamp(Int64.random(in: 0..<2, using: &random))
            }
        }
        func snapshot(_ keys: [Int]) throws -> (ModelSnapshot, [String: [CellValue]]) {
            var builder = try SnapshotBuilder(schema: Self.schema, primaryKey: "sku")
            var rows: [String: [CellValue]] = [:]
            for key in keys {
                let cells = [CellValue.string("k\(key)")] + Self.schema.dropFirst().map { cell($0.type) }
                rows["k\(key)"] = cells
                Self.push(cells, into: &builder)
            }
            return (try builder.build(model: "m", version: 1), rows)
        }
        for _ in 0..<20 {
            let (old, oldRows) = try snapshot(Array(0..<300).filter { _ in Bool.random(using: &random) })
            let (new, newRows) = try snapshot(Array(0..<300).filter { _ in Bool.random(using: &random) })
            let kept = newRows.keys.filter { oldRows[$0] != nil }
            let changed = kept.filter { key in !zip(newRows[key]!, oldRows[key]!).allSatisfy { $0.isSame(as: $1) } }
            let diff = new.diff(from: old)
            #expect(diff.added == newRows.count - kept.count)
            #expect(diff.removed == oldRows.count - kept.count)
            #expect(diff.changed == changed.count)
            #expect(new.diff(from: new) == (0, 0, 0))
        }
    }

    @Test("Merging drops marked rows, appends a delta and answers every key as a fresh build would")
    func mergeMatchesRebuild() throws {
        var random = SystemRandomNumberGenerator()
        func row(_ key: Int) -> [CellValue] {
            [
                .string("K\(key)"), Bool.random(using: &random) ? .int64(Int64(key)) : .null, .double(Double(key) / 2),
                Int.random(in: 0..<4, using: &random) == 0 ? .null : .bool(key % 2 == 0),
                .timestamp(Int64(key) * 1_000),
            ]
        }
        var rows: [Int: [CellValue]] = [:]
        var old = try SnapshotBuilder(schema: Self.schema, primaryKey: "sku")
        for key in 0..<5_000 {
            rows[key] = row(key)
            Self.push(rows[key]!, into: &old)
        }
        let previous = try old.build(model: "m", version: 1)
        // Change 500 keys, remove 300, add 200 new ones.
        var delta = try SnapshotBuilder(schema: Self.schema, primaryKey: "sku")
        var dropping = [Bool](repeating: false, count: previous.rowCount)
        for key in stride(from: 0, to: 5_000, by: 10) {
            rows[key] = row(key)
            Self.push(rows[key]!, into: &delta)
            dropping[try #require(previous.row(for: .string("K\(key)")))] = true
        }
        for key in stride(from: 3, to: 5_000, by: 17).prefix(300) where key % 10 != 0 {
            rows[key] = nil
            dropping[try #require(previous.row(for: .string("K\(key)")))] = true
        }
        for key in 10_000..<10_200 {
            rows[key] = row(key)
            Self.push(rows[key]!, into: &delta)
        }
        let merged = try previous.merging(try delta.build(model: "m", version: 2), dropping: dropping, version: 2)
        #expect(merged.version == 2 && merged.rowCount == rows.count)
        for key in 0..<10_200 {
            guard let expected = rows[key] else {
                #expect(merged.row(for: .string("K\(key)")) == nil)
                continue
            }
            let found = try #require(merged.row(for: .string("K\(key)")))
            #expect(merged.columns.map { $0.value(at: found) } == expected)
        }
        #expect(throws: SnapshotError.tooManyRows(limit: rows.count - 1)) {
            _ = try previous.merging(
                try delta.build(model: "m", version: 2), dropping: dropping, version: 2, maxRows: rows.count - 1)
        }
    }

    @Test("Integer keys are found by integer or by their decimal text")
    func integerKeys() throws {
        var builder = try SnapshotBuilder(
            schema: [ColumnSchema(name: "id", type: .int64), ColumnSchema(name: "v", type: .string)], primaryKey: "id")
        for id in Int64(-5)...5 { Self.push([.int64(id * 1_000_003), .string("v\(id)")], into: &builder) }
        let snapshot = try builder.build(model: "m", version: 1)
        #expect(snapshot.row(for: .int(-5_000_015)).map { snapshot.columns[1].value(at: $0) } == .string("v-5"))
        #expect(snapshot.row(for: .string("3000009")).map { snapshot.columns[1].value(at: $0) } == .string("v3"))
        #expect(snapshot.row(for: .string("3000009.0")) == nil)
        #expect(snapshot.row(for: .int(1)) == nil)
    }

    @Test("Rows with a NULL key or a repeated key are rejected and reported")
    func rejectedRows() throws {
        var builder = try SnapshotBuilder(schema: Self.schema, primaryKey: "sku")
        Self.push([.string("a"), .int64(1), .double(1), .bool(true), .timestamp(1)], into: &builder)
        Self.push([.null, .int64(2), .double(2), .bool(true), .timestamp(2)], into: &builder)
        Self.push([.string("a"), .int64(3), .double(3), .bool(true), .timestamp(3)], into: &builder)
        builder.appendString(0, UnsafeRawBufferPointer(start: nil, count: 0))
        builder.rejectRow(reason: "column 2: text is not an integer")
        let snapshot = try builder.build(model: "m", version: 1)
        #expect(snapshot.rowCount == 1)
        #expect(snapshot.columns[1].value(at: 0) == .int64(1))
        #expect(
            builder.issues == [
                RowIssue(rowNumber: 2, key: nil, reason: "primary key is NULL"),
                RowIssue(rowNumber: 3, key: "a", reason: "duplicate primary key"),
                RowIssue(rowNumber: 4, key: nil, reason: "column 2: text is not an integer"),
            ])
    }

    @Test("The row cap admits N rows and fails the build at N+1")
    func rowCap() throws {
        func build(rows: Int) throws -> ModelSnapshot {
            var builder = try SnapshotBuilder(
                schema: [ColumnSchema(name: "id", type: .int64)], primaryKey: "id", maxRows: 3)
            for id in 0..<rows { Self.push([.int64(Int64(id))], into: &builder) }
            return try builder.build(model: "m", version: 1)
        }
        #expect(try build(rows: 3).rowCount == 3)
        #expect(throws: SnapshotError.tooManyRows(limit: 3)) { try build(rows: 4) }
    }

    @Test("A double or bool column cannot be the key, and the key must exist")
    func keyChecks() {
        #expect(throws: SnapshotError.unsupportedKeyType(column: "price", type: .double)) {
            try SnapshotBuilder(schema: Self.schema, primaryKey: "price")
        }
        #expect(throws: SnapshotError.unknownKeyColumn("nope")) {
            try SnapshotBuilder(schema: Self.schema, primaryKey: "nope")
        }
    }

    @Test("Publishing swaps the served snapshot whole; readers holding the old one keep it")
    func publishSwaps() throws {
        let cache = ModelCache()
        #expect(cache.snapshot(of: "m") == nil)
        var first = try SnapshotBuilder(schema: [ColumnSchema(name: "id", type: .int64)], primaryKey: "id")
        Self.push([.int64(1)], into: &first)
        cache.publish(try first.build(model: "m", version: 1))
        let held = try #require(cache.snapshot(of: "m"))
        var second = try SnapshotBuilder(schema: [ColumnSchema(name: "id", type: .int64)], primaryKey: "id")
        Self.push([.int64(2)], into: &second)
        Self.push([.int64(3)], into: &second)
        cache.publish(try second.build(model: "m", version: 2))
        #expect(held.version == 1 && held.rowCount == 1)
        #expect(cache.snapshot(of: "m")?.version == 2)
        #expect(cache.snapshot(of: "m")?.rowCount == 2)
        #expect(held.residentBytes > 0)
    }
}

@Suite("Snapshot files")
struct SnapshotSerializationTests {
    static func sample() throws -> ModelSnapshot {
        var builder = try SnapshotBuilder(schema: ModelCacheTests.schema, primaryKey: "sku")
        for index in 0..<500 {
            ModelCacheTests.push(
                [
                    .string("K\(index)"), index % 7 == 0 ? .null : .int64(Int64(index) - 250),
                    .double(Double(index) / 3),
                    index % 5 == 0 ? .null : .bool(index % 2 == 0), .timestamp(Int64(index) * 1_000_003),
                ], into: &builder)
        }
        return try builder.build(model: "products", version: 42)
    }

    @Test("A snapshot survives serialization: every cell, the key index and the version")
    func roundTrip() throws {
        let original = try Self.sample()
        let copy = try ModelSnapshot(deserializing: original.serialized())
        #expect(copy.model == "products" && copy.version == 42 && copy.rowCount == 500)
        for row in 0..<original.rowCount {
            #expect(copy.columns.map { $0.value(at: row) } == original.columns.map { $0.value(at: row) })
        }
        #expect(copy.row(for: .string("K123")) == original.row(for: .string("K123")))
        #expect(copy.row(for: .string("K999")) == nil)
    }

    /// Strings of many lengths, with repeated keys rejected (and so removed again) at block boundaries.
    static func strings(longAt long: Int?) throws -> (ModelSnapshot, [String]) {
        var builder = try SnapshotBuilder(
            schema: [ColumnSchema(name: "k", type: .int64), ColumnSchema(name: "s", type: .string)], primaryKey: "k")
        var kept: [String] = []
        for index in 0..<1_000 {
            // Distinct texts (a column of few distinct ones would be stored as a dictionary, see PackedColumnTests).
            let text =
                index == long
                ? String(repeating: "x", count: 256) : String(repeating: "é", count: index % 120) + "\(index)"
            ModelCacheTests.push([.int64(Int64(index)), .string(text)], into: &builder)
            kept.append(text)
            if index % 16 == 15 || index % 16 == 0 {  // a rejected duplicate right after a block edge
                ModelCacheTests.push([.int64(Int64(index)), .string("rejected")], into: &builder)
            }
        }
        return (try builder.build(model: "strings", version: 1), kept)
    }

    @Test(
        "Strings are stored compactly up to 255 bytes, switch to offsets past it, and read back the same either way",
        arguments: [nil, 0, 17, 999] as [Int?])
    func compactStrings(longAt long: Int?) throws {
        let (snapshot, kept) = try Self.strings(longAt: long)
        let copy = try ModelSnapshot(deserializing: snapshot.serialized())
        for (row, text) in kept.enumerated() {
            #expect(snapshot.columns[1].value(at: row) == .string(text))
            #expect(copy.columns[1].value(at: row) == .string(text))
        }
        guard case .string(let arena) = snapshot.columns[1].storage else {
            Issue.record("column s is not stored as strings")
            return
        }
        #expect(arena.bytes.count == kept.reduce(0) { $0 + $1.utf8.count })
        // The index: 1,000 rows in 63 blocks of a 4-byte start and 16 length bytes when compact (trimmed to
        // within a sixteenth); 1,001 4-byte offsets when not.
        let overhead = snapshot.columns[1].residentBytes - arena.bytes.capacity
        if long == nil {
            #expect(overhead <= 1_000 + 63 * 4 + 100)
        } else {
            #expect(overhead >= 1_001 * 4)
            #expect(arena.length(at: long!) == 256)
        }
    }

    @Test(
        "An arena knows whether every row is valid UTF-8, even when invalid rows join into valid text",
        arguments: [
            ([[0x61], [0xC3, 0xA9]], true), ([[0x61, 0xC3], [0xA9]], false), ([[0x61], [0xFF]], false),
            ([[], [0xE2, 0x82, 0xAC]], true),
        ]
            as [([[UInt8]], Bool)])
    func utf8Validity(rows: [[UInt8]], valid: Bool) throws {
        var builder = try SnapshotBuilder(
            schema: [ColumnSchema(name: "k", type: .int64), ColumnSchema(name: "s", type: .string)], primaryKey: "k")
        for (index, bytes) in rows.enumerated() {
            builder.appendInt64(0, Int64(index))
            bytes.withUnsafeBytes { builder.appendString(1, $0) }
            builder.endRow()
        }
        let snapshot = try builder.build(model: "utf8", version: 1)
        for copy in [snapshot, try ModelSnapshot(deserializing: snapshot.serialized())] {
            guard case .string(let arena) = copy.columns[1].storage else {
                Issue.record("column s is not stored as strings")
                return
            }
            #expect(arena.isValidUTF8 == valid)
        }
    }

    @Test("Truncated, foreign and tampered bytes are refused, never half-loaded")
    func corruptInput() throws {
        let bytes = try Self.sample().serialized()
        #expect(throws: SnapshotDecodingError.notASnapshot) {
            try ModelSnapshot(deserializing: Array("NOTSNAP!".utf8) + bytes.dropFirst(8))
        }
        for cut in [9, bytes.count / 2, bytes.count - 1] {
            #expect(throws: SnapshotDecodingError.self) { try ModelSnapshot(deserializing: Array(bytes.prefix(cut))) }
        }
        #expect(throws: SnapshotDecodingError.self) { try ModelSnapshot(deserializing: bytes + [0]) }
    }
}
