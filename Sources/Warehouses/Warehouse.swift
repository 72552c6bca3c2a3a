package import ModelCache

/// What a model reads: a whole table (or view), or the rows of a SQL query.
package enum ModelSource: Sendable, Hashable, CustomStringConvertible {
    case table(String)
    case query(String)

    package var description: String {
        switch self {
        case .table(let name): "table \(name)"
        case .query: "query"
        }
    }
}

/// A column found by introspection: its name, the warehouse's type name and the cache type it maps to.
package struct SourceColumn: Sendable, Hashable {
    package var name: String
    package var sourceType: String
    package var type: DataType

    package init(name: String, sourceType: String, type: DataType) {
        self.name = name
        self.sourceType = sourceType
        self.type = type
    }
}

/// Why a warehouse call failed; messages are safe to show a client.
package enum WarehouseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The warehouse cannot be reached or opened.
    case unavailable(String)
    /// The table does not exist.
    case sourceNotFound(String)
    /// The query does not compile or run.
    case invalidQuery(String)
    /// A read failed part-way.
    case readFailed(String)
    /// The scan was stopped by its caller.
    case cancelled
    /// The warehouse's settings are not usable (bad connection string, password in the wrong place).
    case invalidConfiguration(String)
    /// The `_enrich_state` tables cannot be created or written (the connection's user lacks the rights).
    case stateNotWritable(String)

    package var description: String {
        switch self {
        case .unavailable(let reason): "warehouse unavailable: \(reason)"
        case .sourceNotFound(let name): "table '\(name)' does not exist in the warehouse"
        case .invalidQuery(let reason): "query failed: \(reason)"
        case .readFailed(let reason): "read failed: \(reason)"
        case .cancelled: "scan cancelled"
        case .invalidConfiguration(let reason): "invalid warehouse settings: \(reason)"
        case .stateNotWritable(let reason): reason
        }
    }
}

/// A warehouse a model can read from. Implementations block the calling thread; callers run them off the
/// event loops and off the cooperative pool.
package protocol Warehouse: Sendable {
    /// "sqlite", "postgres", ...
    var kind: String { get }

    /// Connects and returns the warehouse's version text, proving the path, credentials and network work.
    /// - Throws: `.unavailable` with the reason.
    func testConnection() throws(WarehouseError) -> String

    /// The columns of `source`, in order, with their cache types.
    /// - Throws: `.sourceNotFound`, `.invalidQuery`, `.unavailable`.
    func describe(_ source: ModelSource) throws(WarehouseError) -> [SourceColumn]

    /// Opens a sync of `model` that diffs against, and then updates, the state kept in the warehouse.
    /// - Throws: `.stateNotWritable` when the state tables cannot be created, `.sourceNotFound`, `.unavailable`.
    func openSyncSession(model: String, source: ModelSource) throws(WarehouseError) -> any SyncSession

    /// Removes the state kept for `model` (a sync state key), after the model is deleted.
    func forgetState(model: String) throws(WarehouseError)

    /// Where a model's rows live, as Segment's long `__segment_entities` form names them
    /// (`<model>.<schema>.<table>.<column>`): `table` is the model's source table as given, empty for a SQL-query
    /// model, whose name then stands in for the table, in the warehouse's default schema.
    func entityLocation(table: String, model: String) -> (schema: String, table: String)
}

extension Warehouse {
    /// One schema, SQLite's `main`.
    package func entityLocation(table: String, model: String) -> (schema: String, table: String) {
        ("main", table.isEmpty ? model : table)
    }
}

/// How often a scan reports progress, in rows.
package let progressInterval = 16_384

/// The warehouse kinds an operator can connect, and the connector for each.
package enum WarehouseKind: String, Sendable, CaseIterable {
    case postgres
    case sqlite
    /// Behind the same seam, not built: refused as unimplemented.
    case snowflake
    case bigquery

    /// Whether this server has a connector for the kind.
    package var isImplemented: Bool { self == .postgres || self == .sqlite }

    /// The connector for `connection` (and `password`), after checking the settings' shape. Nothing is
    /// contacted here.
    /// - Throws: `.invalidConfiguration`.
    package func make(connection: String, password: String) throws(WarehouseError) -> any Warehouse {
        switch self {
        case .postgres:
            try PostgresWarehouse.validate(connectionString: connection)
            return PostgresWarehouse(connectionString: connection, password: password)
        case .sqlite:
            guard !connection.isEmpty else {
                throw .invalidConfiguration("a SQLite warehouse needs the database file's path")
            }
            guard password.isEmpty else { throw .invalidConfiguration("SQLite files take no password") }
            return SQLiteWarehouse(path: connection)
        case .snowflake, .bigquery:
            throw .invalidConfiguration("no \(self.rawValue) connector is built into this server")
        }
    }
}
