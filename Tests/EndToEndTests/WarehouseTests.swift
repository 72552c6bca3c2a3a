import EnrichClient
import Foundation
import RPCTesting
import Testing
import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Warehouses over Admin RPCs: connect, show, change, remove, with passwords kept secret")
struct WarehouseAdminTests {
    /// A small SQLite warehouse file with one table.
    static func sqliteFile(_ fixture: ServerFixture, _ name: String) throws -> String {
        let path = fixture.directory.file(name)
        try DemoData.generate(path: path, sizes: .init(users: 5, products: 5))
        return path
    }

    @Test(
        "Lifecycle: create, get, list, update with versions, refused deletes, and every bad input leaves the catalog alone"
    )
    func lifecycle() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        let client = fixture.client
        let missing = fixture.directory.file("nope.sqlite")
        await expectRPCError(
            .unavailable, "warehouse unavailable: cannot open SQLite file '\(missing)': unable to open database file"
        ) {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "extra", kind: "sqlite", connection: missing))
        }
        await expectRPCError(.invalidArgument, "unknown warehouse kind 'oracle': use postgres or sqlite") {
            _ = try await client.createWarehouse(CreateWarehouseRequest(name: "extra", kind: "oracle", connection: "x"))
        }
        await expectRPCError(
            .unimplemented, "no snowflake connector is built into this server yet; use postgres or sqlite"
        ) {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "extra", kind: "snowflake", connection: "acct"))
        }
        await expectRPCError(
            .invalidArgument,
            "warehouse name '9lives' is invalid: use letters, digits, '_', '-' and '.', starting with a letter"
        ) {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "9lives", kind: "sqlite", connection: missing))
        }
        await expectRPCError(.alreadyExists, "warehouse 'embedded' already exists") {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "embedded", kind: "sqlite", connection: missing))
        }
        let path = try Self.sqliteFile(fixture, "extra.sqlite")
        await expectRPCError(.invalidArgument, "invalid warehouse settings: SQLite files take no password") {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "extra", kind: "sqlite", connection: path, password: "pw"))
        }
        #expect(try await client.listWarehouses().map(\.name) == ["embedded"])

        let created = try await client.createWarehouse(
            CreateWarehouseRequest(name: "extra", kind: "sqlite", connection: path))
        #expect(created.kind == "sqlite" && created.connection == path && created.version == 1 && !created.builtin)
        await expectRPCError(.alreadyExists, "warehouse 'extra' already exists") {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "extra", kind: "sqlite", connection: path))
        }
        let tested = try await client.getWarehouse("extra", test: true)
        #expect(tested.reachable && tested.detail.hasPrefix("SQLite 3."))
        let listed = try await client.listWarehouses()
        #expect(listed.map(\.name) == ["embedded", "extra"])
        #expect(listed[0].builtin && listed[0].connection == fixture.directory.file("warehouse.sqlite"))

        // A model reads from it; the warehouse cannot go while the model exists.
        _ = try await client.createModel(
            CreateModelRequest(name: "extra_users", warehouse: "extra", table: "users", primaryKey: "id"))
        let run = try await client.triggerSync(model: "extra_users")
        var last: SyncRun?
        for try await state in client.watchSync(id: run.id) { last = state }
        #expect(last?.status == .success && last?.rowsAdded == 5)
        // A re-sync reads nothing unchanged; a full resync reads every row again.
        for (full, read) in [(false, UInt64(0)), (true, 5)] {
            let run = try await client.triggerSync(model: "extra_users", fullResync: full)
            var state: SyncRun?
            for try await update in client.watchSync(id: run.id) { state = update }
            #expect(state?.status == .success && state?.rowsRead == read && state?.rowsChanged == 0)
        }
        await expectRPCError(
            .failedPrecondition, "warehouse 'extra' is read by models extra_users; delete them or move them first"
        ) {
            try await client.deleteWarehouse("extra")
        }
        await expectRPCError(
            .failedPrecondition, "warehouse 'embedded' is built in (set when enrichd starts) and cannot be changed here"
        ) {
            try await client.deleteWarehouse("embedded")
        }

        // Update: a new file, stale versions refused, the change applies to the next sync.
        let moved = try Self.sqliteFile(fixture, "moved.sqlite")
        let updated = try await client.updateWarehouse(
            UpdateWarehouseRequest(name: "extra", connection: moved, expectedVersion: 1))
        #expect(updated.version == 2 && updated.connection == moved)
        await expectRPCError(
            .aborted, "'extra' is at version 2, not 1: it changed since you read it; read it again and retry"
        ) {
            _ = try await client.updateWarehouse(
                UpdateWarehouseRequest(name: "extra", connection: path, expectedVersion: 1))
        }
        await expectRPCError(
            .unavailable, "warehouse unavailable: cannot open SQLite file '\(missing)': unable to open database file"
        ) {
            _ = try await client.updateWarehouse(UpdateWarehouseRequest(name: "extra", connection: missing))
        }
        #expect(try await client.getWarehouse("extra").connection == moved)

        try await client.deleteModel("extra_users")
        try await client.deleteWarehouse("extra")
        await expectRPCError(.notFound, "warehouse 'extra' does not exist") {
            _ = try await client.getWarehouse("extra")
        }
        await expectRPCError(.notFound, "warehouse 'extra' does not exist") {
            try await client.deleteWarehouse("extra")
        }

        // The audit trail has every write in order, failures included.
        let events = try await client.listAudit(ListAuditRequest(object: "warehouse extra")).reversed().map {
            ($0.method.split(separator: "/").last.map(String.init) ?? "", $0.outcomeCode)
        }
        #expect(
            events.map(\.0) == [
                "CreateWarehouse", "CreateWarehouse", "CreateWarehouse", "CreateWarehouse", "CreateWarehouse",
                "CreateWarehouse", "DeleteWarehouse",
                "UpdateWarehouse", "UpdateWarehouse", "UpdateWarehouse", "DeleteWarehouse", "DeleteWarehouse",
            ])
        // unavailable, bad kind, unimplemented, password on SQLite, created, duplicate, in use, updated, stale, unreachable,
        // deleted, gone. (The bad name and the built-in name are other objects.)
        #expect(events.map(\.1) == [14, 3, 12, 3, 0, 6, 9, 0, 10, 14, 0, 5])
        await fixture.stop()
    }

    @Test("Warehouse limit: N are stored, N+1 is refused; paging walks them all")
    func limit() async throws {
        var limits = Limits()
        limits.maxWarehouses = 3
        limits.maxPageSize = 2
        let fixture = try await ServerFixture.start(limits: limits, users: 5, products: 5)
        let path = try Self.sqliteFile(fixture, "shared.sqlite")
        for index in 1...3 {
            _ = try await fixture.client.createWarehouse(
                CreateWarehouseRequest(name: "w\(index)", kind: "sqlite", connection: path))
        }
        await expectRPCError(.resourceExhausted, "the catalog already holds the limit of 3 warehouses") {
            _ = try await fixture.client.createWarehouse(
                CreateWarehouseRequest(name: "w4", kind: "sqlite", connection: path))
        }
        var names: [String] = []
        var token = ""
        repeat {
            let page = try await fixture.client.listWarehouses(
                ListWarehousesRequest(test: true, pageSize: 2, pageToken: token))
            #expect(page.warehouses.allSatisfy { $0.reachable })
            names += page.warehouses.map(\.name)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(names == ["embedded", "w1", "w2", "w3"])
        #expect(
            try await fixture.client.listWarehouses(ListWarehousesRequest(pageSize: 2, namePrefix: "w2")).warehouses
                .map(\.name) == ["w2"])
        await expectRPCError(.invalidArgument, "page size 3 exceeds the limit of 2") {
            _ = try await fixture.client.listWarehouses(ListWarehousesRequest(pageSize: 3))
        }
        await fixture.stop()
    }
}

