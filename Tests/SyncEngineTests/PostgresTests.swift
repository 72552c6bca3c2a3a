import Catalog
import Logging
import ModelCache
import RPCTesting
import SyncEngine
import Testing

@testable import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

/// A catalog, cache and engine over a fresh schema in the test PostgreSQL server, dropped at deinit.
final class PostgresFixture {
    let directory = TemporaryDirectory()
    let warehouse: PostgresWarehouse
    let schema: String
    let catalog: Catalog
    let cache = ModelCache()
    let engine: SyncEngine

    init(setup: String) throws {
        self.warehouse = PostgresWarehouse(connectionString: TestPostgres.connectionString ?? "")
        self.schema = "t_\(UInt64.random(in: 0..<UInt64.max))"
        try self.warehouse.execute("CREATE SCHEMA \(self.schema); SET search_path = \(self.schema); " + setup)
        self.catalog = try Catalog(path: self.directory.file("catalog.sqlite"))
        self.engine = SyncEngine(
            catalog: self.catalog, cache: self.cache, warehouses: ["pg": self.warehouse],
            snapshotFiles: SnapshotFiles(directory: self.directory.file("snapshots")), logger: Logger(label: "test")
        )
    }

    deinit { try? self.warehouse.execute("DROP SCHEMA \(self.schema) CASCADE") }

    func execute(_ sql: String) throws { try self.warehouse.execute("SET search_path = \(self.schema); " + sql) }

    func addModel(_ name: String, table: String = "", query: String = "", key: String) throws {
        try self.catalog.createModel(
            ModelRecord(
                name: name, warehouse: "pg", sourceTable: table.isEmpty ? "" : "\(self.schema).\(table)",
                sourceQuery: query.replacingSchema(self.schema), primaryKey: key, columns: [], createdAtMilliseconds: 0
            ))
    }

    func sync(_ model: String) async throws -> SyncRunRecord {
        let run = try await self.engine.trigger(model: model)
        await self.engine.waitForRuns()
        return try self.catalog.run(id: run.id!)
    }
}

extension String {
    /// Queries in tests write `S.` for the fixture's schema.
    fileprivate func replacingSchema(_ schema: String) -> String {
        self.split(separator: "S.", omittingEmptySubsequences: false).joined(separator: schema + ".")
    }
}

@Suite("PostgreSQL connector is present when the test script requires it")
struct PostgresPresenceTests {
    @Test("ENRICH_TEST_POSTGRES is set whenever ENRICH_REQUIRE_POSTGRES=1")
    func required() {
        if getenv("ENRICH_REQUIRE_POSTGRES").map({ String(cString: $0) }) == "1" {
            #expect(
                TestPostgres.available, "Scripts/test.sh should have started PostgreSQL and set ENRICH_TEST_POSTGRES")
        }
    }

    @Test(
        "Where a model's rows live for the long __segment_entities form: the table's schema, else public; SQLite's main"
    )
    func entityLocation() {
        let postgres = PostgresWarehouse(connectionString: "")
        #expect(postgres.entityLocation(table: "analytics.products", model: "p") == ("analytics", "products"))
        #expect(postgres.entityLocation(table: "products", model: "p") == ("public", "products"))
        #expect(postgres.entityLocation(table: "", model: "p") == ("public", "p"))
        let sqlite: any Warehouse = SQLiteWarehouse(path: "/nonexistent")
        #expect(sqlite.entityLocation(table: "products", model: "p") == ("main", "products"))
        #expect(sqlite.entityLocation(table: "", model: "p") == ("main", "p"))
    }

    @Test("COPY text fields unescape: \\t \\n \\\\ octal and hex; integers parse to the edges of Int64")
    func copyText() {
        var output: [UInt8] = []
        Array(#"a\tb\nc\\d\101\x42\q"#.utf8).withUnsafeBytes { PostgresWarehouse.unescape($0, into: &output) }
        #expect(String(decoding: output, as: UTF8.self) == "a\tb\nc\\dABq")
        func int(_ text: String) -> Int64? { Array(text.utf8).withUnsafeBytes { PostgresWarehouse.parseInt64($0) } }
        #expect(int("9223372036854775807") == .max)
        #expect(int("-9223372036854775808") == .min)
        #expect(int("9223372036854775808") == nil)
        #expect(int("12a") == nil && int("-") == nil && int("") == nil)
        #expect(Timestamp.parseMicroseconds("2024-01-02 03:04:05.25+00") == 1_704_164_645_250_000)
        #expect(Timestamp.parseMicroseconds("2024-01-02 05:04:05.25+0200") == 1_704_164_645_250_000)
    }
}

