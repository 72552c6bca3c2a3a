import ModelCache

/// The embedded warehouse: a SQLite file. Each call opens its own connection, so the type holds only a path
/// and is safe to share.
package struct SQLiteWarehouse: Warehouse {
    package let path: String
    package var kind: String { "sqlite" }

    package init(path: String) { self.path = path }

    private func open() throws(WarehouseError) -> SQLiteConnection {
        try SQLiteConnection(path: self.path, create: false, readOnly: true)
    }

    private func requireTable(_ name: String, in connection: SQLiteConnection) throws(WarehouseError) {
        let statement = try connection.prepare(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1"
        )
        statement.bind(1, name)
        guard try statement.step() else { throw .sourceNotFound(name) }
    }

    /// `SELECT list FROM` the source, after checking that a table source exists.
    private func selectSQL(
        _ source: ModelSource, list: String, connection: SQLiteConnection
    ) throws(WarehouseError) -> String {
        switch source {
        case .table(let name):
            try self.requireTable(name, in: connection)
            return "SELECT \(list) FROM \(quoteIdentifier(name))"
        case .query(let query):
            return "SELECT \(list) FROM (\(query))"
        }
    }

    /// SQLite's version, after probing that the state tables can be created and written (in a transaction that
    /// is rolled back).
    package func testConnection() throws(WarehouseError) -> String {
        let connection = try SQLiteConnection(path: self.path, create: false)
        let statement = try connection.prepare("SELECT sqlite_version()")
        let version =
            try statement.step() ? "SQLite " + statement.withText(0) { String(decoding: $0, as: UTF8.self) } : "SQLite"
        do {
            try probeStateWrites(
                connection, begin: "BEGIN IMMEDIATE", create: SQLiteStateDialect.createStatements,
                prefix: SQLiteStateDialect.prefix)
        } catch {
            throw .stateNotWritable("cannot write the _enrich_state_ tables in '\(self.path)': \(error)")
        }
        return version
    }

    /// Opens a sync of `model`: ensures the state tables and registers the row checksum function. Reads run on
    /// their own; the state is written in one immediate transaction at commit.
    package func openSyncSession(model: String, source: ModelSource) throws(WarehouseError) -> any SyncSession {
        let connection = try SQLiteConnection(path: self.path, create: false)
        do {
            for create in SQLiteStateDialect.createStatements { try connection.execute(create) }
        } catch {
            throw .stateNotWritable("cannot create the _enrich_state_ tables in '\(self.path)': \(error)")
        }
        connection.registerChecksumFunction()
        let from: String
        switch source {
        case .table(let name):
            try self.requireTable(name, in: connection)
            from = quoteIdentifier(name) + " AS s"
        case .query(let query):
            from = "(\(query)) AS s"
        }
        return StateSession(
            driver: connection, dialect: SQLiteStateDialect(from: from), model: model,
            describe: { () throws(WarehouseError) in try self.describe(source, on: connection) },
            estimate: { () throws(WarehouseError) in try self.estimatedRowCount(source, on: connection) }
        )
    }

    package func describe(_ source: ModelSource) throws(WarehouseError) -> [SourceColumn] {
        try self.describe(source, on: try self.open())
    }

    /// Removes the state of `model` (a sync state key): its checksum table, checkpoint and failed rows.
    package func forgetState(model: String) throws(WarehouseError) {
        let connection = try SQLiteConnection(path: self.path, create: false)
        guard
            !(try connection.rows(SQLiteStateDialect(from: "").tableExists(SQLiteStateDialect.prefix + "checkpoints")))
                .isEmpty
        else { return }
        for statement in forgetStateStatements(prefix: SQLiteStateDialect.prefix, model: model) {
            try connection.execute(statement)
        }
    }

    func describe(_ source: ModelSource, on connection: SQLiteConnection) throws(WarehouseError) -> [SourceColumn] {
        let statement = try connection.prepare(try self.selectSQL(source, list: "*", connection: connection))
        // Expression columns have no declared type; the first row's storage classes stand in for it.
        let hasRow = try statement.step()
        return (0..<statement.columnCount).map { index in
            let declared = statement.declaredType(index)
            let type: DataType
            if let declared {
                type = Self.dataType(declared: declared)
            } else if hasRow {
                switch statement.storage(index) {
                case .integer: type = .int64
                case .float: type = .double
                default: type = .string
                }
            } else {
                type = .string
            }
            return SourceColumn(name: statement.columnName(index), sourceType: declared ?? "", type: type)
        }
    }

    /// SQLite's type-affinity rules (https://sqlite.org/datatype3.html, 3.1), refined for booleans and times.
    static func dataType(declared: String) -> DataType {
        let type = declared.uppercased()
        if type.contains("BOOL") { return .bool }
        if type.contains("INT") { return .int64 }
        if type.contains("TIMESTAMP") || type.contains("DATETIME") || type == "DATE" { return .timestamp }
        if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return .string }
        if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") || type.contains("NUMERIC")
            || type.contains("DECIMAL")
        {
            return .double
        }
        return .string
    }

    func estimatedRowCount(_ source: ModelSource, on connection: SQLiteConnection) throws(WarehouseError) -> Int? {
        guard case .table(let name) = source else { return nil }
        try self.requireTable(name, in: connection)
        let statement = try connection.prepare("SELECT count(*) FROM \(quoteIdentifier(name))")
        guard try statement.step() else { return nil }
        return Int(statement.int64(0))
    }

    /// Pushes one row's cells into `sink`, converting each to its column's type or rejecting the row.
    @inline(__always)
    static func readRow<Sink: RowSink>(
        _ statement: SQLiteStatement, types: [DataType], names: [String], into sink: inout Sink
    ) {
        for (index, type) in types.enumerated() {
            let storage = statement.storage(index)
            if storage == .null {
                sink.appendNull(index)
                continue
            }
            switch type {
            case .int64:
                switch storage {
                case .integer: sink.appendInt64(index, statement.int64(index))
                case .float:
                    let value = statement.double(index)
                    guard value == value.rounded(), let exact = Int64(exactly: value) else {
                        return sink.rejectRow(reason: "column '\(names[index])': \(value) is not an integer")
                    }
                    sink.appendInt64(index, exact)
                default:
                    guard let value = statement.withText(index, { Int64(String(decoding: $0, as: UTF8.self)) }) else {
                        return sink.rejectRow(reason: "column '\(names[index])': text is not an integer")
                    }
                    sink.appendInt64(index, value)
                }
            case .double:
                switch storage {
                case .integer, .float: sink.appendDouble(index, statement.double(index))
                default:
                    guard let value = statement.withText(index, { Double(String(decoding: $0, as: UTF8.self)) }) else {
                        return sink.rejectRow(reason: "column '\(names[index])': text is not a number")
                    }
                    sink.appendDouble(index, value)
                }
            case .bool:
                switch storage {
                case .integer, .float: sink.appendBool(index, statement.int64(index) != 0)
                default:
                    let text = statement.withText(index) { String(decoding: $0, as: UTF8.self).lowercased() }
                    switch text {
                    case "true", "t", "1", "yes": sink.appendBool(index, true)
                    case "false", "f", "0", "no": sink.appendBool(index, false)
                    default: return sink.rejectRow(reason: "column '\(names[index])': text is not a boolean")
                    }
                }
            case .string:
                statement.withText(index) { sink.appendString(index, $0) }
            case .timestamp:
                switch storage {
                case .integer:
                    // SQLite's convention for integer times: seconds since the Unix epoch.
                    let (value, overflow) = statement.int64(index).multipliedReportingOverflow(by: 1_000_000)
                    guard !overflow else {
                        return sink.rejectRow(reason: "column '\(names[index])': time out of range")
                    }
                    sink.appendTimestamp(index, value)
                case .float:
                    sink.appendTimestamp(index, Int64(statement.double(index) * 1_000_000))
                default:
                    guard let micros = statement.withText(index, { Timestamp.parseMicroseconds($0) }) else {
                        return sink.rejectRow(reason: "column '\(names[index])': text is not an ISO-8601 time")
                    }
                    sink.appendTimestamp(index, micros)
                }
            }
        }
        sink.endRow()
    }
}

