import Catalog
import Logging
import ModelCache
import SyncEngine
import Synchronization
import Testing

@testable import Warehouses

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let milliseconds = Mutex<Int64>(1_700_000_000_000)
    var now: Int64 { self.milliseconds.withLock { $0 } }
    func advance(days: Int64) { self.milliseconds.withLock { $0 += days * 86_400_000 } }
    func advance(milliseconds: Int64) { self.milliseconds.withLock { $0 += milliseconds } }
}

@Suite("Sync state kept in the SQLite warehouse: checksums, checkpoints, retries")
struct SyncStateTests {
    static let items = """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
        INSERT INTO items SELECT i, 'item ' || i, i % 7 FROM n;
        """

    @Test("State tables hold one checksum per cached row and a checkpoint naming the served snapshot")
    func stateTables() async throws {
        let fixture = try SyncFixture(setup: Self.items)
        try fixture.addModel("items", table: "items", key: "id")
        let run = try await fixture.sync("items")
        #expect(run.rowsRead == 1000 && run.rowsAdded == 1000)
        let owner = "items@\(try fixture.catalog.installationID())"
        let checkpoint = try fixture.query(
            "SELECT snapshot_version, row_count, columns FROM _enrich_state_checkpoints WHERE model = '\(owner)'")
        #expect(checkpoint == [[String(run.id!), "1000", "id:int64,name:string,qty:int64"]])
        let table = "_enrich_state_" + rowsTableName(model: owner)
        #expect(try fixture.query("SELECT count(*), count(DISTINCT checksum) FROM \(table)") == [["1000", "1000"]])
        #expect(fixture.cache.snapshot(of: "items")?.version == UInt64(run.id!))
        // Deleting the model removes its state from the warehouse.
        await fixture.engine.forget(model: "items", warehouse: "embedded")
        #expect(try fixture.query("SELECT count(*) FROM _enrich_state_checkpoints").first == ["0"])
        #expect(try fixture.query("SELECT count(*) FROM sqlite_master WHERE name = '\(table)'").first == ["0"])
    }

