package import GRDB

/// One admin write (or refused attempt) as the audit trail keeps it. Never holds a secret.
package struct AuditRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    package static let databaseTableName = "audit_event"

    package var id: Int64?
    package var atMilliseconds: Int64
    /// Who: the token's id and name ("" when the call carried no valid token).
    package var tokenID: String
    package var tokenName: String
    /// From where: the peer address.
    package var peer: String
    /// What: the RPC ("enrich.v1.Admin/CreateModel") and the object it named ("model users").
    package var method: String
    package var object: String
    /// The object before and after, as JSON ("" when it did not exist).
    package var before: String
    package var after: String
    /// The outcome: a status code number (0 OK) and its message.
    package var outcomeCode: Int
    package var outcomeMessage: String

    package init(
        atMilliseconds: Int64, tokenID: String, tokenName: String, peer: String, method: String, object: String,
        before: String, after: String, outcomeCode: Int, outcomeMessage: String
    ) {
        self.id = nil
        self.atMilliseconds = atMilliseconds
        self.tokenID = tokenID
        self.tokenName = tokenName
        self.peer = peer
        self.method = method
        self.object = object
        self.before = before
        self.after = after
        self.outcomeCode = outcomeCode
        self.outcomeMessage = outcomeMessage
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { self.id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id
        case atMilliseconds = "at_ms"
        case tokenID = "token_id"
        case tokenName = "token_name"
        case peer, method, object
        case before = "before_json"
        case after = "after_json"
        case outcomeCode = "outcome_code"
        case outcomeMessage = "outcome_message"
    }
}

/// What to list from the audit trail; nil fields do not filter.
package struct AuditFilter: Sendable, Hashable {
    package var method: String?
    package var tokenID: String?
    package var object: String?
    package var sinceMilliseconds: Int64?
    /// Only events with a smaller id (for paging, newest first).
    package var beforeID: Int64?
    package var limit: Int

    package init(
        method: String? = nil, tokenID: String? = nil, object: String? = nil, sinceMilliseconds: Int64? = nil,
        beforeID: Int64? = nil, limit: Int = 100
    ) {
        self.method = method
        self.tokenID = tokenID
        self.object = object
        self.sinceMilliseconds = sinceMilliseconds
        self.beforeID = beforeID
        self.limit = limit
    }
}

extension Catalog {
    static func registerAuditMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4_audit_trail") { db in
            try db.create(table: "audit_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at_ms", .integer).notNull().indexed()
                t.column("token_id", .text).notNull()
                t.column("token_name", .text).notNull()
                t.column("peer", .text).notNull()
                t.column("method", .text).notNull()
                t.column("object", .text).notNull()
                t.column("before_json", .text).notNull()
                t.column("after_json", .text).notNull()
                t.column("outcome_code", .integer).notNull()
                t.column("outcome_message", .text).notNull()
            }
        }
    }

    /// Appends an event to the audit trail.
    @discardableResult
    package func recordAudit(_ event: AuditRecord) throws(CatalogError) -> AuditRecord {
        try self.write { db in
            var event = event
            try event.insert(db)
            return event
        }
    }

    /// Audit events matching `filter`, newest first.
    package func auditEvents(_ filter: AuditFilter) throws(CatalogError) -> [AuditRecord] {
        try self.read { db in
            var request = AuditRecord.all()
            if let method = filter.method { request = request.filter(Column("method") == method) }
            if let token = filter.tokenID { request = request.filter(Column("token_id") == token) }
            if let object = filter.object { request = request.filter(Column("object") == object) }
            if let since = filter.sinceMilliseconds { request = request.filter(Column("at_ms") >= since) }
            if let before = filter.beforeID { request = request.filter(Column("id") < before) }
            return try request.order(Column("id").desc).limit(filter.limit).fetchAll(db)
        }
    }

    /// Deletes audit events older than `milliseconds`; returns how many.
    package func pruneAudit(before milliseconds: Int64) throws(CatalogError) -> Int {
        try self.write { db in try AuditRecord.filter(Column("at_ms") < milliseconds).deleteAll(db) }
    }
}
