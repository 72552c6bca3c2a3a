import ArgumentParser
import Catalog
import GRDBSQLite
import Logging
import ModelCache
import SyncEngine
import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

/// Times full syncs, 1 %-changed re-syncs and restart-to-serving for the same table in the embedded SQLite
/// warehouse and in PostgreSQL, next to each source's own bulk export (timed by Scripts/bench-sync.sh).
@main
struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-bench",
        abstract: "Benchmark syncs against SQLite and PostgreSQL (run through Scripts/bench-sync.sh).",
        discussion: """
            Scripts/bench-sync.sh starts a throwaway PostgreSQL, builds this in release mode, creates the
            1M-row, 10-column `bench` table in both warehouses (--setup), times `sqlite3 -csv` and
            `COPY … TO STDOUT`, and passes those times here so the ratios come from one run.
            """
    )

    @Option(help: "SQLite warehouse file.") var sqlite: String
    @Option(help: "PostgreSQL libpq connection string.") var postgres: String
    @Option(help: "Rows in the bench table.") var rows = 1_000_000
    @Flag(help: "Create the bench table in both warehouses first (replacing it).") var setup = false
    @Flag(help: "Only create the bench tables, then exit.") var setupOnly = false
    @Option(help: "Seconds `sqlite3 -csv` took to export the table.") var sqliteExportSeconds: Double?
    @Option(help: "Seconds `COPY bench TO STDOUT` took.") var postgresExportSeconds: Double?
    @Option(help: "Scratch directory for the catalog and snapshots.") var work = "/tmp/enrich-sync-bench"
    @Flag(help: "Log each sync's phases (open, read, removed keys, build, diff, save, state) in milliseconds.")
    var verbose = false

    static func columns(random: String, timestamp: String) -> String {
        """
        g AS id, 'user-' || g AS name, 'user' || g || '@example.com' AS email, (g % 1000) * 0.5 AS score,
        (g % 3 = 0) AS active, \(timestamp) AS created_at, CASE g % 4 WHEN 0 THEN 'free' WHEN 1 THEN 'starter'
        WHEN 2 THEN 'pro' ELSE 'enterprise' END AS plan, 'C' || (g % 50) AS country, g % 977 AS visits,
        (g % 10007) * 1.25 AS ltv
        """
    }

    func run() async throws {
        let sqliteWarehouse = SQLiteWarehouse(path: self.sqlite)
        let postgresWarehouse = PostgresWarehouse(connectionString: self.postgres)
        if self.setup || self.setupOnly {
            print("creating bench tables (\(self.rows) rows, 10 columns)...")
            try self.createSQLiteTable()
            try postgresWarehouse.execute(
                """
                DROP TABLE IF EXISTS bench;
                CREATE TABLE bench AS SELECT \(Self.columns(random: "", timestamp: "timestamptz '2024-01-01' + g * interval '1 second'"))
                FROM generate_series(1, \(self.rows)) g;
                ALTER TABLE bench ADD PRIMARY KEY (id);
                ANALYZE bench;
                """)
            if self.setupOnly { return }
        }
        _ = system("rm -rf '\(self.work)' && mkdir -p '\(self.work)'")
        let catalog = try Catalog(path: "\(self.work)/catalog.sqlite")
        let snapshots = SnapshotFiles(directory: "\(self.work)/snapshots")
        var logger = Logger(label: "sync-bench")
        logger.logLevel = self.verbose ? .info : .warning
        let warehouses: [String: any Warehouse] = ["sqlite": sqliteWarehouse, "postgres": postgresWarehouse]
        let engine = SyncEngine(
            catalog: catalog, cache: ModelCache(), warehouses: warehouses, snapshotFiles: snapshots, logger: logger
        )
        var results: [(String, Double, Double, Double?)] = []
        for name in ["sqlite", "postgres"] {
            try catalog.createModel(
                ModelRecord(
                    name: name, warehouse: name, sourceTable: "bench", sourceQuery: "", primaryKey: "id", columns: [],
                    createdAtMilliseconds: 0
                ))
            let full = try await self.timedSync(engine, catalog, name)
            // 1 % of rows changed: every 100th row gets a new plan.
            let change = "UPDATE bench SET plan = plan || '+' WHERE id % 100 = 0"
            if name == "sqlite" { try self.sqliteExecute(change) } else { try postgresWarehouse.execute(change) }
            let diff = try await self.timedSync(engine, catalog, name)
            results.append(
                (
                    name, full.seconds, diff.seconds,
                    name == "sqlite" ? self.sqliteExportSeconds : self.postgresExportSeconds
                ))
            print(
                "\(name): full \(Self.format(full.seconds)) s (\(full.run.rowsAdded) added), 1 % changed \(Self.format(diff.seconds)) s (\(diff.run.rowsChanged) changed)"
            )
        }
        // Restart to serving: a new engine and cache load the persisted snapshots.
        let cache = ModelCache()
        let restarted = SyncEngine(
            catalog: catalog, cache: cache, warehouses: [:], snapshotFiles: snapshots, logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        let loaded = await restarted.loadPersistedSnapshots(models: ["sqlite", "postgres"])
        let restart = Self.seconds(clock.now - start)
        print()
        print("| warehouse | source export | full sync | full / export | 1 % diff sync | diff / full |")
        print("|-----------|---------------|-----------|---------------|---------------|-------------|")
        for (name, full, diff, export) in results {
            let exportText = export.map { "\(Self.format($0)) s" } ?? "—"
            let ratio = export.map { Self.format(full / $0) + "×" } ?? "—"
            print(
                "| \(name) | \(exportText) | \(Self.format(full)) s | \(ratio) | \(Self.format(diff)) s | \(Self.format(diff / full * 100)) % |"
            )
        }
        print(
            "restart to serving: \(Self.format(restart)) s for \(loaded.count) snapshots of \(self.rows) rows (\(cache.snapshot(of: "postgres")?.rowCount ?? 0) rows served)"
        )
    }

    func timedSync(
        _ engine: SyncEngine, _ catalog: Catalog, _ model: String
    ) async throws -> (seconds: Double, run: SyncRunRecord) {
        let clock = ContinuousClock()
        let start = clock.now
        let started = try await engine.trigger(model: model)
        await engine.waitForRuns()
        let seconds = Self.seconds(clock.now - start)
        let run = try catalog.run(id: started.id!)
        guard run.status == .success else { throw ValidationError("\(model) sync \(run.status): \(run.error ?? "")") }
        return (seconds, run)
    }

    func createSQLiteTable() throws {
        try self.sqliteExecute(
            """
            DROP TABLE IF EXISTS bench;
            CREATE TABLE bench (id INTEGER PRIMARY KEY, name TEXT, email TEXT, score REAL, active BOOLEAN,
                created_at TIMESTAMP, plan TEXT, country TEXT, visits INTEGER, ltv REAL);
            WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < \(self.rows))
            INSERT INTO bench SELECT \(Self.columns(random: "", timestamp: "strftime('%Y-%m-%dT%H:%M:%SZ', 1704067200 + g, 'unixepoch')")) FROM s;
            """)
    }

    func sqliteExecute(_ sql: String) throws {
        let status = sql.withCString { text in
            var database: OpaquePointer?
            guard sqlite3_open(self.sqlite, &database) == SQLITE_OK else { return Int32(-1) }
            defer { sqlite3_close(database) }
            return sqlite3_exec(database, text, nil, nil, nil)
        }
        guard status == SQLITE_OK else { throw ValidationError("SQLite statement failed (\(status))") }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
