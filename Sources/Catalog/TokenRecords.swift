import GRDB

/// An API token as stored: never the secret, only its SHA-256.
package struct TokenRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    package static let databaseTableName = "api_token"

    /// Public identifier ("tok_…"), shown in lists and the audit trail.
    package var id: String
    package var name: String
    /// A role name (see Services' `Role`).
    package var role: String
    /// Lower-case hex SHA-256 of the secret token.
    package var secretHash: String
    package var createdAtMilliseconds: Int64
    package var expiresAtMilliseconds: Int64?
    package var revokedAtMilliseconds: Int64?

    package init(
        id: String, name: String, role: String, secretHash: String, createdAtMilliseconds: Int64,
        expiresAtMilliseconds: Int64?, revokedAtMilliseconds: Int64? = nil
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.secretHash = secretHash
        self.createdAtMilliseconds = createdAtMilliseconds
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.revokedAtMilliseconds = revokedAtMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role
        case secretHash = "secret_hash"
        case createdAtMilliseconds = "created_at_ms"
        case expiresAtMilliseconds = "expires_at_ms"
        case revokedAtMilliseconds = "revoked_at_ms"
    }
}

extension Catalog {
    static func registerTokenMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3_api_tokens") { db in
            try db.create(table: "api_token") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("role", .text).notNull()
                t.column("secret_hash", .text).notNull().unique()
                t.column("created_at_ms", .integer).notNull()
                t.column("expires_at_ms", .integer)
                t.column("revoked_at_ms", .integer)
            }
        }
    }

    /// Stores a new token.
    /// - Throws: `.tokenAlreadyExists` when the name is taken.
    package func createToken(_ token: TokenRecord) throws(CatalogError) {
        try self.write { db in
            if try TokenRecord.filter(Column("name") == token.name).fetchCount(db) > 0 {
                throw CatalogError.tokenAlreadyExists(name: token.name)
            }
            try token.insert(db)
        }
    }

    /// Every token, oldest first (secrets are never stored, so none is returned).
    package func tokens() throws(CatalogError) -> [TokenRecord] {
        try self.read { try TokenRecord.order(Column("created_at_ms"), Column("id")).fetchAll($0) }
    }

    /// Marks a token revoked; it stops working at once.
    /// - Throws: `.tokenNotFound`.
    package func revokeToken(id: String, at milliseconds: Int64) throws(CatalogError) -> TokenRecord {
        try self.write { db in
            guard var token = try TokenRecord.fetchOne(db, key: id) else { throw CatalogError.tokenNotFound(id: id) }
            if token.revokedAtMilliseconds == nil { token.revokedAtMilliseconds = milliseconds }
            try token.update(db)
            return token
        }
    }
}
