import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// The server's own state in SQLite: models and sync runs (later: destinations, tokens, audit).
///
/// Every write is one transaction. Migrations are named and append-only: a released migration is never edited,
/// a change is a new one.
package final class Catalog: Sendable {
    let database: DatabaseQueue
    /// Seals warehouse passwords before they are stored and opens them when read; nil stores them as given (tests
    /// on in-memory catalogs).
    let sealer: (any SecretSealer)?

    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    /// - Parameter sealer: what seals stored secrets (warehouse passwords).
    /// - Throws: `CatalogError.storage` when the file cannot be opened or migrated.
    package init(path: String, sealer: (any SecretSealer)? = nil) throws(CatalogError) {
        self.sealer = sealer
        do {
            if path != ":memory:" {
                // Created 0600 before SQLite opens it: SQLite gives the WAL and shared-memory files the database
                // file's mode, so none of the three is ever readable by another user, whatever the umask.
                let descriptor = open(path, O_RDWR | O_CREAT, 0o600)
                guard descriptor >= 0 else {
                    throw CatalogError.storage("cannot create '\(path)': \(String(cString: strerror(errno)))")
                }
                close(descriptor)
                _ = chmod(path, 0o600)
                for suffix in ["-wal", "-shm"] { _ = chmod(path + suffix, 0o600) }
            }
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(5)
            self.database = try DatabaseQueue(path: path, configuration: configuration)
            try self.database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                // Deleted and overwritten content is zeroed, so a replaced secret does not linger in free pages.
                try db.execute(sql: "PRAGMA secure_delete = ON")
            }
            try Self.migrator.migrate(self.database)
        } catch let error as CatalogError {
            throw error
        } catch {
            throw .storage("cannot open catalog at '\(path)': \(error)")
        }
    }

    /// A catalog in memory, for tests.
    package static func inMemory() throws(CatalogError) -> Catalog { try Catalog(path: ":memory:") }

    /// The applied migrations, in order.
    package func appliedMigrations() throws(CatalogError) -> [String] {
        try self.read { try Self.migrator.appliedMigrations($0) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_models_and_sync_runs") { db in
            try db.create(table: "model") { t in
                t.primaryKey("name", .text)
                t.column("warehouse", .text).notNull()
                t.column("source_table", .text).notNull()
                t.column("source_query", .text).notNull()
                t.column("primary_key", .text).notNull()
                t.column("columns", .jsonText).notNull()
                t.column("created_at_ms", .integer).notNull()
                t.column("version", .integer).notNull()
            }
            try db.create(table: "sync_run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("model", .text).notNull().indexed().references("model", onDelete: .cascade)
                t.column("status", .text).notNull()
                t.column("phase", .text).notNull()
                t.column("started_at_ms", .integer).notNull()
                t.column("finished_at_ms", .integer)
                t.column("rows_expected", .integer).notNull()
                t.column("rows_read", .integer).notNull()
                t.column("rows_added", .integer).notNull()
                t.column("rows_changed", .integer).notNull()
                t.column("rows_removed", .integer).notNull()
                t.column("rows_failed", .integer).notNull()
                t.column("error", .text)
                t.column("issues", .jsonText).notNull()
            }
        }
        Self.registerDestinationMigrations(&migrator)
        Self.registerTokenMigrations(&migrator)
        Self.registerAuditMigrations(&migrator)
        Self.registerScheduleMigrations(&migrator)
        Self.registerWarehouseMigrations(&migrator)
        migrator.registerMigration("v8_interrupted_runs") { db in
            try db.alter(table: "sync_run") { t in t.add(column: "interrupted", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v9_cancelled_runs") { db in
            try db.alter(table: "sync_run") { t in t.add(column: "cancelled", .boolean).notNull().defaults(to: false) }
        }
        return migrator
    }

    // MARK: - Access

    func read<T>(_ body: (Database) throws -> T) throws(CatalogError) -> T {
        do { return try self.database.read(body) } catch { throw Self.wrap(error) }
    }

    /// One transaction. Under a `CommitDeadline`, the transaction checks the deadline as its last step and rolls
    /// back when it has passed, so a caller told "deadline exceeded" knows nothing was changed.
    func write<T>(_ body: (Database) throws -> T) throws(CatalogError) -> T {
        // Read here, on the caller's task: GRDB may run the closure on its own queue's thread.
        let deadline = CommitDeadline.current
        do {
            return try self.database.write { db in
                let result = try body(db)
                if let deadline, ContinuousClock.now >= deadline { throw CatalogError.deadlineExceeded }
                return result
            }
        } catch {
            throw Self.wrap(error)
        }
    }

    private static func wrap(_ error: any Error) -> CatalogError {
        if let error = error as? CatalogError { return error }
        return .storage("\(error)")
    }

    // MARK: - Models

    /// Stores a new model.
    /// - Throws: `.modelAlreadyExists` when the name is taken.
    package func createModel(_ model: ModelRecord) throws(CatalogError) {
        try self.write { db in
            if try ModelRecord.exists(db, key: model.name) { throw CatalogError.modelAlreadyExists(name: model.name) }
            try model.insert(db)
        }
    }

    /// The model called `name`.
    /// - Throws: `.modelNotFound`.
    package func model(named name: String) throws(CatalogError) -> ModelRecord {
        guard let model = try self.read({ try ModelRecord.fetchOne($0, key: name) }) else {
            throw .modelNotFound(name: name)
        }
        return model
    }

    /// Models in name order, starting after `name` (exclusive), at most `limit`, optionally only names with a
    /// prefix.
    package func listModels(after name: String?, limit: Int, prefix: String = "") throws(CatalogError) -> [ModelRecord]
    {
        try self.read { db in
            var request = ModelRecord.order(Column("name"))
            if let name { request = request.filter(Column("name") > name) }
            if !prefix.isEmpty { request = request.filter(Column("name").like(Self.likePattern(prefix), escape: "\\")) }
            return try request.limit(limit).fetchAll(db)
        }
    }

    /// Replaces a model's introspected columns and bumps its version.
    package func updateColumns(model name: String, columns: [CatalogColumn]) throws(CatalogError) {
        try self.write { db in
            guard var model = try ModelRecord.fetchOne(db, key: name) else {
                throw CatalogError.modelNotFound(name: name)
            }
            guard model.columns != columns else { return }
            model.columns = columns
            model.version += 1
            try model.update(db)
        }
    }

    /// Replaces a model's source and key (and columns) when its version is `expectedVersion` (0 skips the
    /// check), bumping the version.
    /// - Throws: `.modelNotFound`, `.versionConflict`.
    package func updateModel(_ model: ModelRecord, expectedVersion: Int64) throws(CatalogError) -> ModelRecord {
        try self.write { db in
            guard let stored = try ModelRecord.fetchOne(db, key: model.name) else {
                throw CatalogError.modelNotFound(name: model.name)
            }
            if expectedVersion != 0 && expectedVersion != stored.version {
                throw CatalogError.versionConflict(name: model.name, expected: expectedVersion, actual: stored.version)
            }
            var updated = model
            updated.createdAtMilliseconds = stored.createdAtMilliseconds
            updated.version = stored.version + 1
            try updated.update(db)
            return updated
        }
    }

    /// The destination mappings that match on `model`, as (destination, mapping) names.
    package func mappingsUsing(model: String) throws(CatalogError) -> [(destination: String, mapping: String)] {
        try self.read { db in
            try DestinationMappingRow.order(Column("destination"), Column("position")).fetchAll(db)
                .filter { row in row.matches.contains { $0.model == model } }
                .map { (destination: $0.destination, mapping: $0.name) }
        }
    }

    /// Deletes a model and its sync runs, unless a destination mapping uses it.
    /// - Throws: `.modelNotFound`, `.modelInUse` naming the mappings.
    package func deleteModel(name: String) throws(CatalogError) {
        try self.write { db in
            guard try ModelRecord.exists(db, key: name) else { throw CatalogError.modelNotFound(name: name) }
            let users = try DestinationMappingRow.fetchAll(db).filter { $0.matches.contains { $0.model == name } }
            guard users.isEmpty else {
                throw CatalogError.modelInUse(name: name, by: users.map { "\($0.destination)/\($0.name)" })
            }
            _ = try ModelRecord.deleteOne(db, key: name)
        }
    }

    /// A LIKE pattern matching names that start with `prefix`, with LIKE's wildcards escaped.
    static func likePattern(_ prefix: String) -> String {
        var pattern = ""
        for character in prefix {
            if character == "%" || character == "_" || character == "\\" { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern + "%"
    }

    // MARK: - Sync runs

    /// Records a new run in progress and returns it with its id.
    package func startRun(model: String, at milliseconds: Int64) throws(CatalogError) -> SyncRunRecord {
        try self.write { db in
            guard try ModelRecord.exists(db, key: model) else { throw CatalogError.modelNotFound(name: model) }
            var run = SyncRunRecord(model: model, startedAtMilliseconds: milliseconds)
            try run.insert(db)
            return run
        }
    }

    /// Saves a run's counters, phase and status.
    package func saveRun(_ run: SyncRunRecord) throws(CatalogError) {
        try self.write { db in
            guard run.id != nil else { throw CatalogError.runNotFound(id: 0) }
            try run.update(db)
        }
    }

    /// The run with this id.
    /// - Throws: `.runNotFound`.
    package func run(id: Int64) throws(CatalogError) -> SyncRunRecord {
        guard let run = try self.read({ try SyncRunRecord.fetchOne($0, key: id) }) else { throw .runNotFound(id: id) }
        return run
    }

    /// A model's runs, newest first.
    /// The latest `limit` runs of `model`, or of every model when `model` is empty, newest first.
    package func runs(model: String, limit: Int) throws(CatalogError) -> [SyncRunRecord] {
        try self.read { db in
            let all = SyncRunRecord.order(Column("id").desc)
            return try (model.isEmpty ? all : all.filter(Column("model") == model)).limit(limit).fetchAll(db)
        }
    }

    /// The latest run of each model that has one, keyed by model.
    package func latestRuns() throws(CatalogError) -> [String: SyncRunRecord] {
        try self.read { db in
            let runs = try SyncRunRecord.fetchAll(
                db, sql: "SELECT * FROM sync_run WHERE id IN (SELECT MAX(id) FROM sync_run GROUP BY model)")
            return Dictionary(runs.map { ($0.model, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Marks runs a previous process left in progress (it crashed or was killed) as failed and interrupted, then
    /// returns every model whose latest run was interrupted, by a crash or by a stop, so the caller can run them
    /// again.
    package func failInterruptedRuns(at milliseconds: Int64) throws(CatalogError) -> [String] {
        try self.write { db in
            try db.execute(
                sql: """
                    UPDATE sync_run SET status = ?, finished_at_ms = ?, error = ?, interrupted = 1
                    WHERE status = ?
                    """,
                arguments: [
                    RunStatus.failed.rawValue, milliseconds, "interrupted: the server stopped during the run",
                    RunStatus.inProgress.rawValue,
                ]
            )
            return try String.fetchAll(
                db,
                sql: """
                    SELECT r.model FROM sync_run r
                    WHERE r.interrupted = 1 AND r.id = (SELECT MAX(id) FROM sync_run WHERE model = r.model)
                    ORDER BY r.model
                    """
            )
        }
    }
}