@Suite("Sync engine on a real PostgreSQL server", .enabled(if: TestPostgres.available), .serialized)
struct PostgresSyncTests {
    static let users = """
        CREATE TABLE users (
            id bigint PRIMARY KEY, email text, score double precision, price numeric(10,2), active boolean,
            seen timestamptz, born date, small smallint, tag uuid, doc jsonb
        );
        INSERT INTO users VALUES
            (1, 'a@x.io', 1.5, 9.99, true, '2024-01-02 03:04:05+00', '2000-02-29', 7,
             '6ecd8c99-4036-403d-bf84-cf8400f67836', '{"a": 1}'),
            (2, NULL, NULL, NULL, false, '2024-01-02 05:04:05.25+02', NULL, NULL, NULL, NULL),
            (3, E'tab\\there\\nline \\\\ back', 'NaN', 0, NULL, NULL, NULL, -32768, NULL, '[]');
        """

    @Test("Introspection names PostgreSQL's types and maps them to cache types")
    func describe() async throws {
        let fixture = try PostgresFixture(setup: Self.users)
        let columns = try fixture.warehouse.describe(.table("\(fixture.schema).users"))
        #expect(
            columns.map(\.name) == ["id", "email", "score", "price", "active", "seen", "born", "small", "tag", "doc"])
        #expect(
            columns.map(\.sourceType) == [
                "bigint", "text", "double precision", "numeric", "boolean", "timestamp with time zone", "date",
                "smallint",
                "uuid", "jsonb",
            ])
        #expect(
            columns.map(\.type) == [
                .int64, .string, .double, .double, .bool, .timestamp, .timestamp, .int64, .string, .string,
            ])
        #expect(try fixture.warehouse.testConnection().hasPrefix("PostgreSQL "))
    }

    @Test("A full sync reads every type through COPY, escapes and NULLs included")
    func fullSync() async throws {
        let fixture = try PostgresFixture(setup: Self.users)
        try fixture.addModel("users", table: "users", key: "id")
        let run = try await fixture.sync("users")
        #expect(run.status == .success, "\(run.error ?? "")")
        #expect(run.rowsRead == 3 && run.rowsAdded == 3)
        let snapshot = try #require(fixture.cache.snapshot(of: "users"))
        let row1 = try #require(snapshot.row(for: .int(1)))
        #expect(
            snapshot.columns.map { $0.value(at: row1) } == [
                .int64(1), .string("a@x.io"), .double(1.5), .double(9.99), .bool(true),
                .timestamp(1_704_164_645_000_000),
                .timestamp(951_782_400_000_000), .int64(7), .string("6ecd8c99-4036-403d-bf84-cf8400f67836"),
                .string(#"{"a": 1}"#),
            ])
        let row2 = try #require(snapshot.row(for: .int(2)))
        #expect(snapshot.columns[1].value(at: row2) == .null)
        #expect(snapshot.columns[5].value(at: row2) == .timestamp(1_704_164_645_250_000))
        let row3 = try #require(snapshot.row(for: .string("3")))
        #expect(snapshot.columns[1].value(at: row3) == .string("tab\there\nline \\ back"))
        guard case .double(let nan) = snapshot.columns[2].value(at: row3) else {
            Issue.record("score is not a double")
            return
        }
        #expect(nan.isNaN)
        #expect(snapshot.columns[7].value(at: row3) == .int64(-32768))
    }

    @Test("Re-syncs count inserts, updates and deletes; duplicate and NULL keys make a partial success")
    func diffAndPartial() async throws {
        let fixture = try PostgresFixture(
            setup: Self.users + "CREATE TABLE t (k text, n int);"
                + "INSERT INTO t VALUES ('a', 1), ('b', 2), ('a', 3), (NULL, 4);")
        try fixture.addModel("users", table: "users", key: "id")
        _ = try await fixture.sync("users")
        try fixture.execute(
            """
            INSERT INTO users (id, email) VALUES (4, 'd@x.io');
            UPDATE users SET email = 'new@x.io' WHERE id = 1;
            DELETE FROM users WHERE id = 2;
            """)
        let changed = try await fixture.sync("users")
        #expect((changed.rowsRead, changed.rowsAdded, changed.rowsChanged, changed.rowsRemoved) == (2, 1, 1, 1))
        #expect(fixture.cache.snapshot(of: "users")?.row(for: .int(2)) == nil)

        try fixture.addModel("t", table: "t", key: "k")
        let partial = try await fixture.sync("t")
        #expect(partial.status == .partialSuccess)
        #expect(
            partial.issues.map(\.reason).sorted() == [
                "duplicate primary key (attempt 1 of 5; retried on the next sync)", "primary key is NULL",
            ])
        #expect(fixture.cache.snapshot(of: "t")?.rowCount == 2)
    }

    @Test("A column whose type changes is re-introspected on the next sync")
    func typeChange() async throws {
        let fixture = try PostgresFixture(
            setup: "CREATE TABLE t (k int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 10);")
        try fixture.addModel("t", table: "t", key: "k")
        _ = try await fixture.sync("t")
        #expect(fixture.cache.snapshot(of: "t")?.schema.map(\.type) == [.int64, .int64])
        try fixture.execute("ALTER TABLE t ALTER COLUMN v TYPE text USING 'ten'")
        let run = try await fixture.sync("t")
        #expect(run.status == .success)
        let snapshot = try #require(fixture.cache.snapshot(of: "t"))
        #expect(snapshot.schema.map(\.type) == [.int64, .string])
        #expect(snapshot.row(for: .int(1)).map { snapshot.columns[1].value(at: $0) } == .string("ten"))
    }

    @Test("Query models; a bad query, a dropped table and a server that is down fail the run and keep serving")
    func failures() async throws {
        let fixture = try PostgresFixture(setup: Self.users)
        try fixture.addModel("active", query: "SELECT id, email, id * 10 AS tens FROM S.users WHERE active", key: "id")
        let query = try await fixture.sync("active")
        #expect(query.status == .success)
        let snapshot = try #require(fixture.cache.snapshot(of: "active"))
        #expect(snapshot.rowCount == 1)
        #expect(snapshot.row(for: .int(1)).map { snapshot.columns[2].value(at: $0) } == .int64(10))

        try fixture.addModel("broken", query: "SELECT id, 1 / (id - 2) AS boom FROM S.users", key: "id")
        let broken = try await fixture.sync("broken")
        #expect(broken.status == .failed)
        #expect(broken.error?.contains("division by zero") == true)

        try fixture.addModel("users", table: "users", key: "id")
        _ = try await fixture.sync("users")
        let before = try #require(fixture.cache.snapshot(of: "users"))
        try fixture.execute("DROP TABLE users")
        let dropped = try await fixture.sync("users")
        #expect(dropped.status == .failed)
        #expect(dropped.error == "table '\(fixture.schema).users' does not exist in the warehouse")
        #expect(fixture.cache.snapshot(of: "users") === before)

        // A port nothing listens on: the engine reports the connection failure; the cache is untouched.
        let down = SyncEngine(
            catalog: fixture.catalog, cache: fixture.cache,
            warehouses: [
                "pg": PostgresWarehouse(connectionString: "host=127.0.0.1 port=1 dbname=postgres connect_timeout=2")
            ],
            logger: Logger(label: "t")
        )
        let started = try await down.trigger(model: "users")
        await down.waitForRuns()
        let failed = try fixture.catalog.run(id: started.id!)
        #expect(failed.status == .failed)
        #expect(failed.error?.hasPrefix("warehouse unavailable: cannot connect to PostgreSQL") == true)
        #expect(fixture.cache.snapshot(of: "users") === before)
    }

    @Test("A 50,000-row table syncs with progress and the planner's row estimate")
    func largerTable() async throws {
        let fixture = try PostgresFixture(
            setup: """
                CREATE TABLE big AS SELECT g AS id, md5(g::text) AS hash, g * 0.5 AS half FROM generate_series(1, 50000) g;
                ANALYZE big;
                """)
        #expect(
            try fixture.warehouse.estimatedRowCount(
                .table("\(fixture.schema).big"), on: try fixture.warehouse.connect(readOnly: true)) == 50_000)
        try fixture.addModel("big", table: "big", key: "id")
        let run = try await fixture.engine.trigger(model: "big")
        var states: [SyncRunRecord] = []
        for await state in try await fixture.engine.watch(id: run.id!) { states.append(state) }
        #expect(states.last?.status == .success)
        #expect(states.last?.rowsAdded == 50_000)
        #expect(states.map(\.rowsRead) == states.map(\.rowsRead).sorted())
    }
}

