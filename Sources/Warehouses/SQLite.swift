import GRDBSQLite
import ModelCache

// The only file in Warehouses that calls SQLite's C API. It is used directly (not through GRDB) so a scan reads
// each cell straight into the snapshot builder without boxing it.

/// An open SQLite connection, closed when released. Not shared between threads.
final class SQLiteConnection: StateDriver {
    let handle: OpaquePointer

    /// Opens `path`. `create` makes the file when missing; otherwise a missing file is an error.
    init(path: String, create: Bool, readOnly: Bool = false) throws(WarehouseError) {
        var handle: OpaquePointer?
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw .unavailable("cannot open SQLite file '\(path)': \(message)")
        }
        self.handle = handle
        sqlite3_busy_timeout(handle, 5_000)
    }

    deinit {
        sqlite3_close_v2(self.handle)
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(self.handle)) }

    func execute(_ sql: String) throws(WarehouseError) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(self.handle, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? self.errorMessage
            sqlite3_free(error)
            throw .readFailed(message)
        }
    }

    func rows(_ sql: String) throws(WarehouseError) -> [[String?]] {
        let statement = try self.prepare(sql)
        var rows: [[String?]] = []
        while try statement.step() {
            rows.append(
                (0..<statement.columnCount).map { index in
                    statement.storage(index) == .null
                        ? nil : statement.withText(index) { String(decoding: $0, as: UTF8.self) }
                })
        }
        return rows
    }

    func insert(into table: String, columns: [String], rows: [[String?]]) throws(WarehouseError) {
        guard !rows.isEmpty else { return }
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        let statement = try self.prepare(
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))")
        for row in rows {
            for (index, cell) in row.enumerated() {
                if let cell { statement.bind(index + 1, cell) } else { statement.bindNull(index + 1) }
            }
            _ = try statement.step()
            statement.reset()
        }
    }

    func insertChecksums(into table: String, _ rows: [RowChecksum]) throws(WarehouseError) {
        guard !rows.isEmpty else { return }
        let statement = try self.prepare("INSERT INTO \(table) (key, checksum) VALUES (?1, ?2)")
        for row in rows {
            statement.bind(1, row.key)
            statement.bind(2, row.checksum)
            _ = try statement.step()
            statement.reset()
        }
    }

    func scanQuery<Sink: RowSink>(
        _ sql: String, types: [DataType], names: [String], into sink: inout Sink, progress: (Int) -> Bool
    ) throws(WarehouseError) {
        let statement = try self.prepare(sql)
        var rows = 0
        while try statement.step() {
            SQLiteWarehouse.readRow(statement, types: types, names: names, into: &sink)
            rows += 1
            if rows % progressInterval == 0, !progress(rows) { throw .cancelled }
        }
        _ = progress(rows)
    }

    func beginWrite() throws(WarehouseError) { try self.execute("BEGIN IMMEDIATE") }

    /// Registers `enrich_checksum(...)`: a 64-bit hash of its arguments' storage classes and bytes, eight
    /// bytes at a time (multiply-xorshift mixing, the finalizer of MurmurHash3 at the end).
    func registerChecksumFunction() {
        sqlite3_create_function_v2(
            self.handle, "enrich_checksum", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil,
            { context, count, values in
                var hash: UInt64 = 0x9e37_79b9_7f4a_7c15
                @inline(__always) func mix(_ word: UInt64) {
                    hash = (hash ^ word) &* 0xff51_afd7_ed55_8ccd
                    hash ^= hash >> 32
                }
                for index in 0..<Int(count) {
                    let value = values![index]
                    let type = sqlite3_value_type(value)
                    switch type {
                    case SQLITE_INTEGER: mix(UInt64(bitPattern: sqlite3_value_int64(value)) &+ 1)
                    case SQLITE_FLOAT: mix(sqlite3_value_double(value).bitPattern ^ 0x2)
                    case SQLITE_TEXT, SQLITE_BLOB:
                        let pointer =
                            type == SQLITE_TEXT
                            ? UnsafeRawPointer(sqlite3_value_text(value)) : sqlite3_value_blob(value)
                        let bytes = Int(sqlite3_value_bytes(value))
                        mix(UInt64(bytes) << 8 | UInt64(type))
                        guard let pointer else { continue }
                        var offset = 0
                        while offset + 8 <= bytes {
                            mix(pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                            offset += 8
                        }
                        var tail: UInt64 = 0
                        var shift: UInt64 = 0
                        while offset < bytes {
                            tail |= UInt64(pointer.load(fromByteOffset: offset, as: UInt8.self)) << shift
                            shift += 8
                            offset += 1
                        }
                        mix(tail)
                    default: mix(0x5)  // NULL
                    }
                }
                hash ^= hash >> 33
                hash &*= 0xc4ce_b9fe_1a85_ec53
                hash ^= hash >> 33
                sqlite3_result_int64(context, Int64(bitPattern: hash))
            }, nil, nil, nil
        )
    }

    func prepare(_ sql: String) throws(WarehouseError) -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(self.handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw .invalidQuery(self.errorMessage)
        }
        return SQLiteStatement(statement: statement, connection: self)
    }
}

/// The storage class SQLite reports for a cell.
enum SQLiteStorage {
    case integer
    case float
    case text
    case blob
    case null
}

/// A prepared statement, finalized when released.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private let connection: SQLiteConnection

    init(statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(self.statement)
    }

    var columnCount: Int { Int(sqlite3_column_count(self.statement)) }

    func columnName(_ index: Int) -> String { String(cString: sqlite3_column_name(self.statement, Int32(index))) }

    /// The declared type of a result column that comes straight from a table column, or nil for expressions.
    func declaredType(_ index: Int) -> String? {
        sqlite3_column_decltype(self.statement, Int32(index)).map { String(cString: $0) }
    }

    /// Advances to the next row: true for a row, false when done.
    /// - Throws: `.readFailed` with SQLite's message (SQLITE_BUSY past the timeout, I/O errors, ...).
    func step() throws(WarehouseError) -> Bool {
        switch sqlite3_step(self.statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw .readFailed(self.connection.errorMessage)
        }
    }

    func reset() {
        sqlite3_reset(self.statement)
    }

    func bind(_ index: Int, _ value: Int64) { sqlite3_bind_int64(self.statement, Int32(index), value) }
    func bind(_ index: Int, _ value: Double) { sqlite3_bind_double(self.statement, Int32(index), value) }
    func bindNull(_ index: Int) { sqlite3_bind_null(self.statement, Int32(index)) }
    func bind(_ index: Int, _ value: String) {
        // SQLITE_TRANSIENT (-1) makes SQLite copy the text before this call returns.
        sqlite3_bind_text(self.statement, Int32(index), value, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    @inline(__always)
    func storage(_ index: Int) -> SQLiteStorage {
        switch sqlite3_column_type(self.statement, Int32(index)) {
        case SQLITE_INTEGER: .integer
        case SQLITE_FLOAT: .float
        case SQLITE_TEXT: .text
        case SQLITE_BLOB: .blob
        default: .null
        }
    }

    @inline(__always)
    func int64(_ index: Int) -> Int64 { sqlite3_column_int64(self.statement, Int32(index)) }

    @inline(__always)
    func double(_ index: Int) -> Double { sqlite3_column_double(self.statement, Int32(index)) }

    /// The cell as UTF-8 text (SQLite converts numbers), valid only until the next step.
    @inline(__always)
    func withText<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let pointer = sqlite3_column_text(self.statement, Int32(index))
        let count = Int(sqlite3_column_bytes(self.statement, Int32(index)))
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