/// The state tables' SQL for SQLite: a prefix instead of a schema, and `enrich_checksum(...)`, a function this
/// process registers on the connection (FNV-1a over each value's storage class and bytes).
struct SQLiteStateDialect: StateDialect {
    static let prefix = "_enrich_state_"
    static let createStatements = stateTableStatements(prefix: Self.prefix)
    let from: String
    var statePrefix: String { Self.prefix }
    func keyText(_ column: String) -> String { "CAST(s.\(column) AS TEXT)" }
    func analyze(_ table: String) -> String? { nil }
    var fence: String { " LIMIT -1 OFFSET 0" }
    /// SQLite joins through indexes, so the key gets one, built after a bulk load (sorting once beats a B-tree
    /// insert per row).
    func rowsTable(_ name: String) -> (create: String, index: String?) {
        (
            "CREATE TABLE IF NOT EXISTS \(name) (key TEXT NOT NULL, checksum INTEGER NOT NULL)",
            "CREATE UNIQUE INDEX IF NOT EXISTS \(name)_key ON \(name) (key)"
        )
    }
    func tableExists(_ name: String) -> String {
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = \(sqlLiteral(name))"
    }
    func checksum(_ columns: [SourceColumn]) -> String {
        "enrich_checksum(\(columns.map { "s." + quoteIdentifier($0.name) }.joined(separator: ", ")))"
    }
}
