/// The types a cached column can have. Timestamps are microseconds since the Unix epoch, UTC.
package enum DataType: String, Sendable, Hashable, CaseIterable, Codable {
    case int64
    case double
    case bool
    case string
    case timestamp
}

/// A column of a model as the cache sees it.
package struct ColumnSchema: Sendable, Hashable, Codable {
    package var name: String
    package var type: DataType

    package init(name: String, type: DataType) {
        self.name = name
        self.type = type
    }
}

/// One cell, for tests, tools and the JSON path. The hot path reads typed column buffers instead.
package enum CellValue: Sendable, Hashable {
    case null
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    /// Microseconds since the Unix epoch, UTC.
    case timestamp(Int64)
}

extension CellValue {
    /// Whether a re-synced cell holds the same data: like `==`, except that NaN is the same as NaN (it is in
    /// the warehouse), so a NaN cell does not count as a change on every sync.
    package func isSame(as other: CellValue) -> Bool {
        if case .double(let a) = self, case .double(let b) = other, a.isNaN, b.isNaN { return true }
        return self == other
    }
}
