import Catalog
import EnrichPolicy
import GRDB
import Logging
import ModelCache
import RPCTesting
import SyncEngine
import Testing
import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

/// A catalog, cache and engine over a SQLite warehouse file in a fresh directory.
struct SyncFixture {
    let directory = TemporaryDirectory()
    let catalog: Catalog
    let cache = ModelCache()
    let engine: SyncEngine
    let warehousePath: String
    let logs = LogCapture()

    var snapshotDirectory: String { self.directory.file("snapshots") }

    init(
        limits: SyncEngine.Limits = SyncEngine.Limits(), setup: String,
        now: @escaping @Sendable () -> Int64 = { Int64(WallClock.wallMilliseconds()) }
    ) throws {
        self.warehousePath = self.directory.file("warehouse.sqlite")
        let queue = try DatabaseQueue(path: self.warehousePath)
        try queue.write { try $0.execute(sql: setup) }
        self.catalog = try Catalog(path: self.directory.file("catalog.sqlite"))
        self.engine = SyncEngine(
            catalog: self.catalog, cache: self.cache,
            warehouses: ["embedded": SQLiteWarehouse(path: self.warehousePath)],
            limits: limits, snapshotFiles: SnapshotFiles(directory: self.directory.file("snapshots")),
            logger: self.logs.logger(),
            now: now
        )
    }

    func execute(_ sql: String) throws {
        try DatabaseQueue(path: self.warehousePath).write { try $0.execute(sql: sql) }
    }

    func addModel(_ name: String, table: String = "", query: String = "", key: String) throws {
        try self.catalog.createModel(
            ModelRecord(
                name: name, warehouse: "embedded", sourceTable: table, sourceQuery: query, primaryKey: key, columns: [],
                createdAtMilliseconds: 0
            ))
    }

    /// Rows of a warehouse query, as text.
    func query(_ sql: String) throws -> [[String?]] {
        try DatabaseQueue(path: self.warehousePath).read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                (0..<row.count).map { index -> String? in
                    switch (row[index] as DatabaseValue).storage {
                    case .null: nil
                    case .int64(let value): String(value)
                    case .double(let value): String(value)
                    case .string(let value): value
                    case .blob: "<blob>"
                    }
                }
            }
        }
    }

    /// Triggers a sync and waits for it to finish.
    func sync(_ model: String, full: Bool = false) async throws -> SyncRunRecord {
        let run = try await self.engine.trigger(model: model, full: full)
        await self.engine.waitForRuns()
        return try self.catalog.run(id: run.id!)
    }
}