@Suite("PostgreSQL warehouses with stored passwords", .enabled(if: TestPostgres.available))
struct PostgresWarehouseAdminTests {
    static let role = "enrich_password_test"

    @Test("The password reaches the server, is never echoed (get, list, audit) and survives a restart")
    func passwordKeptSecret() async throws {
        let admin = PostgresWarehouse(connectionString: try #require(TestPostgres.connectionString))
        let password = "pw-\(UInt64.random(in: 0..<UInt64.max))"
        let schema = "pwtest_\(UInt64.random(in: 0..<UInt64.max))"
        // The role reads the source and keeps the sync state in _enrich_state (created here by the admin).
        try admin.prepareState()
        try admin.execute(
            """
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(Self.role)') THEN
                    EXECUTE 'DROP OWNED BY \(Self.role) CASCADE'; EXECUTE 'DROP ROLE \(Self.role)';
                END IF;
            END $$;
            CREATE ROLE \(Self.role) LOGIN PASSWORD '\(password)';
            GRANT USAGE, CREATE ON SCHEMA _enrich_state TO \(Self.role);
            CREATE SCHEMA \(schema); CREATE TABLE \(schema).plans AS SELECT g AS id, 'plan ' || g AS label FROM generate_series(1, 20) g;
            GRANT USAGE ON SCHEMA \(schema) TO \(Self.role); GRANT SELECT ON ALL TABLES IN SCHEMA \(schema) TO \(Self.role);
            """)
        try? admin.execute("GRANT ALL ON ALL TABLES IN SCHEMA _enrich_state TO \(Self.role)")
        defer { try? admin.execute("DROP SCHEMA \(schema) CASCADE") }
        let base = try #require(TestPostgres.connectionString).split(separator: " ").filter { !$0.hasPrefix("user=") }
            .joined(separator: " ")
        let connection = base + " user=\(Self.role)"

        let fixture = try await ServerFixture.start(users: 5, products: 5)
        let client = fixture.client
        await expectRPCError(
            .invalidArgument,
            "invalid warehouse settings: the connection string holds a password; send it as the password instead"
        ) {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "dw", kind: "postgres", connection: connection + " password=\(password)"))
        }
        await expectRPCError(
            .invalidArgument,
            "invalid warehouse settings: not a libpq connection string: missing \"=\" after \"nonsense\" in connection info string"
        ) {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "dw", kind: "postgres", connection: "nonsense"))
        }
        do {
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "dw", kind: "postgres", connection: connection, password: "wrong"))
            Issue.record("a wrong password was accepted")
        } catch let error as RPCError {
            #expect(
                error.code == .unavailable
                    && error.message.contains("password authentication failed for user \"\(Self.role)\""))
        }
        let created = try await client.createWarehouse(
            CreateWarehouseRequest(name: "dw", kind: "postgres", connection: connection, password: password))
        #expect(created.hasPassword && created.connection == connection)
        _ = try await client.createModel(
            CreateModelRequest(name: "plans", warehouse: "dw", table: "\(schema).plans", primaryKey: "id"))
        // Clearing the password makes the connection fail, so the update is refused and the password stays.
        do {
            _ = try await client.updateWarehouse(UpdateWarehouseRequest(name: "dw", clearPassword: true))
            Issue.record("an update without the needed password was accepted")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
        }
        #expect(try await client.getWarehouse("dw").hasPassword)

        let events = try await client.listAudit(ListAuditRequest(object: "warehouse dw"))
        #expect(events.count == 5)
        for event in events {
            #expect(
                !event.beforeJSON.contains(password) && !event.afterJSON.contains(password)
                    && !event.outcomeMessage.contains(password))
        }
        #expect(
            !(try await client.listWarehouses()).contains {
                $0.connection.contains(password) || $0.detail.contains(password)
            })
        await fixture.stop()

        // After a restart the stored warehouse is loaded from the catalog and its model syncs.
        let restarted = try await ServerFixture.start(restarting: fixture)
        let run = try await restarted.client.triggerSync(model: "plans")
        var last: SyncRun?
        for try await state in restarted.client.watchSync(id: run.id) { last = state }
        #expect(last?.status == .success && last?.rowsAdded == 20)
        #expect(try await restarted.client.getWarehouse("dw", test: true).reachable)
        await restarted.stop()

        // At rest: no file of the data directory holds the password (it is sealed with AES-256-GCM in the catalog,
        // WAL included); the directory is 0700 and every file 0600 whatever the umask (the test process has 022).
        let files = DataDirectoryScan.files(fixture.directory.path)
        #expect(
            files.contains { $0.path.hasSuffix("catalog.sqlite") } && files.contains { $0.path.hasSuffix("secret.key") }
        )
        for file in files {
            #expect(!file.contents.contains(Array(password.utf8)), "\(file.path) holds the password")
            #expect(file.mode & 0o077 == 0, "\(file.path) is \(String(file.mode, radix: 8))")
        }
        #expect(DataDirectoryScan.mode(fixture.directory.path) & 0o077 == 0)
    }
}

/// Every regular file under a directory, with its contents and mode.
enum DataDirectoryScan {
    static func mode(_ path: String) -> UInt32 {
        var info = stat()
        _ = stat(path, &info)
        return UInt32(info.st_mode & 0o777)
    }

    static func files(_ directory: String) -> [(path: String, mode: UInt32, contents: [UInt8])] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var found: [(path: String, mode: UInt32, contents: [UInt8])] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = "\(directory)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                found += Self.files(path)
            } else if info.st_mode & S_IFMT == S_IFREG {
                found.append((path, UInt32(info.st_mode & 0o777), Self.bytes(path)))
            }
        }
        return found
    }

    static func bytes(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, self.count >= needle.count else { return needle.isEmpty }
        for start in 0...(self.count - needle.count)
        where self[start] == needle[0] && Array(self[start..<start + needle.count]) == needle {
            return true
        }
        return false
    }
}
