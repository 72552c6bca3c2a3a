import GRDB

/// A model's schedule as stored: its text form and the next time it is due.
package struct ScheduleRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    package static let databaseTableName = "model_schedule"

    package var model: String
    /// The schedule's text form ("every 1h", "daily 09:30 Europe/Paris", "cron */30 * * * *", "manual").
    package var spec: String
    /// Milliseconds since the epoch, or nil when manual.
    package var nextRunMilliseconds: Int64?

    package init(model: String, spec: String, nextRunMilliseconds: Int64?) {
        self.model = model
        self.spec = spec
        self.nextRunMilliseconds = nextRunMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case model, spec
        case nextRunMilliseconds = "next_run_ms"
    }
}

extension Catalog {
    static func registerScheduleMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5_model_schedules") { db in
            try db.create(table: "model_schedule") { t in
                t.primaryKey("model", .text).references("model", onDelete: .cascade)
                t.column("spec", .text).notNull()
                t.column("next_run_ms", .integer)
            }
        }
    }

    /// Stores (or replaces) a model's schedule.
    /// - Throws: `.modelNotFound`.
    package func setSchedule(_ schedule: ScheduleRecord) throws(CatalogError) {
        try self.write { db in
            guard try ModelRecord.exists(db, key: schedule.model) else {
                throw CatalogError.modelNotFound(name: schedule.model)
            }
            try schedule.save(db)
        }
    }

    /// Every stored schedule, by model name.
    package func schedules() throws(CatalogError) -> [ScheduleRecord] {
        try self.read { try ScheduleRecord.order(Column("model")).fetchAll($0) }
    }
}
