import CLibPQ
import ModelCache

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL warehouse, reached through libpq. Each call opens its own connection (a scan holds one for its
/// length), so the type holds only the connection string and is safe to share. Rows are streamed with
/// `COPY (SELECT …) TO STDOUT`, PostgreSQL's bulk export, and converted cell by cell straight into the sink.
///
/// The connection string is anything libpq accepts (`host=… port=… dbname=… user=…` or a `postgresql://` URL)
/// except a password, which is passed on its own (from the catalog) or left to `PGPASSWORD` / `~/.pgpass`, so
/// the connection string can be shown. Sessions that read are read-only, in UTC, with ISO dates.
package struct PostgresWarehouse: Warehouse {
    /// Seconds libpq waits to connect before the warehouse counts as unavailable.
    package static let connectTimeoutSeconds = 5

    package let connectionString: String
    let password: String?
    package var kind: String { "postgres" }

    package init(connectionString: String, password: String? = nil) {
        self.connectionString = connectionString
        self.password = password.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Checks that libpq can parse `connectionString` and that it carries no password (which belongs in its
    /// own field, so the string can be shown and audited).
    /// - Throws: `.invalidConfiguration` with libpq's reason.
    package static func validate(connectionString: String) throws(WarehouseError) {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &error) else {
            let reason = error.map { String(cString: $0).trimmingSuffixWhitespace() } ?? "out of memory"
            if let error { PQfreemem(error) }
            throw .invalidConfiguration("not a libpq connection string: \(reason)")
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val, value.pointee != 0 {
                throw .invalidConfiguration("the connection string holds a password; send it as the password instead")
            }
            option += 1
        }
    }

    func connect(readOnly: Bool) throws(WarehouseError) -> PostgresConnection {
        try PostgresConnection(connectionString: self.connectionString, password: self.password, readOnly: readOnly)
    }

    /// Runs SQL statements (several, separated by semicolons) on a fresh read-write connection. Used to set up
    /// tables in tests and benchmarks, and by operators' scripts; syncs write only their `_enrich_state`.
    package func execute(_ sql: String) throws(WarehouseError) {
        let connection = try self.connect(readOnly: false)
        try connection.execute(sql)
    }

    /// The server's version string, proving the connection string, credentials and network path work, and that
    /// the state schema can be created and written (probed in a transaction that is rolled back).
    package func testConnection() throws(WarehouseError) -> String {
        let connection = try self.connect(readOnly: false)
        let version = try connection.rows("SELECT version()", []).first?.first.flatMap { $0 } ?? "unknown"
        do {
            let create = try Self.statePresent(connection) ? [] : PostgresStateDialect.createStatements
            try probeStateWrites(connection, begin: "BEGIN", create: create, prefix: PostgresStateDialect.prefix)
        } catch {
            throw .stateNotWritable("cannot write the state schema _enrich_state: \(error)")
        }
        return version
    }

    /// Opens a sync of `model`: ensures the state schema, then reads in one repeatable-read transaction.
    package func openSyncSession(model: String, source: ModelSource) throws(WarehouseError) -> any SyncSession {
        let connection = try self.connect(readOnly: false)
        try Self.ensureState(connection)
        // Hash and merge joins only: the state tables' statistics can lag far behind a large first sync, and a
        // nested-loop anti-join planned on them would rescan the source once per key.
        // 64 MB per hash keeps a million-key join in memory instead of spilling to batches on disk.
        try connection.execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'")
        let from: String
        switch source {
        case .table(let name): from = try self.requireTable(name, in: connection) + " AS s"
        case .query(let query): from = "(\(query)) AS s"
        }
        return StateSession(
            driver: connection, dialect: PostgresStateDialect(from: from), model: model,
            describe: { () throws(WarehouseError) in try self.describe(source, on: connection) },
            estimate: { () throws(WarehouseError) in try self.estimatedRowCount(source, on: connection) }
        )
    }

    /// Creates the `_enrich_state` schema and tables when missing, so an administrator can set them up and grant
    /// a less privileged sync user access to them.
    package func prepareState() throws(WarehouseError) { try Self.ensureState(try self.connect(readOnly: false)) }

    /// Removes the state of `model` (a sync state key): its checksum table, checkpoint and failed rows.
    package func forgetState(model: String) throws(WarehouseError) {
        let connection = try self.connect(readOnly: false)
        guard try Self.statePresent(connection) else { return }
        for statement in forgetStateStatements(prefix: PostgresStateDialect.prefix, model: model) {
            try connection.execute(statement)
        }
    }

    /// Whether the shared state tables exist (then no CREATE right is needed).
    static func statePresent(_ connection: PostgresConnection) throws(WarehouseError) -> Bool {
        try connection.rows(
            """
            SELECT to_regclass('_enrich_state.checkpoints') IS NOT NULL AND to_regclass('_enrich_state.failed_rows') IS NOT NULL
            """,
            []
        ).first?.first == "t"
    }

    /// Creates the state schema and tables when missing, in their own transaction (retried once: two syncs
    /// creating them at once can collide).
    static func ensureState(_ connection: PostgresConnection) throws(WarehouseError) {
        guard !(try Self.statePresent(connection)) else { return }
        for attempt in 0..<2 {
            do {
                try connection.execute("BEGIN")
                for statement in PostgresStateDialect.createStatements { try connection.execute(statement) }
                try connection.execute("COMMIT")
                return
            } catch {
                try? connection.execute("ROLLBACK")
                if attempt == 1 { throw .stateNotWritable("cannot create the state schema _enrich_state: \(error)") }
            }
        }
    }

    /// The schema a `schema.table` source names, or `public` (PostgreSQL's default first schema) for a bare table
    /// name and for a query model.
    package func entityLocation(table: String, model: String) -> (schema: String, table: String) {
        guard !table.isEmpty else { return ("public", model) }
        let reference = Self.reference(table)
        return (reference.schema ?? "public", reference.table)
    }

    /// `schema.table` or `table` (in the session's search path), quoted for SQL.
    static func reference(_ name: String) -> (schema: String?, table: String, sql: String) {
        let parts = name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
            return (parts[0], parts[1], quoteIdentifier(parts[0]) + "." + quoteIdentifier(parts[1]))
        }
        return (nil, name, quoteIdentifier(name))
    }

    private func requireTable(_ name: String, in connection: PostgresConnection) throws(WarehouseError) -> String {
        let reference = Self.reference(name)
        let found = try connection.rows(
            """
            SELECT 1 FROM information_schema.tables
            WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2
            """,
            [reference.schema, reference.table]
        )
        guard !found.isEmpty else { throw .sourceNotFound(name) }
        return reference.sql
    }

    private func selectSQL(
        _ source: ModelSource, list: String, connection: PostgresConnection
    ) throws(WarehouseError) -> String {
        switch source {
        case .table(let name): "SELECT \(list) FROM \(try self.requireTable(name, in: connection))"
        case .query(let query): "SELECT \(list) FROM (\(query)) AS enrich_model_query"
        }
    }

    package func describe(_ source: ModelSource) throws(WarehouseError) -> [SourceColumn] {
        try self.describe(source, on: try self.connect(readOnly: true))
    }

    func describe(_ source: ModelSource, on connection: PostgresConnection) throws(WarehouseError) -> [SourceColumn] {
        let sql = try self.selectSQL(source, list: "*", connection: connection) + " LIMIT 0"
        let fields: [(name: String, oid: UInt32)]
        do {
            fields = try connection.fields(sql)
        } catch let error {
            guard case .readFailed(let reason) = error else { throw error }
            throw .invalidQuery(reason)
        }
        let oids = Set(fields.map(\.oid)).sorted().map(String.init).joined(separator: ",")
        var names: [UInt32: String] = [:]
        for row in try connection.rows(
            "SELECT oid::int8, format_type(oid, NULL) FROM pg_type WHERE oid = ANY($1::oid[])", ["{\(oids)}"])
        {
            if let oid = row[0].flatMap({ UInt32($0) }), let name = row[1] { names[oid] = name }
        }
        return fields.map { field in
            SourceColumn(
                name: field.name, sourceType: names[field.oid] ?? "oid \(field.oid)",
                type: Self.dataType(oid: field.oid))
        }
    }

    /// Cache types for PostgreSQL's built-in type OIDs (pg_type.dat); everything else is read as its text form.
    static func dataType(oid: UInt32) -> DataType {
        switch oid {
        case 16: .bool
        case 20, 21, 23, 26: .int64  // int8, int2, int4, oid
        case 700, 701, 1700: .double  // float4, float8, numeric
        case 1082, 1114, 1184: .timestamp  // date, timestamp, timestamptz
        default: .string
        }
    }

    func estimatedRowCount(_ source: ModelSource, on connection: PostgresConnection) throws(WarehouseError) -> Int? {
        guard case .table(let name) = source else { return nil }
        let reference = try self.requireTable(name, in: connection)
        // The planner's estimate: free, and -1 for a table never analyzed (then the bar has no total).
        let rows = try connection.rows("SELECT reltuples::int8 FROM pg_class WHERE oid = to_regclass($1)", [reference])
        guard let text = rows.first?.first ?? nil, let estimate = Int(text), estimate >= 0 else { return nil }
        return estimate
    }

    /// Pushes one COPY text-format line (fields split by tabs, `\N` for NULL, backslash escapes) into `sink`.
    static func readLine<Sink: RowSink>(
        _ line: UnsafeRawBufferPointer, types: [DataType], names: [String], scratch: inout [UInt8],
        into sink: inout Sink
    ) {
        var end = line.count
        if end > 0, line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var start = 0
        for (index, type) in types.enumerated() {
            guard start <= end else {
                return sink.rejectRow(reason: "row has \(index) fields, expected \(types.count)")
            }
            var stop = start
            var escaped = false
            while stop < end, line[stop] != UInt8(ascii: "\t") {
                if line[stop] == UInt8(ascii: "\\") { escaped = true }
                stop += 1
            }
            let field = UnsafeRawBufferPointer(rebasing: line[start..<stop])
            start = stop + 1
            if field.count == 2, field[0] == UInt8(ascii: "\\"), field[1] == UInt8(ascii: "N") {
                sink.appendNull(index)
                continue
            }
            if escaped {
                Self.unescape(field, into: &scratch)
                let ok = scratch.withUnsafeBytes { Self.append(index, type, $0, names: names, into: &sink) }
                guard ok else { return }
            } else {
                guard Self.append(index, type, field, names: names, into: &sink) else { return }
            }
        }
        sink.endRow()
    }

    /// Converts one field to its column's type; false (after rejecting the row) when it does not convert.
    @inline(__always)
    private static func append<Sink: RowSink>(
        _ index: Int, _ type: DataType, _ text: UnsafeRawBufferPointer, names: [String], into sink: inout Sink
    ) -> Bool {
        switch type {
        case .string:
            sink.appendString(index, text)
        case .int64:
            guard let value = Self.parseInt64(text) else {
                sink.rejectRow(reason: "column '\(names[index])': text is not an integer")
                return false
            }
            sink.appendInt64(index, value)
        case .double:
            guard let value = Double(String(decoding: text, as: UTF8.self)) else {
                sink.rejectRow(reason: "column '\(names[index])': text is not a number")
                return false
            }
            sink.appendDouble(index, value)
        case .bool:
            guard text.count == 1, text[0] == UInt8(ascii: "t") || text[0] == UInt8(ascii: "f") else {
                sink.rejectRow(reason: "column '\(names[index])': text is not a boolean")
                return false
            }
            sink.appendBool(index, text[0] == UInt8(ascii: "t"))
        case .timestamp:
            guard let micros = Timestamp.parseMicroseconds(text) else {
                sink.rejectRow(
                    reason: "column '\(names[index])': time out of range (\(String(decoding: text, as: UTF8.self)))")
                return false
            }
            sink.appendTimestamp(index, micros)
        }
        return true
    }

    static func parseInt64(_ text: UnsafeRawBufferPointer) -> Int64? {
        var position = 0
        var negative = false
        if position < text.count, text[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < text.count else { return nil }
        var value: Int64 = 0
        while position < text.count {
            let digit = text[position] &- 0x30
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            position += 1
        }
        return value
    }

    /// Undoes COPY's text escapes: \b \f \n \r \t \v, \\ and any escaped character, \ooo octal and \xhh hex.
    static func unescape(_ field: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        var position = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            case 0x61...0x66: byte - 0x61 + 10
            default: nil
            }
        }
        while position < field.count {
            let byte = field[position]
            position += 1
            guard byte == UInt8(ascii: "\\"), position < field.count else {
                output.append(byte)
                continue
            }
            let next = field[position]
            position += 1
            switch next {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "v"): output.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - 0x30)
                var digits = 1
                while digits < 3, position < field.count, (0x30...0x37).contains(field[position]) {
                    value = value * 8 + Int(field[position] - 0x30)
                    position += 1
                    digits += 1
                }
                output.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                var value: UInt8 = 0
                var digits = 0
                while digits < 2, position < field.count, let nibble = hex(field[position]) {
                    value = value * 16 + nibble
                    position += 1
                    digits += 1
                }
                if digits == 0 { output.append(UInt8(ascii: "x")) } else { output.append(value) }
            default:
                output.append(next)
            }
        }
    }
}

