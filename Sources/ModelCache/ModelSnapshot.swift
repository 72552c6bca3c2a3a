import CPrefetch

#if canImport(Glibc)
    import Glibc
#endif

/// A key as a request carries it, before it is matched to the key column's type.
package enum LookupKey: Sendable, Hashable {
    case int(Int64)
    case string(String)
}

/// An immutable, fully built copy of one model's rows: typed columns and a primary-key index.
///
/// Snapshots are never changed after `SnapshotBuilder.build`; a sync publishes a new one whole, so readers need
/// no lock while they use one.
package final class ModelSnapshot: Sendable {
    package let model: String
    /// The sync run that built it.
    package let version: UInt64
    package let columns: [ColumnData]
    package let rowCount: Int
    package let keyColumn: Int
    let index: PrimaryKeyIndex
    /// The key column's strings, when keys are strings: held apart so a lookup borrows them instead of copying
    /// the column (and retaining each of its buffers) on every call.
    let keyStrings: StringArena?

    /// - Parameter fingerprintRowBits: bits of each index slot kept for row + 1 (tests: more bits, fewer
    ///   fingerprint bits, more fingerprint collisions); nil uses as few as the rows need.
    init(
        model: String, version: UInt64, columns: [ColumnData], rowCount: Int, keyColumn: Int, index: PrimaryKeyIndex,
        fingerprintRowBits: Int? = nil
    ) {
        precondition(columns.allSatisfy { $0.count == rowCount }, "ragged columns")
        self.model = model
        self.version = version
        self.columns = columns
        self.rowCount = rowCount
        self.keyColumn = keyColumn
        let keys = columns[keyColumn]
        switch keys.storage {
        case .string(let arena):
            self.keyStrings = arena
            self.index = index.withFingerprints(rows: rowCount, rowBits: fingerprintRowBits) { row in
                arena.withBytes(at: row) { PrimaryKeyIndex.hash($0) }
            }
        case .int64(let values), .timestamp(let values):
            self.keyStrings = nil
            self.index = index.withFingerprints(rows: rowCount, rowBits: fingerprintRowBits) {
                PrimaryKeyIndex.hash(values[$0])
            }
        default:
            self.keyStrings = nil
            self.index = index
        }
    }

    /// Whether the key column holds strings.
    package var hasStringKeys: Bool { self.keyStrings != nil }

    package var schema: [ColumnSchema] { self.columns.map(\.schema) }

    /// The position of the column called `name`, or nil.
    package func columnIndex(named name: String) -> Int? { self.columns.firstIndex { $0.schema.name == name } }

    /// The row whose integer (or timestamp) key is `key`; nil for a string key column or a missing key.
    @inline(__always)
    package func row(forInt key: Int64) -> Int? {
        guard case .int64(let keys) = self.columns[self.keyColumn].storage else {
            if case .timestamp(let keys) = self.columns[self.keyColumn].storage {
                return self.index.find(hash: PrimaryKeyIndex.hash(key)) { keys[$0] == key }
            }
            return nil
        }
        return keys.withUnsafeBufferPointer { keys in
            self.index.find(hash: PrimaryKeyIndex.hash(key)) { keys[$0] == key }
        }
    }

    /// The row whose string key has these UTF-8 bytes; nil for an integer key column or a missing key.
    @inline(__always)
    package func row(forUTF8 key: UnsafeRawBufferPointer) -> Int? {
        guard let arena = self.keyStrings else { return nil }
        return self.index.find(hash: PrimaryKeyIndex.hash(key)) { row in
            arena.withBytes(at: row) { $0.elementsEqual(key) }
        }
    }

    /// The first step of `row(forUTF8:)` taken ahead of time, for a pipeline over events (destinations on the
    /// tape): the key's hash, with the index slot its probe starts at requested from memory. Nil for an integer
    /// key column.
    @inline(__always)
    package func prefetchSlot(forUTF8 key: UnsafeRawBufferPointer) -> Int? {
        guard self.keyStrings != nil else { return nil }
        let hash = PrimaryKeyIndex.hash(key)
        let index = self.index
        index.slots.withUnsafeBufferPointer { enrich_prefetch($0.baseAddress! + (hash & index.slotMask)) }
        return hash
    }

    /// The second step, once the slot is cached: the row whose fingerprint matches `hash` (nil when none), with
    /// the line locating its key requested. A candidate only: `row(forUTF8:)` still compares the key.
    @inline(__always)
    package func prefetchCandidate(hash: Int) -> Int? {
        guard let arena = self.keyStrings else { return nil }
        let index = self.index
        let row = index.slots.withUnsafeBufferPointer { index.candidate(hash: hash, slots: $0).row }
        guard row >= 0 else { return nil }
        arena.withStorage { _, lengths in arena.prefetchSpan(of: row, lengths: lengths) }
        return row
    }

    /// The third step, once the line locating the candidate's key is cached: the key's text requested.
    @inline(__always)
    package func prefetchKey(row: Int) {
        guard let arena = self.keyStrings else { return }
        arena.prefetchText(of: row)
    }

    /// The same snapshot with `rowBits` bits of each index slot kept for row + 1 (tests of fingerprint collisions).
    func withFingerprintRowBits(_ rowBits: Int) -> ModelSnapshot {
        ModelSnapshot(
            model: self.model, version: self.version, columns: self.columns, rowCount: self.rowCount,
            keyColumn: self.keyColumn,
            index: self.index, fingerprintRowBits: rowBits
        )
    }

    /// Keys resolved per batch step: enough to keep many misses in flight, few enough that the lines prefetched
    /// for the first key are still cached when it is compared.
    static let batchKeys = 32

    /// Resolves `count` string keys (`key(i)` gives the i-th key's UTF-8) to rows, appending each row (-1 when
    /// not found) to `rows`, in key order. A batch pipeline: all keys of a step are hashed and their slots
    /// prefetched; each slot is probed by fingerprint and the candidate row's key prefetched; then keys are
    /// compared. The misses of a step overlap instead of following one another (issue 15). Same answers as
    /// `row(forUTF8:)`, which a test checks on random keys.
    package func rows(forUTF8Keys count: Int, key: (Int) -> UnsafeRawBufferPointer, into rows: inout [Int]) {
        guard let arena = self.keyStrings else {
            for position in 0..<count {
                rows.append(self.row(for: .string(String(decoding: key(position), as: UTF8.self))) ?? -1)
            }
            return
        }
        let index = self.index
        index.slots.withUnsafeBufferPointer { slots in
            arena.withStorage { text, lengths in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.batchKeys * 3) { scratch in
                    let hashes = scratch.baseAddress!
                    let candidates = hashes + Self.batchKeys
                    let positions = candidates + Self.batchKeys
                    var start = 0
                    while start < count {
                        let n = min(Self.batchKeys, count - start)
                        for j in 0..<n {
                            let hash = PrimaryKeyIndex.hash(key(start + j))
                            hashes[j] = hash
                            enrich_prefetch(slots.baseAddress! + (hash & index.slotMask))
                        }
                        for j in 0..<n {
                            let (slot, row) = index.candidate(hash: hashes[j], slots: slots)
                            positions[j] = slot
                            candidates[j] = row
                            if row >= 0 { arena.prefetchSpan(of: row, lengths: lengths) }
                        }
                        for j in 0..<n where candidates[j] >= 0 {
                            enrich_prefetch(
                                text.baseAddress! + arena.span(of: candidates[j], lengths: lengths).lowerBound)
                        }
                        for j in 0..<n {
                            let wanted = key(start + j)
                            var row = candidates[j]
                            if row >= 0 {
                                let span = arena.span(of: row, lengths: lengths)
                                let equal =
                                    span.count == wanted.count
                                    && (span.isEmpty
                                        || memcmp(text.baseAddress! + span.lowerBound, wanted.baseAddress!, span.count)
                                            == 0)
                                if !equal {
                                    // Another key with the same fingerprint (about 1 in 4,096 slots): probe on.
                                    row =
                                        index.find(hash: hashes[j], from: (positions[j] + 1) & index.slotMask) {
                                            candidate in
                                            arena.withBytes(at: candidate) { $0.elementsEqual(wanted) }
                                        } ?? -1
                                }
                            }
                            rows.append(row)
                        }
                        start += n
                    }
                }
            }
        }
    }

    /// `rows(forUTF8Keys:)` for integer keys against an integer (or timestamp) key column.
    package func rows(forIntKeys keys: UnsafeBufferPointer<Int64>, into rows: inout [Int]) {
        let column: [Int64]
        switch self.columns[self.keyColumn].storage {
        case .int64(let values), .timestamp(let values): column = values
        default:
            for key in keys { rows.append(self.row(for: .int(key)) ?? -1) }
            return
        }
        let index = self.index
        index.slots.withUnsafeBufferPointer { slots in
            column.withUnsafeBufferPointer { column in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.batchKeys * 3) { scratch in
                    let hashes = scratch.baseAddress!
                    let candidates = hashes + Self.batchKeys
                    let positions = candidates + Self.batchKeys
                    var start = 0
                    while start < keys.count {
                        let n = min(Self.batchKeys, keys.count - start)
                        for j in 0..<n {
                            let hash = PrimaryKeyIndex.hash(keys[start + j])
                            hashes[j] = hash
                            enrich_prefetch(slots.baseAddress! + (hash & index.slotMask))
                        }
                        for j in 0..<n {
                            let (slot, row) = index.candidate(hash: hashes[j], slots: slots)
                            positions[j] = slot
                            candidates[j] = row
                            if row >= 0 { enrich_prefetch(column.baseAddress! + row) }
                        }
                        for j in 0..<n {
                            let wanted = keys[start + j]
                            var row = candidates[j]
                            if row >= 0 && column[row] != wanted {
                                row =
                                    index.find(hash: hashes[j], from: (positions[j] + 1) & index.slotMask) {
                                        column[$0] == wanted
                                    } ?? -1
                            }
                            rows.append(row)
                        }
                        start += n
                    }
                }
            }
        }
    }

    /// The row for a key of either kind, converting it to the key column's type: a string is parsed as a base-10
    /// integer for an integer key, an integer is formatted in base 10 for a string key.
    package func row(for key: LookupKey) -> Int? {
        switch (key, self.columns[self.keyColumn].schema.type) {
        case (.int(let value), .string):
            var text = String(value)
            return text.withUTF8 { self.row(forUTF8: UnsafeRawBufferPointer($0)) }
        case (.int(let value), _):
            return self.row(forInt: value)
        case (.string(var text), .string):
            return text.withUTF8 { self.row(forUTF8: UnsafeRawBufferPointer($0)) }
        case (.string(let text), _):
            guard let value = Int64(text) else { return nil }
            return self.row(forInt: value)
        }
    }

    /// How this snapshot differs from `previous` by primary key: rows added, rows whose values changed, rows
    /// removed. With no previous snapshot every row is added; when the schema changed, every kept row counts as
    /// changed. Works column by column on the raw buffers, without boxing a cell (1M rows x 10 columns: tens of
    /// milliseconds).
    package func diff(from previous: ModelSnapshot?) -> (added: Int, changed: Int, removed: Int) {
        guard let previous else { return (self.rowCount, 0, 0) }
        // The previous row of each row, or -1.
        var oldRows = [Int](repeating: -1, count: self.rowCount)
        let keys = self.columns[self.keyColumn]
        switch (keys.storage, previous.columns[previous.keyColumn].storage) {
        case (.int64(let values), .int64), (.timestamp(let values), .timestamp):
            for row in 0..<self.rowCount { oldRows[row] = previous.row(forInt: values[row]) ?? -1 }
        case (.string(let arena), .string):
            for row in 0..<self.rowCount { oldRows[row] = arena.withBytes(at: row) { previous.row(forUTF8: $0) } ?? -1 }
        default:
            // The key column changed type: no row can be matched to an old one.
            return (self.rowCount, 0, previous.rowCount)
        }
        let kept = oldRows.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        let added = self.rowCount - kept
        let removed = previous.rowCount - kept
        guard previous.schema == self.schema else { return (added, kept, removed) }
        var changed = [Bool](repeating: false, count: self.rowCount)
        // Compared on plain buffers: the two snapshots may have packed the same column differently.
        for (new, old) in zip(self.columns.map { $0.plain() }, previous.columns.map { $0.plain() }) {
            func compare(_ same: (Int, Int) -> Bool) {
                for row in 0..<self.rowCount where !changed[row] {
                    let oldRow = oldRows[row]
                    guard oldRow >= 0 else { continue }
                    let null = new.nulls.isNull(row)
                    if null != old.nulls.isNull(oldRow) || (!null && !same(row, oldRow)) { changed[row] = true }
                }
            }
            switch (new.storage, old.storage) {
            case (.int64(let a), .int64(let b)), (.timestamp(let a), .timestamp(let b)):
                a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in compare { a[$0] == b[$1] } } }
            case (.double(let a), .double(let b)):
                // NaN is the same as NaN here: it is in the warehouse.
                compare { a[$0] == b[$1] || (a[$0].isNaN && b[$1].isNaN) }
            case (.bool(let a), .bool(let b)):
                compare { a[$0] == b[$1] }
            case (.string(let a), .string(let b)):
                compare { row, oldRow in
                    a.withBytes(at: row) { new in
                        b.withBytes(at: oldRow) { old in
                            new.count == old.count
                                && (new.isEmpty || memcmp(new.baseAddress!, old.baseAddress!, new.count) == 0)
                        }
                    }
                }
            default:
                compare { _, _ in false }
            }
        }
        return (added, changed.reduce(0) { $0 + ($1 ? 1 : 0) }, removed)
    }

    /// Bytes this snapshot keeps resident: column buffers, null bitmaps, string arenas and the index.
    package var residentBytes: Int { self.columns.reduce(self.index.residentBytes) { $0 + $1.residentBytes } }
}
