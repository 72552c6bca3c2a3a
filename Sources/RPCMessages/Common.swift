/// The type of a model column as the cache stores it.
public enum ColumnType: UInt32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case int64 = 1
    case double = 2
    case bool = 3
    case string = 4
    /// Microseconds since the Unix epoch, UTC.
    case timestamp = 5

    /// The lower-case name used in tables and JSON output.
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .int64: "int64"
        case .double: "double"
        case .bool: "bool"
        case .string: "string"
        case .timestamp: "timestamp"
        }
    }
}

/// A model column: its name, cache type and the warehouse's own type name.
public struct Column: Sendable, Hashable {
    public var name: String
    public var type: ColumnType
    public var sourceType: String

    public init(name: String, type: ColumnType, sourceType: String = "") {
        self.name = name
        self.type = type
        self.sourceType = sourceType
    }
}