/// The state schema's SQL for PostgreSQL: md5 of the row's text form, folded to 64 bits, as the checksum.
struct PostgresStateDialect: StateDialect {
    static let prefix = "_enrich_state."
    static let createStatements =
        ["CREATE SCHEMA IF NOT EXISTS _enrich_state"] + stateTableStatements(prefix: Self.prefix)
    let from: String
    var statePrefix: String { Self.prefix }
    func keyText(_ column: String) -> String { "(s.\(column))::text" }
    func analyze(_ table: String) -> String? { "ANALYZE \(table)" }
    var fence: String { " OFFSET 0" }
    /// No index: every state query is a hash join over the whole table, and a bulk load without one is 6x faster.
    func rowsTable(_ name: String) -> (create: String, index: String?) {
        ("CREATE TABLE IF NOT EXISTS \(name) (key text NOT NULL, checksum bigint NOT NULL)", nil)
    }
    func tableExists(_ name: String) -> String { "SELECT 1 WHERE to_regclass(\(sqlLiteral(name))) IS NOT NULL" }

    /// `hash_record_extended` over the row: each column hashed by its type's own 64-bit hash, no text output (3x
    /// cheaper than md5 of the row's text). Types without an extended hash function (json, arrays of them,
    /// geometric types, ...) are hashed through their text form.
    func checksum(_ columns: [SourceColumn]) -> String {
        let cells = columns.map { column in
            let reference = "s." + quoteIdentifier(column.name)
            return Self.hashable(column.sourceType) ? reference : "(\(reference))::text"
        }
        return "hash_record_extended(ROW(\(cells.joined(separator: ", "))), 0)"
    }

