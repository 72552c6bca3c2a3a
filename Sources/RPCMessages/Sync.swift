public enum SyncStatus: UInt32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case inProgress = 1
    case success = 2
    case partialSuccess = 3
    case failed = 4

    /// How the status reads in tables: "in progress", "partial success", ...
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .inProgress: "in progress"
        case .success: "success"
        case .partialSuccess: "partial success"
        case .failed: "failed"
        }
    }
}

public enum SyncPhase: UInt32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case extract = 1
    case load = 2
    case done = 3

    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .extract: "extract"
        case .load: "load"
        case .done: "done"
        }
    }
}

/// One sync of one model, as the catalog records it.
public struct SyncRun: Sendable, Hashable {
    public var id: UInt64
    public var model: String
    public var status: SyncStatus
    public var phase: SyncPhase
    public var startedAtMilliseconds: Int64
    public var finishedAtMilliseconds: Int64
    public var rowsRead: UInt64
    public var rowsAdded: UInt64
    public var rowsChanged: UInt64
    public var rowsRemoved: UInt64
    public var rowsFailed: UInt64
    public var error: String
    public var rowsExpected: UInt64

    public init(
        id: UInt64 = 0, model: String = "", status: SyncStatus = .unspecified, phase: SyncPhase = .unspecified,
        startedAtMilliseconds: Int64 = 0, finishedAtMilliseconds: Int64 = 0, rowsRead: UInt64 = 0,
        rowsAdded: UInt64 = 0, rowsChanged: UInt64 = 0, rowsRemoved: UInt64 = 0, rowsFailed: UInt64 = 0,
        error: String = "", rowsExpected: UInt64 = 0
    ) {
        self.id = id
        self.model = model
        self.status = status
        self.phase = phase
        self.startedAtMilliseconds = startedAtMilliseconds
        self.finishedAtMilliseconds = finishedAtMilliseconds
        self.rowsRead = rowsRead
        self.rowsAdded = rowsAdded
        self.rowsChanged = rowsChanged
        self.rowsRemoved = rowsRemoved
        self.rowsFailed = rowsFailed
        self.error = error
        self.rowsExpected = rowsExpected
    }

    /// True once the run has a final status.
    public var isFinished: Bool { self.status != .inProgress && self.status != .unspecified }
}

public struct TriggerSyncRequest: Sendable, Hashable {
    public var model: String
    public var fullResync: Bool
    public init(model: String, fullResync: Bool = false) {
        self.model = model
        self.fullResync = fullResync
    }
}

public struct GetSyncRunRequest: Sendable, Hashable {
    public var id: UInt64
    public init(id: UInt64) { self.id = id }
}

public struct ListSyncRunsRequest: Sendable, Hashable {
    public var model: String
    public var limit: UInt32
    public init(model: String, limit: UInt32 = 0) {
        self.model = model
        self.limit = limit
    }
}

public struct ListSyncRunsResponse: Sendable, Hashable {
    public var runs: [SyncRun]
    public init(runs: [SyncRun] = []) { self.runs = runs }
}

public struct WatchSyncRequest: Sendable, Hashable {
    public var id: UInt64
    public init(id: UInt64) { self.id = id }
}
