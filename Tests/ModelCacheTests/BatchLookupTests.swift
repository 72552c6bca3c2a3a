import Testing

@testable import ModelCache

/// The batch lookup pipeline (hash all keys, prefetch, probe by fingerprint, compare) against the one-key path.
@Suite("Batch lookups")
struct BatchLookupTests {
    /// `rows` keyed by "K<n>" (string keys) or n (integer keys), n in 0..<rows*2 step 2, so odd numbers miss.
    static func snapshot(rows: Int, stringKeys: Bool) throws -> ModelSnapshot {
        var builder = try SnapshotBuilder(
            schema: [
                ColumnSchema(name: "k", type: stringKeys ? .string : .int64), ColumnSchema(name: "v", type: .int64),
            ],
            primaryKey: "k"
        )
        for row in 0..<rows {
            if stringKeys {
                var key = "K\(row * 2)"
                key.withUTF8 { builder.appendString(0, UnsafeRawBufferPointer($0)) }
            } else {
                builder.appendInt64(0, Int64(row * 2))
            }
            builder.appendInt64(1, Int64(row))
            builder.endRow()
        }
        return try builder.build(model: "m", version: 1)
    }

    static func check(_ snapshot: ModelSnapshot, keys: [Int], stringKeys: Bool) -> Int {
        var rows: [Int] = []
        var found = 0
        if stringKeys {
            let texts = keys.map { Array("K\($0)".utf8) + [] }
            snapshot.rows(
                forUTF8Keys: texts.count, key: { position in texts[position].withUnsafeBytes { $0 } }, into: &rows)
            for (position, text) in texts.enumerated() {
                let one = text.withUnsafeBytes { snapshot.row(forUTF8: $0) } ?? -1
                #expect(rows[position] == one, "key K\(keys[position])")
                if one >= 0 { found += 1 }
            }
        } else {
            let values = keys.map(Int64.init)
            values.withUnsafeBufferPointer { snapshot.rows(forIntKeys: $0, into: &rows) }
            for (position, value) in values.enumerated() {
                let one = snapshot.row(forInt: value) ?? -1
                #expect(rows[position] == one, "key \(value)")
                if one >= 0 { found += 1 }
            }
        }
        #expect(rows.count == keys.count)
        return found
    }

    @Test(
        "Batch and one-key lookups agree on 5,000 random present and missing keys, with 12 to 0 fingerprint bits",
        arguments: [true, false]
    )
    func agree(stringKeys: Bool) throws {
        let snapshot = try Self.snapshot(rows: 20_000, stringKeys: stringKeys)
        var random = SystemRandomNumberGenerator()
        let keys = (0..<5_000).map { _ in Int.random(in: 0..<40_010, using: &random) }
        // The snapshot's own fingerprints (15 bits for 20,000 rows), then a single fingerprint bit (a candidate is
        // another key about half the time, so the resumed probe runs often), then none.
        for rowBits in [nil, 31, 32] as [Int?] {
            let subject = rowBits.map { snapshot.withFingerprintRowBits($0) } ?? snapshot
            let found = Self.check(subject, keys: keys, stringKeys: stringKeys)
            #expect(
                found > 2_000 && found < 3_000, "found \(found) of 5,000 with rowBits \(String(describing: rowBits))")
        }
    }

    @Test("A snapshot file keeps plain slots; fingerprints are worked out again when it is read")
    func fileRoundTrip() throws {
        let snapshot = try Self.snapshot(rows: 5_000, stringKeys: true)
        let copy = try ModelSnapshot(deserializing: snapshot.serialized())
        #expect(copy.index.slots == snapshot.index.slots)
        #expect(Self.check(copy, keys: Array(0..<10_010), stringKeys: true) == 5_000)
    }
}