@Suite("Sync state kept in PostgreSQL's _enrich_state schema", .enabled(if: TestPostgres.available))
struct PostgresSyncStateTests {
    @Test("Re-syncs read only changed rows; the merged snapshot equals a full read; failed rows are retried")
    func incremental() async throws {
        let fixture = try PostgresFixture(
            setup: """
                CREATE TABLE items AS SELECT g AS id, 'item ' || g AS name, g % 7 AS qty, now() AS at FROM generate_series(1, 2000) g;
                CREATE TABLE bad (id int, n text); INSERT INTO bad VALUES (1, 'x'), (2, 'y'), (2, 'z');
                """)
        try fixture.addModel("items", table: "items", key: "id")
        #expect(try await fixture.sync("items").rowsRead == 2000)
        try fixture.execute(
            """
            UPDATE items SET qty = qty + 100 WHERE id % 10 = 0; DELETE FROM items WHERE id % 25 = 1;
            INSERT INTO items VALUES (9000, 'new', 1, now()); UPDATE items SET name = name WHERE id = 3;
            """)
        let run = try await fixture.sync("items")
        #expect((run.rowsRead, run.rowsAdded, run.rowsChanged, run.rowsRemoved) == (201, 1, 200, 80))
        let merged = try #require(fixture.cache.snapshot(of: "items"))
        let full = try await fixture.engine.trigger(model: "items", full: true)
        await fixture.engine.waitForRuns()
        #expect(try fixture.catalog.run(id: full.id!).rowsRead == 1921)
        #expect(try #require(fixture.cache.snapshot(of: "items")).diff(from: merged) == (0, 0, 0))
        #expect(try await fixture.sync("items").rowsRead == 0)

        // The duplicate key 2 is retried with both its rows each time, and the first row stays served.
        try fixture.addModel("bad", table: "bad", key: "id")
        for attempt in 1...5 {
            let run = try await fixture.sync("bad")
            #expect(run.rowsRead == (attempt == 1 ? 3 : 2) && run.rowsFailed == 1 && run.rowsChanged == 0)
        }
        #expect(try await fixture.sync("bad").rowsRead == 0)
        let owner = "bad@\(try fixture.catalog.installationID())"
        let state = try PostgresConnection(
            connectionString: TestPostgres.connectionString!, password: nil, readOnly: true
        )
        .rows("SELECT key, attempts, given_up FROM _enrich_state.failed_rows WHERE model = $1", [owner])
        #expect(state == [["2", "5", "t"]])
    }

