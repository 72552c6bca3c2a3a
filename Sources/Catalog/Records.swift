package import GRDB

/// A column of a model as the catalog stores it. `type` is a cache type name ("int64", "string", ...).
package struct CatalogColumn: Codable, Sendable, Hashable {
    package var name: String
    package var type: String
    package var sourceType: String

    package init(name: String, type: String, sourceType: String) {
        self.name = name
        self.type = type
        self.sourceType = sourceType
    }
}

/// A model: a warehouse table or query plus its primary key.
package struct ModelRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    package static let databaseTableName = "model"

    package var name: String
    package var warehouse: String
    /// Exactly one of `sourceTable` and `sourceQuery` is non-empty.
    package var sourceTable: String
    package var sourceQuery: String
    package var primaryKey: String
    package var columns: [CatalogColumn]
    package var createdAtMilliseconds: Int64
    /// Bumped on every update, for optimistic concurrency.
    package var version: Int64

    package init(
        name: String, warehouse: String, sourceTable: String, sourceQuery: String, primaryKey: String,
        columns: [CatalogColumn], createdAtMilliseconds: Int64, version: Int64 = 1
    ) {
        self.name = name
        self.warehouse = warehouse
        self.sourceTable = sourceTable
        self.sourceQuery = sourceQuery
        self.primaryKey = primaryKey
        self.columns = columns
        self.createdAtMilliseconds = createdAtMilliseconds
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case name, warehouse
        case sourceTable = "source_table"
        case sourceQuery = "source_query"
        case primaryKey = "primary_key"
        case columns
        case createdAtMilliseconds = "created_at_ms"
        case version
    }
}

package enum RunStatus: String, Codable, Sendable, Hashable {
    case inProgress = "in_progress"
    case success
    case partialSuccess = "partial_success"
    case failed
}

package enum RunPhase: String, Codable, Sendable, Hashable {
    case extract
    case load
    case done
}

/// A row that a sync left out, as the run records it.
package struct RunIssueRecord: Codable, Sendable, Hashable {
    package var rowNumber: Int
    package var key: String?
    package var reason: String
    /// Syncs in a row that left this key out (nil when not tracked: no key, or runs recorded before it was).
    package var attempt: Int?
    /// Past the retry limit: retried only when the row changes.
    package var givenUp: Bool?

    package init(rowNumber: Int, key: String?, reason: String, attempt: Int? = nil, givenUp: Bool? = nil) {
        self.rowNumber = rowNumber
        self.key = key
        self.reason = reason
        self.attempt = attempt
        self.givenUp = givenUp
    }
}

/// One sync of one model.
package struct SyncRunRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    package static let databaseTableName = "sync_run"

    package var id: Int64?
    package var model: String
    package var status: RunStatus
    package var phase: RunPhase
    package var startedAtMilliseconds: Int64
    package var finishedAtMilliseconds: Int64?
    package var rowsExpected: Int64
    package var rowsRead: Int64
    package var rowsAdded: Int64
    package var rowsChanged: Int64
    package var rowsRemoved: Int64
    package var rowsFailed: Int64
    package var error: String?
    /// The first rows left out (up to the builder's limit), with reasons.
    package var issues: [RunIssueRecord]
    /// Whether the run was cut short by the server stopping (or crashing); such a model is synced again at the
    /// next start.
    package var interrupted: Bool
    /// Whether a CancelSync call stopped the run.
    package var cancelled: Bool = false

    package init(model: String, startedAtMilliseconds: Int64) {
        self.id = nil
        self.model = model
        self.status = .inProgress
        self.phase = .extract
        self.startedAtMilliseconds = startedAtMilliseconds
        self.finishedAtMilliseconds = nil
        self.rowsExpected = 0
        self.rowsRead = 0
        self.rowsAdded = 0
        self.rowsChanged = 0
        self.rowsRemoved = 0
        self.rowsFailed = 0
        self.error = nil
        self.issues = []
        self.interrupted = false
    }

    package var isFinished: Bool { self.status != .inProgress }

    package mutating func didInsert(_ inserted: InsertionSuccess) { self.id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id, model, status, phase
        case startedAtMilliseconds = "started_at_ms"
        case finishedAtMilliseconds = "finished_at_ms"
        case rowsExpected = "rows_expected"
        case rowsRead = "rows_read"
        case rowsAdded = "rows_added"
        case rowsChanged = "rows_changed"
        case rowsRemoved = "rows_removed"
        case rowsFailed = "rows_failed"
        case error, issues
        case interrupted, cancelled
    }
}
