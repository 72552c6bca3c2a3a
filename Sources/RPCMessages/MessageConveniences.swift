import RPCCore

// Hand-written conveniences on the generated messages (Generated/*.pb.swift): names for tables and logs, and
// shorthands. Nothing here is part of the wire format.

extension ColumnType {
    /// The lower-case name used in tables and JSON output.
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .int64: "int64"
        case .double: "double"
        case .bool: "bool"
        case .string: "string"
        case .timestamp: "timestamp"
        }
    }
}

extension EnrichOutcome {
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .enriched: "enriched"
        case .partiallyEnriched: "partially enriched"
        case .notEnriched: "not enriched"
        }
    }
}

extension MissReason {
    /// Empty for `.none`.
    public var name: String {
        switch self {
        case .none: ""
        case .noKey: "no key"
        case .notFound: "not found"
        case .invalidEvent: "invalid event"
        case .noMappingMatched: "no mapping matched"
        }
    }
}

extension SyncStatus {
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

extension SyncPhase {
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .extract: "extract"
        case .load: "load"
        case .done: "done"
        }
    }
}

extension SyncRun {
    /// True once the run has a final status.
    public var isFinished: Bool { self.status != .inProgress && self.status != .unspecified }
}

extension Status {
    public static let ok = Status(code: .ok)
}
