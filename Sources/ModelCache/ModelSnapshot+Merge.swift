extension ModelSnapshot {
    /// A new snapshot holding this one's rows except those marked in `dropping` (by row number), followed by
    /// `delta`'s rows: how an incremental sync applies the rows it read to the snapshot being served. Both
    /// must have the same schema; a key in both must be dropped here first, or the delta's row is rejected as
    /// a duplicate.
    /// - Throws: `SnapshotError` from the builder (a row limit).
    public func merging(
        _ delta: ModelSnapshot, dropping: [Bool], version: UInt64, maxRows: Int = SnapshotBuilder.maxRows
    ) throws(SnapshotError) -> ModelSnapshot {
        precondition(delta.schema == self.schema && dropping.count == self.rowCount, "merging mismatched snapshots")
        let kept = dropping.reduce(self.rowCount) { $0 - ($1 ? 1 : 0) }
        var builder = try SnapshotBuilder(
            schema: self.schema, primaryKey: self.schema[self.keyColumn].name, expectedRows: kept + delta.rowCount,
            maxRows: maxRows, maxRowBytes: .max
        )
        for row in 0..<self.rowCount where !dropping[row] { Self.copyRow(row, of: self, into: &builder) }
        for row in 0..<delta.rowCount { Self.copyRow(row, of: delta, into: &builder) }
        return try builder.build(model: self.model, version: version)
    }

    private static func copyRow(_ row: Int, of snapshot: ModelSnapshot, into builder: inout SnapshotBuilder) {
        for (index, column) in snapshot.columns.enumerated() {
            if column.nulls.isNull(row) {
                builder.appendNull(index)
                continue
            }
            switch column.storage {
            case .int64(let values): builder.appendInt64(index, values[row])
            case .timestamp(let values): builder.appendTimestamp(index, values[row])
            case .double(let values): builder.appendDouble(index, values[row])
            case .bool(let values): builder.appendBool(index, values[row])
            case .string(let arena): arena.withBytes(at: row) { builder.appendString(index, $0) }
            }
        }
        builder.endRow()
    }
}
