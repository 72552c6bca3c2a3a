import Catalog
import ModelCache
import RPCMessages

// Catalog and cache records to wire messages.

extension Model {
    /// - Parameters:
    ///   - snapshot: the snapshot being served, if any.
    ///   - served: the run that made it; `latest`: the model's latest run, whatever its outcome.
    init(
        _ record: ModelRecord, snapshot: ModelSnapshot? = nil, served: SyncRunRecord? = nil,
        latest: SyncRunRecord? = nil
    ) {
        self.init(
            name: record.name, warehouse: record.warehouse, table: record.sourceTable, query: record.sourceQuery,
            primaryKey: record.primaryKey,
            columns: record.columns.map {
                Column(name: $0.name, type: ColumnType(DataType(rawValue: $0.type)), sourceType: $0.sourceType)
            },
            createdAtMilliseconds: record.createdAtMilliseconds, version: UInt64(record.version),
            cachedRows: UInt64(snapshot?.rowCount ?? 0), servedRunID: snapshot?.version ?? 0,
            servedAtMilliseconds: served?.finishedAtMilliseconds ?? 0, lastRunID: UInt64(latest?.id ?? 0),
            lastRunStatus: latest.map { SyncStatus($0.status) } ?? .unspecified,
            lastRunFinishedAtMilliseconds: latest?.finishedAtMilliseconds ?? 0,
            lastRunError: latest.map { SyncRun($0).error } ?? ""
        )
    }
}

extension SyncStatus {
    init(_ status: RunStatus) {
        switch status {
        case .inProgress: self = .inProgress
        case .success: self = .success
        case .partialSuccess: self = .partialSuccess
        case .failed: self = .failed
        }
    }
}

extension ColumnType {
    init(_ type: DataType?) {
        switch type {
        case .int64: self = .int64
        case .double: self = .double
        case .bool: self = .bool
        case .string: self = .string
        case .timestamp: self = .timestamp
        case nil: self = .unspecified
        }
    }
}

extension SyncRun {
    init(_ record: SyncRunRecord) {
        let status = SyncStatus(record.status)
        let phase: SyncPhase =
            switch record.phase {
            case .extract: .extract
            case .load: .load
            case .done: .done
            }
        var error = record.error ?? ""
        if error.isEmpty, !record.issues.isEmpty {
            // Partial success: name the first rows left out, so the run says why without another call.
            error = record.issues.prefix(5).map { issue in
                "row \(issue.rowNumber)\(issue.key.map { " (key \($0))" } ?? ""): \(issue.reason)"
            }.joined(separator: "; ")
        }
        self.init(
            id: UInt64(record.id ?? 0), model: record.model, status: status, phase: phase,
            startedAtMilliseconds: record.startedAtMilliseconds,
            finishedAtMilliseconds: record.finishedAtMilliseconds ?? 0, rowsRead: UInt64(record.rowsRead),
            rowsAdded: UInt64(record.rowsAdded), rowsChanged: UInt64(record.rowsChanged),
            rowsRemoved: UInt64(record.rowsRemoved), rowsFailed: UInt64(record.rowsFailed), error: error,
            rowsExpected: UInt64(record.rowsExpected), cancelled: record.cancelled
        )
    }
}

extension RunIssue {
    init(_ issue: RunIssueRecord) {
        self.init(
            rowNumber: UInt64(max(0, issue.rowNumber)), key: issue.key ?? "", keyPresent: issue.key != nil,
            reason: issue.reason, attempt: UInt32(clamping: issue.attempt ?? 0), givenUp: issue.givenUp ?? false)
    }
}
