public import GRDB

/// A column of a model as the catalog stores it. `type` is a cache type name ("int64", "string", ...).
public struct CatalogColumn: Codable, Sendable, Hashable {
    public var name: String
    public var type: String
    public var sourceType: String

    public init(name: String, type: String, sourceType: String) {
        self.name = name
        self.type = type
        self.sourceType = sourceType
    }
}

/// A model: a warehouse table or query plus its primary key.
public struct ModelRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "model"

    public var name: String
    public var warehouse: String
    /// Exactly one of `sourceTable` and `sourceQuery` is non-empty.
    public var sourceTable: String
    public var sourceQuery: String
    public var primaryKey: String
    public var columns: [CatalogColumn]
    public var createdAtMilliseconds: Int64
    /// Bumped on every update, for optimistic concurrency.
    public var version: Int64

    public init(
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
        case name, warehouse, sourceTable = "source_table", sourceQuery = "source_query", primaryKey = "primary_key"
        case columns, createdAtMilliseconds = "created_at_ms", version
    }
}

public enum RunStatus: String, Codable, Sendable, Hashable {
    case inProgress = "in_progress"
    case success
    case partialSuccess = "partial_success"
    case failed
}

public enum RunPhase: String, Codable, Sendable, Hashable {
    case extract
    case load
    case done
}

/// A row that a sync left out, as the run records it.
public struct RunIssue: Codable, Sendable, Hashable {
    public var rowNumber: Int
    public var key: String?
    public var reason: String

    public init(rowNumber: Int, key: String?, reason: String) {
        self.rowNumber = rowNumber
        self.key = key
        self.reason = reason
    }
}

/// One sync of one model.
public struct SyncRunRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "sync_run"

    public var id: Int64?
    public var model: String
    public var status: RunStatus
    public var phase: RunPhase
    public var startedAtMilliseconds: Int64
    public var finishedAtMilliseconds: Int64?
    public var rowsExpected: Int64
    public var rowsRead: Int64
    public var rowsAdded: Int64
    public var rowsChanged: Int64
    public var rowsRemoved: Int64
    public var rowsFailed: Int64
    public var error: String?
    /// The first rows left out (up to the builder's limit), with reasons.
    public var issues: [RunIssue]
    /// Whether the run was cut short by the server stopping (or crashing); such a model is synced again at the
    /// next start.
    public var interrupted: Bool

    public init(model: String, startedAtMilliseconds: Int64) {
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

    public var isFinished: Bool { self.status != .inProgress }

    public mutating func didInsert(_ inserted: InsertionSuccess) { self.id = inserted.rowID }

    enum CodingKeys: String, CodingKey {
        case id, model, status, phase, startedAtMilliseconds = "started_at_ms", finishedAtMilliseconds = "finished_at_ms"
        case rowsExpected = "rows_expected", rowsRead = "rows_read", rowsAdded = "rows_added"
        case rowsChanged = "rows_changed", rowsRemoved = "rows_removed", rowsFailed = "rows_failed", error, issues
        case interrupted
    }
}
