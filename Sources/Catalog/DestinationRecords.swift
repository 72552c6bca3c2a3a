import GRDB

/// A model match of a stored mapping.
package struct MatchRecord: Codable, Sendable, Hashable {
    package var model: String
    package var matchProperty: String
    package init(model: String, matchProperty: String) {
        self.model = model
        self.matchProperty = matchProperty
    }
}

/// An enrichment of a stored mapping.
package struct EnrichmentRecord: Codable, Sendable, Hashable {
    package var model: String
    package var column: String
    package var key: String
    package init(model: String, column: String, key: String) {
        self.model = model
        self.column = column
        self.key = key
    }
}

/// A stored destination mapping, in the order the destination lists it.
package struct MappingRecord: Codable, Sendable, Hashable {
    package var name: String
    package var condition: String
    package var matches: [MatchRecord]
    package var enrichments: [EnrichmentRecord]
    /// The mapping-kit object as JSON text; empty for none.
    package var fieldsJSON: String

    package init(
        name: String, condition: String, matches: [MatchRecord], enrichments: [EnrichmentRecord], fieldsJSON: String
    ) {
        self.name = name
        self.condition = condition
        self.matches = matches
        self.enrichments = enrichments
        self.fieldsJSON = fieldsJSON
    }
}

/// A destination and its mappings.
package struct DestinationRecord: Sendable, Hashable {
    package var name: String
    package var mappings: [MappingRecord]
    package var version: Int64
    package var createdAtMilliseconds: Int64

    package init(name: String, mappings: [MappingRecord], version: Int64 = 1, createdAtMilliseconds: Int64) {
        self.name = name
        self.mappings = mappings
        self.version = version
        self.createdAtMilliseconds = createdAtMilliseconds
    }
}

/// Rows of the `destination` table.
struct DestinationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "destination"
    var name: String
    var createdAtMilliseconds: Int64
    var version: Int64

    enum CodingKeys: String, CodingKey {
        case name
        case createdAtMilliseconds = "created_at_ms"
        case version
    }
}

/// Rows of the `destination_mapping` table.
struct DestinationMappingRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "destination_mapping"
    var destination: String
    var position: Int
    var name: String
    var condition: String
    var matches: [MatchRecord]
    var enrichments: [EnrichmentRecord]
    var fieldsJSON: String

    enum CodingKeys: String, CodingKey {
        case destination, position, name, condition, matches, enrichments
        case fieldsJSON = "fields_json"
    }

    var record: MappingRecord {
        MappingRecord(
            name: self.name, condition: self.condition, matches: self.matches, enrichments: self.enrichments,
            fieldsJSON: self.fieldsJSON)
    }
}

extension Catalog {
    static func registerDestinationMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2_destinations_and_mappings") { db in
            try db.create(table: "destination") { t in
                t.primaryKey("name", .text)
                t.column("created_at_ms", .integer).notNull()
                t.column("version", .integer).notNull()
            }
            try db.create(table: "destination_mapping") { t in
                t.column("destination", .text).notNull().references("destination", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("condition", .text).notNull()
                t.column("matches", .jsonText).notNull()
                t.column("enrichments", .jsonText).notNull()
                t.column("fields_json", .text).notNull()
                t.primaryKey(["destination", "name"])
            }
        }
    }

    private static func load(_ db: Database, _ row: DestinationRow) throws -> DestinationRecord {
        let mappings = try DestinationMappingRow.filter(Column("destination") == row.name).order(Column("position"))
            .fetchAll(db)
        return DestinationRecord(
            name: row.name, mappings: mappings.map(\.record), version: row.version,
            createdAtMilliseconds: row.createdAtMilliseconds
        )
    }

    private static func insertMappings(_ db: Database, destination: String, _ mappings: [MappingRecord]) throws {
        for (position, mapping) in mappings.enumerated() {
            try DestinationMappingRow(
                destination: destination, position: position, name: mapping.name, condition: mapping.condition,
                matches: mapping.matches, enrichments: mapping.enrichments, fieldsJSON: mapping.fieldsJSON
            ).insert(db)
        }
    }

    /// Stores a new destination with its mappings, in one transaction.
    /// - Throws: `.destinationAlreadyExists`.
    package func createDestination(_ destination: DestinationRecord) throws(CatalogError) {
        try self.write { db in
            if try DestinationRow.exists(db, key: destination.name) {
                throw CatalogError.destinationAlreadyExists(name: destination.name)
            }
            try DestinationRow(
                name: destination.name, createdAtMilliseconds: destination.createdAtMilliseconds,
                version: destination.version
            ).insert(db)
            try Self.insertMappings(db, destination: destination.name, destination.mappings)
        }
    }

    /// The destination called `name` with its mappings.
    /// - Throws: `.destinationNotFound`.
    package func destination(named name: String) throws(CatalogError) -> DestinationRecord {
        try self.read { db in
            guard let row = try DestinationRow.fetchOne(db, key: name) else {
                throw CatalogError.destinationNotFound(name: name)
            }
            return try Self.load(db, row)
        }
    }

    /// Destinations in name order after `name`, at most `limit`.
    package func listDestinations(
        after name: String?, limit: Int, prefix: String = ""
    ) throws(CatalogError) -> [DestinationRecord] {
        try self.read { db in
            var request = DestinationRow.order(Column("name"))
            if let name { request = request.filter(Column("name") > name) }
            if !prefix.isEmpty { request = request.filter(Column("name").like(Self.likePattern(prefix), escape: "\\")) }
            return try request.limit(limit).fetchAll(db).map { try Self.load(db, $0) }
        }
    }

    /// Replaces a destination's mappings when its version is `expectedVersion` (0 skips the check), bumping
    /// the version. All or nothing.
    /// - Throws: `.destinationNotFound`, `.versionConflict`.
    package func updateDestination(
        name: String, mappings: [MappingRecord], expectedVersion: Int64
    ) throws(CatalogError) -> DestinationRecord {
        try self.write { db in
            guard var row = try DestinationRow.fetchOne(db, key: name) else {
                throw CatalogError.destinationNotFound(name: name)
            }
            if expectedVersion != 0 && expectedVersion != row.version {
                throw CatalogError.versionConflict(name: name, expected: expectedVersion, actual: row.version)
            }
            row.version += 1
            try row.update(db)
            try DestinationMappingRow.filter(Column("destination") == name).deleteAll(db)
            try Self.insertMappings(db, destination: name, mappings)
            return try Self.load(db, row)
        }
    }

    /// Deletes a destination and its mappings.
    /// - Throws: `.destinationNotFound`.
    package func deleteDestination(name: String) throws(CatalogError) {
        try self.write { db in
            guard try DestinationRow.deleteOne(db, key: name) else {
                throw CatalogError.destinationNotFound(name: name)
            }
        }
    }
}