    static func hashable(_ type: String) -> Bool {
        let exact: Set<String> = [
            "smallint", "integer", "bigint", "oid", "boolean", "real", "double precision", "numeric", "text", "date",
            "timestamp without time zone", "timestamp with time zone", "time without time zone", "uuid", "jsonb",
            "bytea",
            "interval", "name",
        ]
        return exact.contains(type) || type.hasPrefix("character varying") || type.hasPrefix("character(")
            || type.hasPrefix("numeric(") || type.hasPrefix("timestamp(") || type == "character"
    }
}

/// One libpq connection. Not thread-safe: owned by the call that opened it.
final class PostgresConnection: StateDriver {
    private let handle: OpaquePointer

    init(connectionString: String, password: String?, readOnly: Bool) throws(WarehouseError) {
        // Later entries override earlier ones; the expanded connection string comes after our defaults, so its
        // own connect_timeout wins over ours. It holds no password (validated), so the stored one goes last.
        var keys = ["connect_timeout", "application_name", "dbname"]
        var values = [String(PostgresWarehouse.connectTimeoutSeconds), "enrichd", connectionString]
        if let password {
            keys.append("password")
            values.append(password)
        }
        let connection = Self.withCStrings(keys) { keys in
            Self.withCStrings(values) { values in PQconnectdbParams(keys, values, 1) }
        }
        guard let connection else { throw .unavailable("libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.message(connection)
            PQfinish(connection)
            throw .unavailable("cannot connect to PostgreSQL: \(message)")
        }
        self.handle = connection
        try self.execute(
            "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET client_encoding = 'UTF8'; SET client_min_messages = warning"
                + (readOnly ? "; SET default_transaction_read_only = on" : "")
        )
    }

    deinit { PQfinish(self.handle) }

    private static func message(_ connection: OpaquePointer) -> String {
        guard let text = PQerrorMessage(connection) else { return "unknown error" }
        return String(cString: text).trimmingSuffixWhitespace()
    }

    private static func withCStrings<Result>(
        _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result
    ) -> Result {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
        }
    }

