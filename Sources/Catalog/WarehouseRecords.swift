public import GRDB

/// A warehouse connection as stored. The password is kept here (the catalog file is created mode 0600) and
/// never leaves the server: conversions to messages and audit entries leave it out.
public struct WarehouseRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "warehouse"

    public var name: String
    /// "postgres" or "sqlite".
    public var kind: String
    /// A libpq connection string without the password, or a SQLite file path.
    public var connection: String
    /// Empty when none is stored.
    public var password: String
    public var createdAtMilliseconds: Int64
    public var version: Int64

    public init(name: String, kind: String, connection: String, password: String, createdAtMilliseconds: Int64, version: Int64 = 1) {
        self.name = name
        self.kind = kind
        self.connection = connection
        self.password = password
        self.createdAtMilliseconds = createdAtMilliseconds
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, connection, password, createdAtMilliseconds = "created_at_ms", version
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
    public func installationID() throws(CatalogError) -> String {
        try self.read { db in try String.fetchOne(db, sql: "SELECT id FROM installation") ?? "unknown" }
    }

    /// Stores a new warehouse.
    /// - Throws: `.warehouseAlreadyExists`, `.limitReached` when `limit` warehouses are stored already.
    public func createWarehouse(_ warehouse: WarehouseRecord, limit: Int) throws(CatalogError) {
        try self.write { db in
            if try WarehouseRecord.exists(db, key: warehouse.name) { throw CatalogError.warehouseAlreadyExists(name: warehouse.name) }
            guard try WarehouseRecord.fetchCount(db) < limit else { throw CatalogError.limitReached(kind: "warehouse", limit: limit) }
            try warehouse.insert(db)
        }
    }

    /// The warehouse called `name`.
    /// - Throws: `.warehouseNotFound`.
    public func warehouse(named name: String) throws(CatalogError) -> WarehouseRecord {
        guard let record = try self.read({ try WarehouseRecord.fetchOne($0, key: name) }) else { throw .warehouseNotFound(name: name) }
        return record
    }

    /// Every stored warehouse, by name.
    public func warehouses() throws(CatalogError) -> [WarehouseRecord] {
        try self.read { try WarehouseRecord.order(Column("name")).fetchAll($0) }
    }

    /// Replaces a warehouse's connection and password when its version is `expectedVersion` (0 skips the
    /// check), bumping the version.
    /// - Throws: `.warehouseNotFound`, `.versionConflict`.
    public func updateWarehouse(_ warehouse: WarehouseRecord, expectedVersion: Int64) throws(CatalogError) -> WarehouseRecord {
        try self.write { db in
            guard let stored = try WarehouseRecord.fetchOne(db, key: warehouse.name) else {
                throw CatalogError.warehouseNotFound(name: warehouse.name)
            }
            if expectedVersion != 0 && expectedVersion != stored.version {
                throw CatalogError.versionConflict(name: warehouse.name, expected: expectedVersion, actual: stored.version)
            }
            var updated = warehouse
            updated.kind = stored.kind
            updated.createdAtMilliseconds = stored.createdAtMilliseconds
            updated.version = stored.version + 1
            try updated.update(db)
            return updated
        }
    }

    /// Deletes a warehouse unless a model reads from it.
    /// - Throws: `.warehouseNotFound`, `.warehouseInUse` naming the models.
    public func deleteWarehouse(name: String) throws(CatalogError) {
        try self.write { db in
            guard try WarehouseRecord.exists(db, key: name) else { throw CatalogError.warehouseNotFound(name: name) }
            let models = try String.fetchAll(db, sql: "SELECT name FROM model WHERE warehouse = ? ORDER BY name", arguments: [name])
            guard models.isEmpty else { throw CatalogError.warehouseInUse(name: name, models: models) }
            _ = try WarehouseRecord.deleteOne(db, key: name)
        }
    }
}
