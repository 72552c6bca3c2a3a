import GRDB

/// What seals secrets before the catalog stores them (AES-256-GCM under the server's keyring) and opens them when
/// it reads them. `context` is bound into the seal (a warehouse's name), so a sealed value cannot be moved.
package protocol SecretSealer: Sendable {
    func seal(_ secret: String, context: String) -> String
    /// - Throws: when the stored value does not open (a missing key, tampering), with a message for the log.
    func open(_ stored: String, context: String) throws -> String
    /// Whether `stored` is sealed with the current key (false for plaintext and older keys).
    func isCurrent(_ stored: String) -> Bool
}

/// A warehouse connection. The password is plaintext in memory only: the catalog stores it sealed (see
/// `SecretSealer`), and conversions to messages and audit entries leave it out.
package struct WarehouseRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    package static let databaseTableName = "warehouse"

    package var name: String
    /// "postgres" or "sqlite".
    package var kind: String
    /// A libpq connection string without the password, or a SQLite file path.
    package var connection: String
    /// Empty when none is stored.
    package var password: String
    package var createdAtMilliseconds: Int64
    package var version: Int64

    package init(
        name: String, kind: String, connection: String, password: String, createdAtMilliseconds: Int64,
        version: Int64 = 1
    ) {
        self.name = name
        self.kind = kind
        self.connection = connection
        self.password = password
        self.createdAtMilliseconds = createdAtMilliseconds
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, connection, password
        case createdAtMilliseconds = "created_at_ms"
        case version
    }
}

extension Catalog {
    static func registerWarehouseMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6_warehouses") { db in
            try db.create(table: "warehouse") { t in
                t.primaryKey("name", .text)
                t.column("kind", .text).notNull()
                t.column("connection", .text).notNull()
                t.column("password", .text).notNull()
                t.column("created_at_ms", .integer).notNull()
                t.column("version", .integer).notNull()
            }
        }
        migrator.registerMigration("v7_installation_id") { db in
            try db.create(table: "installation") { t in t.primaryKey("id", .text) }
            var generator = SystemRandomNumberGenerator()
            let id = (0..<8).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }
                .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
            try db.execute(sql: "INSERT INTO installation (id) VALUES (?)", arguments: [id])
        }
    }

    /// This catalog's identity: 16 random hex digits made when it was created. Sync state in a shared warehouse
    /// is keyed by it, so two servers (or test runs) never mistake each other's state for their own.
    package func installationID() throws(CatalogError) -> String {
        try self.read { db in try String.fetchOne(db, sql: "SELECT id FROM installation") ?? "unknown" }
    }

    /// The record as stored: its password sealed.
    func sealed(_ warehouse: WarehouseRecord) -> WarehouseRecord {
        guard let sealer = self.sealer, !warehouse.password.isEmpty else { return warehouse }
        var stored = warehouse
        stored.password = sealer.seal(warehouse.password, context: "warehouse \(warehouse.name)")
        return stored
    }

    /// The record as read: its password opened.
    func opened(_ stored: WarehouseRecord) throws(CatalogError) -> WarehouseRecord {
        guard let sealer = self.sealer, !stored.password.isEmpty else { return stored }
        var warehouse = stored
        do { warehouse.password = try sealer.open(stored.password, context: "warehouse \(stored.name)") } catch {
            throw .storage("\(error)")
        }
        return warehouse
    }

    /// Stores a new warehouse.
    /// - Throws: `.warehouseAlreadyExists`, `.limitReached` when `limit` warehouses are stored already.
    package func createWarehouse(_ warehouse: WarehouseRecord, limit: Int) throws(CatalogError) {
        let stored = self.sealed(warehouse)
        try self.write { db in
            if try WarehouseRecord.exists(db, key: warehouse.name) {
                throw CatalogError.warehouseAlreadyExists(name: warehouse.name)
            }
            guard try WarehouseRecord.fetchCount(db) < limit else {
                throw CatalogError.limitReached(kind: "warehouse", limit: limit)
            }
            try stored.insert(db)
        }
    }

    /// The warehouse called `name`.
    /// - Throws: `.warehouseNotFound`.
    package func warehouse(named name: String) throws(CatalogError) -> WarehouseRecord {
        guard let record = try self.read({ try WarehouseRecord.fetchOne($0, key: name) }) else {
            throw .warehouseNotFound(name: name)
        }
        return try self.opened(record)
    }

    /// Every stored warehouse, by name.
    package func warehouses() throws(CatalogError) -> [WarehouseRecord] {
        let stored = try self.read { try WarehouseRecord.order(Column("name")).fetchAll($0) }
        var opened: [WarehouseRecord] = []
        for record in stored { opened.append(try self.opened(record)) }
        return opened
    }

    /// Seals again, with the current key, every stored password that is plaintext (stored before sealing
    /// existed) or sealed with an older key: what a key rotation runs at start.
    /// - Returns: how many were sealed again.
    @discardableResult
    package func resealSecrets() throws(CatalogError) -> Int {
        guard let sealer = self.sealer else { return 0 }
        let stored = try self.read { try WarehouseRecord.fetchAll($0) }
        var count = 0
        for record in stored where !record.password.isEmpty && !sealer.isCurrent(record.password) {
            let plain = try self.opened(record)
            let resealed = self.sealed(plain)
            try self.write { db in
                try db.execute(
                    sql: "UPDATE warehouse SET password = ? WHERE name = ? AND password = ?",
                    arguments: [resealed.password, record.name, record.password]
                )
            }
            count += 1
        }
        // Old plaintext may linger in freed pages and the WAL: checkpoint and vacuum them away.
        if count > 0 {
            do {
                try self.database.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                    try db.execute(sql: "VACUUM")
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                }
            } catch {
                throw .storage("cannot compact the catalog after sealing its secrets: \(error)")
            }
        }
        return count
    }

    /// Replaces a warehouse's connection and password when its version is `expectedVersion` (0 skips the
    /// check), bumping the version.
    /// - Throws: `.warehouseNotFound`, `.versionConflict`.
    package func updateWarehouse(
        _ warehouse: WarehouseRecord, expectedVersion: Int64
    ) throws(CatalogError) -> WarehouseRecord {
        try self.write { db in
            guard let stored = try WarehouseRecord.fetchOne(db, key: warehouse.name) else {
                throw CatalogError.warehouseNotFound(name: warehouse.name)
            }
            if expectedVersion != 0 && expectedVersion != stored.version {
                throw CatalogError.versionConflict(
                    name: warehouse.name, expected: expectedVersion, actual: stored.version)
            }
            var updated = warehouse
            updated.kind = stored.kind
            updated.createdAtMilliseconds = stored.createdAtMilliseconds
            updated.version = stored.version + 1
            try self.sealed(updated).update(db)
            return updated
        }
    }

    /// Deletes a warehouse unless a model reads from it.
    /// - Throws: `.warehouseNotFound`, `.warehouseInUse` naming the models.
    package func deleteWarehouse(name: String) throws(CatalogError) {
        try self.write { db in
            guard try WarehouseRecord.exists(db, key: name) else { throw CatalogError.warehouseNotFound(name: name) }
            let models = try String.fetchAll(
                db, sql: "SELECT name FROM model WHERE warehouse = ? ORDER BY name", arguments: [name])
            guard models.isEmpty else { throw CatalogError.warehouseInUse(name: name, models: models) }
            _ = try WarehouseRecord.deleteOne(db, key: name)
        }
    }
}
