public struct LookupRequest: Sendable, Hashable {
    public var model: String
    /// Columns to return, in order; empty means all.
    public var columns: [String]
    public var stringKeys: [String]
    public var intKeys: [Int64]

    public init(model: String, columns: [String] = [], stringKeys: [String] = [], intKeys: [Int64] = []) {
        self.model = model
        self.columns = columns
        self.stringKeys = stringKeys
        self.intKeys = intKeys
    }
}

/// One column's values for every requested key, in key order. Exactly one value array matches `type`.
public struct ColumnValues: Sendable, Hashable {
    public var name: String
    public var type: ColumnType
    /// True where the key was not found or the value is NULL.
    public var nulls: [Bool]
    public var int64Values: [Int64]
    public var doubleValues: [Double]
    public var boolValues: [Bool]
    public var stringValues: [String]

    public init(
        name: String, type: ColumnType, nulls: [Bool] = [], int64Values: [Int64] = [], doubleValues: [Double] = [],
        boolValues: [Bool] = [], stringValues: [String] = []
    ) {
        self.name = name
        self.type = type
        self.nulls = nulls
        self.int64Values = int64Values
        self.doubleValues = doubleValues
        self.boolValues = boolValues
        self.stringValues = stringValues
    }
}

public struct LookupResponse: Sendable, Hashable {
    public var found: [Bool]
    public var columns: [ColumnValues]
    public init(found: [Bool] = [], columns: [ColumnValues] = []) {
        self.found = found
        self.columns = columns
    }
}

/// Copies a model column into the event under `key` (a dotted path).
public struct Enrichment: Sendable, Hashable {
    public var column: String
    public var key: String
    public init(column: String, key: String) {
        self.column = column
        self.key = key
    }
}

public struct EnrichRequest: Sendable, Hashable {
    public var model: String
    public var keyPath: String
    public var enrichments: [Enrichment]
    /// Events as UTF-8 JSON objects.
    public var events: [[UInt8]]
    /// When set, events go through this destination's mappings; model, keyPath and enrichments stay empty.
    public var destination: String

    public init(model: String = "", keyPath: String = "", enrichments: [Enrichment] = [], events: [[UInt8]], destination: String = "") {
        self.model = model
        self.keyPath = keyPath
        self.enrichments = enrichments
        self.events = events
        self.destination = destination
    }
}

public enum EnrichOutcome: UInt32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case enriched = 1
    case partiallyEnriched = 2
    case notEnriched = 3

    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .enriched: "enriched"
        case .partiallyEnriched: "partially enriched"
        case .notEnriched: "not enriched"
        }
    }
}

public enum MissReason: UInt32, Sendable, Hashable, CaseIterable {
    case none = 0
    case noKey = 1
    case notFound = 2
    case invalidEvent = 3
    case noMappingMatched = 4

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

public struct EnrichedEvent: Sendable, Hashable {
    public var outcome: EnrichOutcome
    public var reason: MissReason
    /// The event as UTF-8 JSON.
    public var event: [UInt8]
    public var error: String
    /// With a destination: the mappings whose condition matched, with their outputs.
    public var mappings: [MappingOutcome]

    public init(outcome: EnrichOutcome, reason: MissReason = .none, event: [UInt8], error: String = "", mappings: [MappingOutcome] = []) {
        self.outcome = outcome
        self.reason = reason
        self.event = event
        self.error = error
        self.mappings = mappings
    }
}

public struct EnrichResponse: Sendable, Hashable {
    public var events: [EnrichedEvent]
    public init(events: [EnrichedEvent] = []) { self.events = events }
}