@Suite("Sync engine on the SQLite warehouse")
struct SyncEngineTests {
    static let users = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, score REAL, active BOOLEAN, seen TIMESTAMP);
        INSERT INTO users VALUES (1, 'a@x.io', 1.5, 1, '2024-01-02 03:04:05');
        INSERT INTO users VALUES (2, NULL, NULL, 0, '2024-01-02T03:04:05.250Z');
        INSERT INTO users VALUES (3, 'c@x.io', 3, 'true', 1700000000);
        """

    @Test("A full sync publishes typed columns and records a successful run")
    func fullSync() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        let run = try await fixture.sync("users")
        #expect(run.status == .success)
        #expect(run.phase == .done)
        #expect(run.rowsRead == 3 && run.rowsAdded == 3 && run.rowsFailed == 0)
        let snapshot = try #require(fixture.cache.snapshot(of: "users"))
        let row2 = try #require(snapshot.row(for: .int(2)))
        #expect(
            snapshot.columns.map { $0.value(at: row2) } == [
                .int64(2), .null, .null, .bool(false), .timestamp(1_704_164_645_250_000),
            ])
        let row3 = try #require(snapshot.row(for: .string("3")))
        #expect(snapshot.columns[3].value(at: row3) == .bool(true))
        #expect(snapshot.columns[4].value(at: row3) == .timestamp(1_700_000_000_000_000))
        #expect(
            try fixture.catalog.model(named: "users").columns.map(\.type) == [
                "int64", "string", "double", "bool", "timestamp",
            ])
    }

    @Test("Duplicate keys, NULL keys and unconvertible values make a partial success that lists the rows")
    func partialSuccess() async throws {
        let fixture = try SyncFixture(
            setup: """
                CREATE TABLE t (k TEXT, n INTEGER);
                INSERT INTO t VALUES ('a', 1), ('b', 2), ('a', 3), (NULL, 4), ('c', 'seven');
                """)
        try fixture.addModel("t", table: "t", key: "k")
        let run = try await fixture.sync("t")
        #expect(run.status == .partialSuccess)
        #expect(run.rowsRead == 5)
        #expect(run.rowsAdded == 2 && run.rowsFailed == 3)
        #expect(
            run.issues == [
                RunIssueRecord(
                    rowNumber: 3, key: "a", reason: "duplicate primary key (attempt 1 of 5; retried on the next sync)",
                    attempt: 1, givenUp: false),
                RunIssueRecord(rowNumber: 4, key: nil, reason: "primary key is NULL"),
                RunIssueRecord(
                    rowNumber: 5, key: "c",
                    reason: "column 'n': text is not an integer (attempt 1 of 5; retried on the next sync)",
                    attempt: 1, givenUp: false),
            ])
        #expect(fixture.cache.snapshot(of: "t")?.rowCount == 2)
    }

    @Test("A table that disappears fails the run and the previous snapshot keeps being served")
    func tableDisappears() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        _ = try await fixture.sync("users")
        let before = try #require(fixture.cache.snapshot(of: "users"))
        try fixture.execute("DROP TABLE users")
        let run = try await fixture.sync("users")
        #expect(run.status == .failed)
        #expect(run.error == "table 'users' does not exist in the warehouse")
        #expect(fixture.cache.snapshot(of: "users") === before)
        // One error line with the cause; the successful run before it logged none.
        let errors = fixture.logs.messages.filter { $0.hasPrefix("error:") }
        #expect(errors == ["error: sync of users failed: table 'users' does not exist in the warehouse"])
    }

    @Test("A warehouse that cannot be opened fails the run with the reason")
    func warehouseDown() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        let engine = SyncEngine(
            catalog: fixture.catalog, cache: fixture.cache,
            warehouses: ["embedded": SQLiteWarehouse(path: fixture.directory.file("missing.sqlite"))],
            logger: Logger(label: "t")
        )
        let started = try await engine.trigger(model: "users")
        await engine.waitForRuns()
        let run = try fixture.catalog.run(id: started.id!)
        #expect(run.status == .failed)
        #expect(run.error?.hasPrefix("warehouse unavailable: cannot open SQLite file") == true)
        #expect(fixture.cache.snapshot(of: "users") == nil)
    }

    @Test("A model can read a SQL query")
    func queryModel() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel(
            "active", query: "SELECT id, email, id * 10 AS tens FROM users WHERE active = 1", key: "id")
        let run = try await fixture.sync("active")
        #expect(run.status == .success)
        let snapshot = try #require(fixture.cache.snapshot(of: "active"))
        #expect(snapshot.rowCount == 1)
        #expect(snapshot.schema.map(\.type) == [.int64, .string, .int64])
        #expect(snapshot.row(for: .int(1)).map { snapshot.columns[2].value(at: $0) } == .int64(10))
    }

    @Test("A second trigger while a run is going is refused, not doubled")
    func oneRunAtATime() async throws {
        let fixture = try SyncFixture(setup: "CREATE TABLE t (k INTEGER PRIMARY KEY)")
        try DemoData.generate(path: fixture.warehousePath, sizes: .init(users: 50_000, products: 0))
        try fixture.addModel("users", table: "users", key: "id")
        let first = try await fixture.engine.trigger(model: "users")
        await #expect(throws: SyncError.alreadyRunning(model: "users", runID: first.id!)) {
            try await fixture.engine.trigger(model: "users")
        }
        await fixture.engine.waitForRuns()
        #expect(try fixture.catalog.run(id: first.id!).status == .success)
        #expect(try await fixture.engine.trigger(model: "users").id == first.id! + 1)
        await fixture.engine.waitForRuns()
    }

    @Test("Watching a run streams progress and ends with its final state")
    func watch() async throws {
        let fixture = try SyncFixture(setup: "CREATE TABLE t (k INTEGER PRIMARY KEY)")
        try DemoData.generate(path: fixture.warehousePath, sizes: .init(users: 40_000, products: 0))
        try fixture.addModel("users", table: "users", key: "id")
        let run = try await fixture.engine.trigger(model: "users")
        var states: [SyncRunRecord] = []
        for await state in try await fixture.engine.watch(id: run.id!) { states.append(state) }
        #expect(states.last?.status == .success)
        #expect(states.last?.rowsAdded == 40_000)
        #expect(states.map(\.rowsRead) == states.map(\.rowsRead).sorted())
        let again = try await fixture.engine.watch(id: run.id!)
        var count = 0
        for await _ in again { count += 1 }
        #expect(count == 1)
    }

    @Test("Column limit: N columns are accepted, N+1 refused; the key must be a column of a key type")
    func introspectionChecks() async throws {
        let fixture = try SyncFixture(
            limits: SyncEngine.Limits(maxColumns: 3),
            setup:
                "CREATE TABLE three (a INTEGER, b TEXT, c REAL); CREATE TABLE four (a INTEGER, b TEXT, c REAL, d TEXT);"
        )
        let columns = try await fixture.engine.introspect(
            warehouse: "embedded", source: .table("three"), primaryKey: "a")
        #expect(columns.count == 3)
        await #expect(throws: SyncError.tooManyColumns(count: 4, limit: 3)) {
            try await fixture.engine.introspect(warehouse: "embedded", source: .table("four"), primaryKey: "a")
        }
        await #expect(throws: SyncError.primaryKeyNotAColumn(key: "z", columns: ["a", "b", "c"])) {
            try await fixture.engine.introspect(warehouse: "embedded", source: .table("three"), primaryKey: "z")
        }
        await #expect(throws: SyncError.unsupportedKeyType(key: "c", type: .double)) {
            try await fixture.engine.introspect(warehouse: "embedded", source: .table("three"), primaryKey: "c")
        }
        await #expect(throws: SyncError.warehouse(.sourceNotFound("nope"))) {
            try await fixture.engine.introspect(warehouse: "embedded", source: .table("nope"), primaryKey: "a")
        }
        await #expect(throws: SyncError.unknownWarehouse("pg")) {
            try await fixture.engine.introspect(warehouse: "pg", source: .table("three"), primaryKey: "a")
        }
    }

    @Test("A re-sync counts rows added, changed and removed against the snapshot it replaces")
    func diffCounts() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        let first = try await fixture.sync("users")
        #expect((first.rowsAdded, first.rowsChanged, first.rowsRemoved) == (3, 0, 0))
        // Re-syncs read only what changed, found by the checksums kept in the warehouse.
        let unchanged = try await fixture.sync("users")
        #expect((unchanged.rowsRead, unchanged.rowsAdded, unchanged.rowsChanged, unchanged.rowsRemoved) == (0, 0, 0, 0))
        try fixture.execute(
            """
            INSERT INTO users VALUES (4, 'd@x.io', 4, 1, '2024-01-01');
            UPDATE users SET email = 'new@x.io' WHERE id = 1;
            DELETE FROM users WHERE id = 2;
            """)
        let changed = try await fixture.sync("users")
        #expect((changed.rowsRead, changed.rowsAdded, changed.rowsChanged, changed.rowsRemoved) == (2, 1, 1, 1))
        #expect(fixture.cache.snapshot(of: "users")?.row(for: .int(2)) == nil)
    }

    @Test("Row size limit: a row of exactly the limit is kept, one byte more is left out and reported")
    func rowSizeLimit() async throws {
        // id (8) + score (8) + text: 8 + 8 + 84 = 100 bytes at the limit.
        let fixture = try SyncFixture(
            limits: SyncEngine.Limits(maxRowBytes: 100),
            setup: """
                CREATE TABLE t (id INTEGER PRIMARY KEY, score REAL, text TEXT);
                INSERT INTO t VALUES (1, 1.0, '\(String(repeating: "a", count: 84))');
                INSERT INTO t VALUES (2, 1.0, '\(String(repeating: "b", count: 85))');
                """
        )
        try fixture.addModel("t", table: "t", key: "id")
        let run = try await fixture.sync("t")
        #expect(run.status == .partialSuccess && run.rowsAdded == 1 && run.rowsFailed == 1)
        #expect(
            run.issues == [
                RunIssueRecord(
                    rowNumber: 2, key: "2",
                    reason: "row is 101 bytes; the limit is 100 (attempt 1 of 5; retried on the next sync)",
                    attempt: 1, givenUp: false)
            ])
    }

    @Test("Row cap: N rows sync, N+1 fail the run and leave the served snapshot alone")
    func rowCap() async throws {
        let fixture = try SyncFixture(limits: SyncEngine.Limits(maxRows: 3), setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        #expect(try await fixture.sync("users").status == .success)
        try fixture.execute("INSERT INTO users VALUES (4, 'd@x.io', 4, 1, '2024-01-01')")
        let over = try await fixture.sync("users")
        #expect(over.status == .failed)
        #expect(over.error == "the source has more than 3 rows, the model row limit")
        #expect(fixture.cache.snapshot(of: "users")?.rowCount == 3)
    }

    @Test("A published snapshot is persisted, and a fresh engine serves it with the warehouse gone")
    func persistedSnapshots() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        _ = try await fixture.sync("users")
        try fixture.execute("DROP TABLE users")
        let cache = ModelCache()
        let restarted = SyncEngine(
            catalog: fixture.catalog, cache: cache, warehouses: [:],
            snapshotFiles: SnapshotFiles(directory: fixture.snapshotDirectory), logger: Logger(label: "t")
        )
        #expect(await restarted.loadPersistedSnapshots(models: ["users", "ghost"]) == ["users"])
        let snapshot = try #require(cache.snapshot(of: "users"))
        #expect(snapshot.rowCount == 3 && snapshot.row(for: .int(3)) != nil)
        #expect(snapshot.columns[1].value(at: snapshot.row(for: .int(1))!) == .string("a@x.io"))
    }

    @Test(
        "A snapshot that cannot be saved (ENOSPC) makes a partial success naming the OS error; the previous file stays and is what a restart serves"
    )
    func snapshotSaveFails() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        #expect(try await fixture.sync("users").status == .success)
        try fixture.execute("INSERT INTO users VALUES (4, 'd@x.io', 4, 1, 1700000001)")
        let failing = SyncEngine(
            catalog: fixture.catalog, cache: fixture.cache,
            warehouses: ["embedded": SQLiteWarehouse(path: fixture.warehousePath)],
            snapshotFiles: .failing(directory: fixture.snapshotDirectory, errno: ENOSPC), logger: Logger(label: "t")
        )
        let started = try await failing.trigger(model: "users")
        await failing.waitForRuns()
        let run = try fixture.catalog.run(id: started.id!)
        #expect(run.status == .partialSuccess)
        #expect(run.error?.contains("could not be saved to disk (write ") == true)
        #expect(run.error?.contains("No space left on device") == true, "\(run.error ?? "")")
        #expect(fixture.cache.snapshot(of: "users")?.rowCount == 4, "the new snapshot is served")
        let restarted = ModelCache()
        let engine = SyncEngine(
            catalog: fixture.catalog, cache: restarted, warehouses: [:],
            snapshotFiles: SnapshotFiles(directory: fixture.snapshotDirectory), logger: Logger(label: "t")
        )
        #expect(await engine.loadPersistedSnapshots(models: ["users"]) == ["users"])
        #expect(restarted.snapshot(of: "users")?.rowCount == 3, "a restart serves the last file that was saved whole")
        let leftovers = try #require(opendir(fixture.snapshotDirectory))
        defer { closedir(leftovers) }
        var names: [String] = []
        while let entry = readdir(leftovers) {
            names.append(
                withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        #expect(!names.contains { $0.hasSuffix(".tmp") })
    }

    @Test("A corrupt snapshot file is skipped, not served")
    func corruptSnapshotFile() async throws {
        let fixture = try SyncFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        _ = try await fixture.sync("users")
        let path = SnapshotFiles(directory: fixture.snapshotDirectory).path(for: "users")
        let file = fopen(path, "r+")
        fseek(file, 40, SEEK_SET)
        fputs("garbage garbage garbage", file)
        fclose(file)
        let cache = ModelCache()
        let restarted = SyncEngine(
            catalog: fixture.catalog, cache: cache, warehouses: [:],
            snapshotFiles: SnapshotFiles(directory: fixture.snapshotDirectory), logger: Logger(label: "t")
        )
        #expect(await restarted.loadPersistedSnapshots(models: ["users"]).isEmpty)
        #expect(cache.snapshot(of: "users") == nil)
    }

    @Test("Timestamps parse in the forms SQLite stores and format as ISO-8601")
    func timestamps() {
        #expect(Timestamp.parseMicroseconds("1970-01-01") == 0)
        #expect(Timestamp.parseMicroseconds("2024-02-29T23:59:59.999999Z") == 1_709_251_199_999_999)
        #expect(Timestamp.parseMicroseconds("2024-01-01 01:00:00+01:00") == 1_704_067_200_000_000)
        #expect(Timestamp.parseMicroseconds("2024-13-01") == nil)
        #expect(Timestamp.parseMicroseconds("yesterday") == nil)
        #expect(Timestamp.iso8601(microseconds: 1_704_164_645_250_000) == "2024-01-02T03:04:05.250Z")
        #expect(Timestamp.iso8601(microseconds: -1_000) == "1969-12-31T23:59:59.999Z")
    }
}

extension SyncLimits {
    /// The policy's sync slice with some limits changed (tests at N and N+1).
    init(maxColumns: Int? = nil, maxRows: Int? = nil, maxRowBytes: Int? = nil) {
        self.init()
        if let maxColumns { self.maxColumns = maxColumns }
        if let maxRows { self.maxRows = maxRows }
        if let maxRowBytes { self.maxRowBytes = maxRowBytes }
    }
}
