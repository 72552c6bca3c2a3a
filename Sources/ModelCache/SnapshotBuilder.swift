import EnrichPolicy

/// Receives rows from a warehouse scan, one cell at a time, in column order.
///
/// A scan calls one `append…` per column and then `endRow()`, or `rejectRow(reason:)` to drop the row's cells
/// when a value cannot be converted to its column's type.
package protocol RowSink {
    mutating func appendNull(_ column: Int)
    mutating func appendInt64(_ column: Int, _ value: Int64)
    mutating func appendDouble(_ column: Int, _ value: Double)
    mutating func appendBool(_ column: Int, _ value: Bool)
    mutating func appendString(_ column: Int, _ utf8: UnsafeRawBufferPointer)
    mutating func appendTimestamp(_ column: Int, _ microseconds: Int64)
    /// Ends the current row.
    mutating func endRow()
    /// Drops the cells appended for the current row and records why.
    mutating func rejectRow(reason: String)
}

/// A row left out of a snapshot, and why.
package struct RowIssue: Sendable, Hashable {
    /// 1-based position of the row in the scan.
    package var rowNumber: Int
    /// The row's primary key as text, when it had one.
    package var key: String?
    package var reason: String

    package init(rowNumber: Int, key: String?, reason: String) {
        self.rowNumber = rowNumber
        self.key = key
        self.reason = reason
    }
}

/// Errors that stop a snapshot from being built at all.
package enum SnapshotError: Error, Equatable, Sendable {
    /// The primary key names no column of the schema.
    case unknownKeyColumn(String)
    /// The key column's type cannot be a key (double, bool).
    case unsupportedKeyType(column: String, type: DataType)
    /// More rows than `PrimaryKeyIndex.maxRows` or the configured cap.
    case tooManyRows(limit: Int)
    /// A string column passed `StringArena.maxBytes`.
    case columnTooLarge(column: String)
}

/// `values` in a buffer of exactly its size when the spare capacity is more than a sixteenth (else as is).
func fitted<T>(_ values: [T]) -> [T] {
    guard values.capacity > values.count + values.count / 16 + 16 else { return values }
    return [T](unsafeUninitializedCapacity: values.count) { buffer, initialized in
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { buffer.baseAddress!.initialize(from: base, count: source.count) }
        }
        initialized = values.count
    }
}

/// Per-column buffers while a snapshot is being built. A class, so appends mutate in place.
final class ColumnBuilder {
    let schema: ColumnSchema
    var ints: [Int64] = []
    var doubles: [Double] = []
    var bools: [Bool] = []
    var strings = StringArena()
    var nulls = NullBitmap()
    var count = 0

    init(schema: ColumnSchema) { self.schema = schema }

    func removeLast() {
        self.count -= 1
        self.nulls.set(self.count, null: false)
        switch self.schema.type {
        case .int64, .timestamp: self.ints.removeLast()
        case .double: self.doubles.removeLast()
        case .bool: self.bools.removeLast()
        case .string: self.strings.removeLast()
        }
    }

    /// The finished column, its buffers trimmed to their contents: arrays grow by doubling, and a snapshot
    /// lives until the next sync, so slack would be resident the whole time (up to 2x the string bytes).
    func build() -> ColumnData {
        var column = ColumnData(schema: self.schema, reserving: 0)
        column.nulls = self.nulls
        switch self.schema.type {
        case .int64: column.storage = .int64(fitted(self.ints))
        case .timestamp: column.storage = .timestamp(fitted(self.ints))
        case .double: column.storage = .double(fitted(self.doubles))
        case .bool: column.storage = .bool(fitted(self.bools))
        case .string: column.storage = .string(self.strings.trimmed())
        }
        return column
    }
}