    /// The error of a failed result: `unavailable` when the connection is gone, else `readFailed`.
    private func failure(_ result: OpaquePointer?) -> WarehouseError {
        let text = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
        let message = (text.isEmpty ? Self.message(self.handle) : text).trimmingSuffixWhitespace()
        if PQstatus(self.handle) != CONNECTION_OK { return .unavailable("PostgreSQL connection lost: \(message)") }
        return .readFailed(message)
    }

    func execute(_ sql: String) throws(WarehouseError) {
        let result = PQexec(self.handle, sql)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw self.failure(result) }
    }

    /// Runs a query with text parameters and returns every row's cells as text (nil for NULL).
    func rows(_ sql: String, _ parameters: [String?]) throws(WarehouseError) -> [[String?]] {
        var copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let result = copies.withUnsafeMutableBufferPointer { buffer in
            // An empty array need not have a base address; libpq takes NULL for no parameters.
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                return PQexecParams(self.handle, sql, 0, nil, nil, nil, nil, 0)
            }
            return base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                PQexecParams(self.handle, sql, Int32(buffer.count), nil, $0, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else { throw self.failure(result) }
        return (0..<PQntuples(result)).map { row in
            (0..<PQnfields(result)).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            }
        }
    }

    /// The names and type OIDs of a query's result columns.
    func fields(_ sql: String) throws(WarehouseError) -> [(name: String, oid: UInt32)] {
        let result = PQexec(self.handle, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else { throw self.failure(result) }
        return (0..<PQnfields(result)).map { (String(cString: PQfname(result, $0)), UInt32(PQftype(result, $0))) }
    }

    /// Streams `COPY (sql) TO STDOUT` into `sink`.
    func scanQuery<Sink: RowSink>(
        _ sql: String, types: [DataType], names: [String], into sink: inout Sink, progress: (Int) -> Bool
    ) throws(WarehouseError) {
        try self.startCopyOut("COPY (\(sql)) TO STDOUT")
        try self.readCopyRows(types: types, names: names, into: &sink, progress: progress)
    }

    /// Reads a started COPY's lines into `sink`, reporting progress every `progressInterval` rows.
    func readCopyRows<Sink: RowSink>(
        types: [DataType], names: [String], into sink: inout Sink, progress: (Int) -> Bool
    ) throws(WarehouseError) {
        var scratch: [UInt8] = []
        var rows = 0
        var cancelled = false
        try self.readCopyLines { line in
            PostgresWarehouse.readLine(line, types: types, names: names, scratch: &scratch, into: &sink)
            rows += 1
            if rows % progressInterval == 0, !progress(rows) {
                cancelled = true
                return false
            }
            return true
        }
        if cancelled { throw .cancelled }
        _ = progress(rows)
    }

    func rows(_ sql: String) throws(WarehouseError) -> [[String?]] { try self.rows(sql, []) }

    func beginWrite() throws(WarehouseError) {
        try self.execute("COMMIT")
        try self.execute("BEGIN")
    }

    /// `COPY table (columns) FROM STDIN` of text cells, escaped for COPY's text format.
    func insert(into table: String, columns: [String], rows: [[String?]]) throws(WarehouseError) {
        try self.copyIn("COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN", count: rows.count) {
            index, buffer in
            for (column, cell) in rows[index].enumerated() {
                if column > 0 { buffer.append(UInt8(ascii: "\t")) }
                if let cell {
                    Self.appendEscaped(cell, to: &buffer)
                } else {
                    buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                }
            }
        }
    }

    func insertChecksums(into table: String, _ rows: [RowChecksum]) throws(WarehouseError) {
        try self.copyIn("COPY \(table) (key, checksum) FROM STDIN", count: rows.count) { index, buffer in
            Self.appendEscaped(rows[index].key, to: &buffer)
            buffer.append(UInt8(ascii: "\t"))
            buffer.append(contentsOf: String(rows[index].checksum).utf8)
        }
    }

    /// Escapes a cell for COPY's text format.
    private static func appendEscaped(_ cell: String, to buffer: inout [UInt8]) {
        for byte in cell.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.append(byte)
            }
        }
    }

    /// Runs a `COPY ... FROM STDIN` and feeds it `count` lines written by `line` (without the newline), in 64 KiB
    /// messages.
    private func copyIn(_ sql: String, count: Int, line: (Int, inout [UInt8]) -> Void) throws(WarehouseError) {
        guard count > 0 else { return }
        let result = PQexec(self.handle, sql)
        let status = PQresultStatus(result)
        if status != PGRES_COPY_IN {
            let error = self.failure(result)
            PQclear(result)
            throw error
        }
        PQclear(result)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 17)
        func flush() -> Bool {
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer.withUnsafeBufferPointer { bytes in
                bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    PQputCopyData(self.handle, $0, Int32(bytes.count)) == 1
                }
            }
        }
        var ok = true
        for index in 0..<count where ok {
            line(index, &buffer)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 16 { ok = flush() }
        }
        if ok, !buffer.isEmpty { ok = flush() }
        guard ok, PQputCopyEnd(self.handle, nil) == 1 else { throw self.failure(nil) }
        var failure: WarehouseError?
        while let result = PQgetResult(self.handle) {
            if failure == nil, PQresultStatus(result) != PGRES_COMMAND_OK { failure = self.failure(result) }
            PQclear(result)
        }
        if let failure { throw failure }
    }

    func startCopyOut(_ sql: String) throws(WarehouseError) {
        let result = PQexec(self.handle, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_OUT else { throw self.failure(result) }
    }

    /// Hands each COPY line to `body` until the copy ends or `body` returns false (the connection is then
    /// closed with the rest unread).
    func readCopyLines(_ body: (UnsafeRawBufferPointer) -> Bool) throws(WarehouseError) {
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let count = PQgetCopyData(self.handle, &buffer, 0)
            if count > 0, let buffer {
                let keepGoing = body(UnsafeRawBufferPointer(start: buffer, count: Int(count)))
                PQfreemem(buffer)
                if !keepGoing { return }
            } else if count == -1 {
                break
            } else {
                throw self.failure(nil)
            }
        }
        // The copy's own outcome (an error part-way, e.g. a division by zero in a query, shows up here).
        var failure: WarehouseError?
        while let result = PQgetResult(self.handle) {
            if failure == nil, PQresultStatus(result) != PGRES_COMMAND_OK { failure = self.failure(result) }
            PQclear(result)
        }
        if let failure { throw failure }
    }
}

extension String {
    fileprivate func trimmingSuffixWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