    @Test("A user who cannot write _enrich_state gets a failed run that says so; the served snapshot stays")
    func stateNotWritable() async throws {
        let fixture = try PostgresFixture(setup: "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g;")
        try fixture.addModel("t", table: "t", key: "id")
        #expect(try await fixture.sync("t").status == .success)
        let role = "enrich_nostate_test"
        try fixture.warehouse.execute(
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN EXECUTE 'CREATE ROLE \(role) LOGIN'; END IF;
            END $$;
            GRANT USAGE ON SCHEMA \(fixture.schema) TO \(role); GRANT SELECT ON ALL TABLES IN SCHEMA \(fixture.schema) TO \(role);
            """)
        let connection = TestPostgres.connectionString!.split(separator: " ").filter { !$0.hasPrefix("user=") }.joined(
            separator: " ")
        let limited = PostgresWarehouse(connectionString: connection + " user=\(role)")
        #expect(throws: WarehouseError.self) { _ = try limited.testConnection() }
        let engine = SyncEngine(
            catalog: fixture.catalog, cache: fixture.cache, warehouses: ["pg": limited],
            logger: Logger(label: "limited")
        )
        let run = try await engine.trigger(model: "t")
        await engine.waitForRuns()
        let record = try fixture.catalog.run(id: run.id!)
        #expect(record.status == .failed)
        #expect(record.error?.contains("_enrich_state") == true && record.error?.contains("permission denied") == true)
        #expect(fixture.cache.snapshot(of: "t")?.rowCount == 10)
    }
}