/// Builds a `ModelSnapshot` from a scan: typed columns, null bitmaps and the primary-key index, rejecting rows
/// whose key is NULL or repeats an earlier row's key (the first one wins).
package struct SnapshotBuilder: RowSink {
    /// Most rows one snapshot can hold: the index stores row + 1 in a UInt32 (a format bound; the policy's
    /// `SyncLimits.maxRows` is far below it).
    package static let maxRows = Int(UInt32.max) - 1
    /// Most columns a snapshot file may declare (a format bound, checked when one is read back; the policy's
    /// `SyncLimits.maxColumns` is below it).
    package static let maxColumns = 4_096

    package let schema: [ColumnSchema]
    package let keyColumn: Int
    private let maxRows: Int
    private let maxRowBytes: Int
    private let maxRecordedIssues: Int
    private var rowBytes = 0
    private var columns: [ColumnBuilder]
    private var index: PrimaryKeyIndex
    private var rowCount = 0
    private var scanned = 0
    private var rowRejected = false
    private var fatal: SnapshotError?
    package private(set) var issues: [RowIssue] = []
    package private(set) var rejectedRows = 0
    /// Why the latest rejected row was left out (kept even past the recorded-issues cap).
    package private(set) var lastRejection = ""

    /// - Parameters:
    ///   - schema: the columns, in scan order.
    ///   - primaryKey: the key column's name.
    ///   - expectedRows: sizes buffers up front (a hint).
    ///   - maxRows: most rows accepted; the scan fails past it.
    /// - Throws: `SnapshotError.unknownKeyColumn`, `.unsupportedKeyType`.
    ///   - maxRowBytes: largest row accepted (8 bytes per fixed-width cell plus string bytes); larger rows are
    ///     rejected and reported, as Segment does past 512 KiB.
    ///   - maxRecordedIssues: rejected rows kept in detail; the rest are only counted.
    package init(
        schema: [ColumnSchema], primaryKey: String, expectedRows: Int = 0, maxRows: Int = SnapshotBuilder.maxRows,
        maxRowBytes: Int = SyncLimits().maxRowBytes, maxRecordedIssues: Int = SyncLimits().maxRecordedIssues
    ) throws(SnapshotError) {
        self.maxRecordedIssues = maxRecordedIssues
        guard let keyColumn = schema.firstIndex(where: { $0.name == primaryKey }) else {
            throw .unknownKeyColumn(primaryKey)
        }
        let keyType = schema[keyColumn].type
        guard keyType == .int64 || keyType == .string || keyType == .timestamp else {
            throw .unsupportedKeyType(column: primaryKey, type: keyType)
        }
        self.schema = schema
        self.keyColumn = keyColumn
        self.maxRows = min(maxRows, Self.maxRows)
        self.maxRowBytes = maxRowBytes
        self.columns = schema.map { ColumnBuilder(schema: $0) }
        self.index = PrimaryKeyIndex(expectedRows: expectedRows)
        for column in self.columns {
            switch column.schema.type {
            case .int64, .timestamp: column.ints.reserveCapacity(expectedRows)
            case .double: column.doubles.reserveCapacity(expectedRows)
            case .bool: column.bools.reserveCapacity(expectedRows)
            case .string: column.strings.reserve(rows: expectedRows)
            }
        }
    }

    /// Rows accepted so far.
    package var acceptedRows: Int { self.rowCount }
    /// Rows seen so far, accepted or not.
    package var scannedRows: Int { self.scanned }

    // MARK: - RowSink

    package mutating func appendNull(_ column: Int) {
        let builder = self.columns[column]
        builder.nulls.set(builder.count, null: true)
        switch builder.schema.type {
        case .int64, .timestamp: builder.ints.append(0)
        case .double: builder.doubles.append(0)
        case .bool: builder.bools.append(false)
        case .string: _ = builder.strings.append(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        builder.count += 1
    }

    package mutating func appendInt64(_ column: Int, _ value: Int64) {
        let builder = self.columns[column]
        builder.ints.append(value)
        builder.count += 1
    }

    package mutating func appendTimestamp(_ column: Int, _ microseconds: Int64) {
        self.appendInt64(column, microseconds)
    }

    package mutating func appendDouble(_ column: Int, _ value: Double) {
        let builder = self.columns[column]
        builder.doubles.append(value)
        builder.count += 1
    }

    package mutating func appendBool(_ column: Int, _ value: Bool) {
        let builder = self.columns[column]
        builder.bools.append(value)
        builder.count += 1
    }

    package mutating func appendString(_ column: Int, _ utf8: UnsafeRawBufferPointer) {
        let builder = self.columns[column]
        self.rowBytes += utf8.count
        guard builder.strings.append(utf8) else {
            self.fatal = self.fatal ?? .columnTooLarge(column: builder.schema.name)
            _ = builder.strings.append(UnsafeRawBufferPointer(start: nil, count: 0))
            builder.count += 1
            return
        }
        builder.count += 1
    }

    package mutating func rejectRow(reason: String) {
        self.scanned += 1
        self.rowBytes = 0
        self.dropPartialRow()
        self.record(RowIssue(rowNumber: self.scanned, key: nil, reason: reason))
    }

    package mutating func endRow() {
        self.scanned += 1
        let row = self.rowCount
        let key = self.columns[self.keyColumn]
        precondition(self.columns.allSatisfy { $0.count == row + 1 }, "a scan appended a ragged row")
        let bytes = self.rowBytes + 8 * self.columns.filter { $0.schema.type != .string }.count
        self.rowBytes = 0
        guard bytes <= self.maxRowBytes else {
            let text = key.nulls.isNull(row) ? nil : self.keyText(row: row)
            self.dropPartialRow()
            self.record(
                RowIssue(
                    rowNumber: self.scanned, key: text,
                    reason: "row is \(bytes) bytes; the limit is \(self.maxRowBytes)"))
            return
        }
        if key.nulls.isNull(row) {
            self.dropPartialRow()
            self.record(RowIssue(rowNumber: self.scanned, key: nil, reason: "primary key is NULL"))
            return
        }
        let hash = self.hashKey(row: row)
        if self.index.find(hash: hash, matches: { self.keysEqual($0, row) }) != nil {
            let text = self.keyText(row: row)
            self.dropPartialRow()
            self.record(RowIssue(rowNumber: self.scanned, key: text, reason: "duplicate primary key"))
            return
        }
        guard row < self.maxRows else {
            self.dropPartialRow()
            self.fatal = self.fatal ?? .tooManyRows(limit: self.maxRows)
            return
        }
        let columns = self.columns
        let keyColumn = self.keyColumn
        self.index.insert(row: row, hash: hash) { Self.hashKey(columns[keyColumn], row: $0) }
        self.rowCount += 1
    }

    private mutating func dropPartialRow() {
        for column in self.columns where column.count > self.rowCount { column.removeLast() }
    }

    private mutating func record(_ issue: RowIssue) {
        self.rejectedRows += 1
        self.lastRejection = issue.reason
        if self.issues.count < self.maxRecordedIssues { self.issues.append(issue) }
    }

    private func hashKey(row: Int) -> Int { Self.hashKey(self.columns[self.keyColumn], row: row) }

    private static func hashKey(_ column: ColumnBuilder, row: Int) -> Int {
        switch column.schema.type {
        case .string: column.strings.withBytes(at: row) { PrimaryKeyIndex.hash($0) }
        default: PrimaryKeyIndex.hash(column.ints[row])
        }
    }

    private func keysEqual(_ a: Int, _ b: Int) -> Bool {
        let column = self.columns[self.keyColumn]
        switch column.schema.type {
        case .string:
            return column.strings.withBytes(at: a) { left in
                column.strings.withBytes(at: b) { right in left.elementsEqual(right) }
            }
        default:
            return column.ints[a] == column.ints[b]
        }
    }

    private func keyText(row: Int) -> String {
        let column = self.columns[self.keyColumn]
        return column.schema.type == .string ? column.strings.string(at: row) : String(column.ints[row])
    }

    // MARK: - Finish

    /// Freezes the buffers into an immutable snapshot, every column but the key in its most compact exact form
    /// (`ColumnData.compacted`).
    /// - Throws: the first fatal `SnapshotError` met during the scan.
    package func build(model: String, version: UInt64) throws(SnapshotError) -> ModelSnapshot {
        if let fatal = self.fatal { throw fatal }
        let keyColumn = self.keyColumn
        return ModelSnapshot(
            model: model, version: version,
            columns: self.columns.enumerated().map {
                $0.offset == keyColumn ? $0.element.build() : $0.element.build().compacted()
            },
            rowCount: self.rowCount, keyColumn: keyColumn, index: self.index
        )
    }
}
