/// The types a cached column can have. Timestamps are microseconds since the Unix epoch, UTC.
public enum DataType: String, Sendable, Hashable, CaseIterable, Codable {
    case int64
    case double
    case bool
    case string
    case timestamp
}

/// A column of a model as the cache sees it.
public struct ColumnSchema: Sendable, Hashable, Codable {
    public var name: String
    public var type: DataType

    public init(name: String, type: DataType) {
        self.name = name
        self.type = type
    }
}

/// One cell, for tests, tools and the JSON path. The hot path reads typed column buffers instead.
public enum CellValue: Sendable, Hashable {
    case null
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    /// Microseconds since the Unix epoch, UTC.
    case timestamp(Int64)
}
