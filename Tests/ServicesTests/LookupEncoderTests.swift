import RPCCore
import RPCMessages
import Testing

@testable import ModelCache
@testable import Services

/// The hand-tuned Lookup writer against protobuf-c, over plain and packed columns.
@Suite("Lookup encoder")
struct LookupEncoderTests {
    @Test("Packed and plain columns encode to the same bytes, which protobuf-c decodes to the cells (NULLs as zero)")
    func packedMatchesPlain() throws {
        var builder = try SnapshotBuilder(
            schema: [
                ColumnSchema(name: "k", type: .string), ColumnSchema(name: "n", type: .int64),
                ColumnSchema(name: "t", type: .timestamp),
                ColumnSchema(name: "d", type: .double), ColumnSchema(name: "c", type: .string),
                ColumnSchema(name: "b", type: .bool),
            ],
            primaryKey: "k"
        )
        for row in 0..<2_000 {
            var key = "K\(row)"
            key.withUTF8 { builder.appendString(0, UnsafeRawBufferPointer($0)) }
            if row % 7 == 3 { builder.appendNull(1) } else { builder.appendInt64(1, Int64(row % 500) - 100) }
            builder.appendTimestamp(2, 1_700_000_000_000_000 + Int64(row) * 1_000_000)
            if row % 11 == 4 { builder.appendNull(3) } else { builder.appendDouble(3, Double(row % 1_000) / 4) }
            var category = ["a", "bb", "ccc"][row % 3]
            category.withUTF8 { builder.appendString(4, UnsafeRawBufferPointer($0)) }
            builder.appendBool(5, row % 2 == 0)
            builder.endRow()
        }
        let snapshot = try builder.build(model: "m", version: 1)
        let packed = Array(snapshot.columns[1...])
        let plain = packed.map { $0.plain() }
        #expect(
            zip(packed, plain).filter { "\($0.0.storage)" != "\($0.1.storage)" }.count == 4, "n, t, d and c are packed")
        let rows = [5, -1, 3, 1_999, 0, 10, 4, 1_000, -1, 17]
        let fromPacked = EncodedLookupResponse(rows: rows, columns: packed).serializedBytes()
        let fromPlain = EncodedLookupResponse(rows: rows, columns: plain).serializedBytes()
        #expect(fromPacked == fromPlain)
        let decoded = try LookupResponse(serializedBytes: fromPacked)
        #expect(decoded.found == rows.map { $0 >= 0 })
        #expect(decoded.columns[0].int64Values == rows.map { $0 < 0 || $0 % 7 == 3 ? 0 : Int64($0 % 500) - 100 })
        #expect(decoded.columns[2].doubleValues == rows.map { $0 < 0 || $0 % 11 == 4 ? 0 : Double($0 % 1_000) / 4 })
        #expect(decoded.columns[3].stringValues == rows.map { $0 < 0 ? "" : ["a", "bb", "ccc"][$0 % 3] })
    }
}