    @Test("A re-sync reads only changed rows and the merged snapshot equals a full read")
    func incrementalEqualsFull() async throws {
        let fixture = try SyncFixture(setup: Self.items)
        try fixture.addModel("items", table: "items", key: "id")
        _ = try await fixture.sync("items")
        try fixture.execute(
            """
            UPDATE items SET qty = qty + 100 WHERE id % 10 = 0;
            DELETE FROM items WHERE id % 25 = 1;
            INSERT INTO items VALUES (5000, 'new', 1), (5001, NULL, NULL);
            UPDATE items SET name = name WHERE id = 3;
            """)
        let incremental = try await fixture.sync("items")
        // 100 updated + 2 inserted are read; 40 deleted are found without reading them; a no-op update is not a change.
        #expect(
            (incremental.rowsRead, incremental.rowsAdded, incremental.rowsChanged, incremental.rowsRemoved) == (
                102, 2, 100, 40
            ))
        let merged = try #require(fixture.cache.snapshot(of: "items"))
        let full = try await fixture.sync("items", full: true)
        #expect((full.rowsRead, full.rowsAdded, full.rowsChanged, full.rowsRemoved) == (962, 0, 0, 0))
        let fresh = try #require(fixture.cache.snapshot(of: "items"))
        #expect(fresh.diff(from: merged) == (0, 0, 0) && fresh.rowCount == 962)
        // After the full resync the state again allows an incremental run that reads nothing.
        #expect(try await fixture.sync("items").rowsRead == 0)
    }

    @Test("A failed row is retried on the next 4 syncs and then given up; changing it retries it afresh")
    func retriesThenGivesUp() async throws {
        let fixture = try SyncFixture(
            setup: """
                CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);
                INSERT INTO t VALUES (1, 10), (2, 'twenty'), (3, 30);
                """)
        try fixture.addModel("t", table: "t", key: "id")
        for attempt in 1...5 {
            let run = try await fixture.sync("t")
            #expect(run.status == .partialSuccess && run.rowsFailed == 1)
            let suffix =
                attempt < 5
                ? "(attempt \(attempt) of 5; retried on the next sync)"
                : "(given up after 5 attempts; retried only if the row changes)"
            #expect(run.issues.map(\.reason) == ["column 'n': text is not an integer \(suffix)"])
            #expect(run.issues.map(\.key) == ["2"])
            #expect(run.rowsRead == (attempt == 1 ? 3 : 1))
        }
        let quiet = try await fixture.sync("t")
        #expect(quiet.status == .success && quiet.rowsRead == 0 && quiet.rowsFailed == 0)
        #expect(fixture.cache.snapshot(of: "t")?.rowCount == 2)
        try fixture.execute("UPDATE t SET n = 20 WHERE id = 2")
        let fixed = try await fixture.sync("t")
        #expect(fixed.status == .success && fixed.rowsRead == 1 && fixed.rowsAdded == 1)
        #expect(try fixture.query("SELECT count(*) FROM _enrich_state_failed_rows") == [["0"]])
    }

    @Test("A failed row is given up after 14 days even before its fifth attempt")
    func givesUpAfterFourteenDays() async throws {
        let clock = ManualClock()
        let fixture = try SyncFixture(
            setup: """
                CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);
                INSERT INTO t VALUES (1, 'one');
                """, now: { clock.now })
        try fixture.addModel("t", table: "t", key: "id")
        #expect(
            try await fixture.sync("t").issues.first?.reason.hasSuffix("(attempt 1 of 5; retried on the next sync)")
                == true)
        clock.advance(days: 13)
        #expect(
            try await fixture.sync("t").issues.first?.reason.hasSuffix("(attempt 2 of 5; retried on the next sync)")
                == true)
        clock.advance(days: 1)
        #expect(
            try await fixture.sync("t").issues.first?.reason.hasSuffix(
                "(given up after 3 attempts; retried only if the row changes)") == true)
        #expect(try await fixture.sync("t").rowsRead == 0)
    }

    @Test("A duplicate key keeps its first row served, and is retried, then given up, without flapping")
    func duplicateKeys() async throws {
        let fixture = try SyncFixture(
            setup: """
                CREATE TABLE t (k TEXT, n INTEGER);
                INSERT INTO t VALUES ('a', 1), ('b', 2), ('a', 3);
                """)
        try fixture.addModel("t", table: "t", key: "k")
        for attempt in 1...6 {
            let run = try await fixture.sync("t")
            let snapshot = try #require(fixture.cache.snapshot(of: "t"))
            #expect(snapshot.columns[1].value(at: try #require(snapshot.row(for: .string("a")))) == .int64(1))
            #expect(run.rowsChanged == 0)
            #expect(run.rowsFailed == (attempt <= 5 ? 1 : 0))
        }
    }

    @Test("A sync stopped part-way changes neither the served snapshot nor the state; the next run catches up")
    func killedHalfway() async throws {
        let fixture = try SyncFixture(setup: "CREATE TABLE x (k INTEGER PRIMARY KEY)")
        try DemoData.generate(path: fixture.warehousePath, sizes: .init(users: 60_000, products: 0))
        try fixture.addModel("users", table: "users", key: "id")
        let first = try await fixture.sync("users")
        try fixture.execute("UPDATE users SET plan = 'changed' WHERE id % 2 = 0; DELETE FROM users WHERE id <= 100")
        let stopped = try await fixture.engine.trigger(model: "users")
        // CancelSync's path: returns once the run has ended, as it ended.
        let ended = try await fixture.engine.cancel(runID: stopped.id!)
        let run = try fixture.catalog.run(id: stopped.id!)
        #expect(ended == run)
        #expect(
            run.status == .failed && run.cancelled && !run.interrupted
                && run.error == "cancelled before it finished; the served snapshot and the sync state are unchanged")
        await #expect(throws: SyncError.runFinished(id: stopped.id!, status: .failed)) {
            _ = try await fixture.engine.cancel(runID: stopped.id!)
        }
        #expect(fixture.cache.snapshot(of: "users")?.version == UInt64(first.id!))
        let owner = "users@\(try fixture.catalog.installationID())"
        #expect(
            try fixture.query("SELECT snapshot_version FROM _enrich_state_checkpoints WHERE model = '\(owner)'") == [
                [String(first.id!)]
            ])
        let next = try await fixture.sync("users")
        #expect(
            next.status == .success && next.rowsRemoved == 100 && next.rowsChanged == 29_950 && next.rowsRead == 29_950)
        #expect(fixture.cache.snapshot(of: "users")?.rowCount == 59_900)
    }

    @Test("A crash between publishing and saving the state costs a full read, not rows")
    func stateBehindSnapshot() async throws {
        let fixture = try SyncFixture(setup: Self.items)
        try fixture.addModel("items", table: "items", key: "id")
        _ = try await fixture.sync("items")
        // As if the server died after publishing: the checkpoint names an older snapshot.
        try fixture.execute(
            "UPDATE _enrich_state_checkpoints SET snapshot_version = snapshot_version - 1; DELETE FROM items WHERE id = 7"
        )
        let run = try await fixture.sync("items")
        #expect((run.rowsRead, run.rowsRemoved) == (999, 1))
        #expect(try await fixture.sync("items").rowsRead == 0)
    }

    @Test("After a restart the persisted snapshot and the warehouse checkpoint allow an incremental run")
    func restartStaysIncremental() async throws {
        let fixture = try SyncFixture(setup: Self.items)
        try fixture.addModel("items", table: "items", key: "id")
        _ = try await fixture.sync("items")
        try fixture.execute("UPDATE items SET qty = -1 WHERE id = 500")
        let cache = ModelCache()
        let restarted = SyncEngine(
            catalog: fixture.catalog, cache: cache,
            warehouses: ["embedded": SQLiteWarehouse(path: fixture.warehousePath)],
            snapshotFiles: SnapshotFiles(directory: fixture.snapshotDirectory), logger: .init(label: "restart")
        )
        #expect(await restarted.loadPersistedSnapshots(models: ["items"]) == ["items"])
        let run = try await restarted.trigger(model: "items")
        await restarted.waitForRuns()
        let record = try fixture.catalog.run(id: run.id!)
        #expect((record.rowsRead, record.rowsChanged) == (1, 1))
        let snapshot = try #require(cache.snapshot(of: "items"))
        #expect(snapshot.columns[2].value(at: try #require(snapshot.row(for: .int(500)))) == .int64(-1))
    }
}
