public struct ModelMatch: Sendable, Hashable {
    public var model: String
    public var matchProperty: String
    public init(model: String, matchProperty: String) {
        self.model = model
        self.matchProperty = matchProperty
    }
}

public struct ColumnEnrichment: Sendable, Hashable {
    public var model: String
    public var column: String
    public var key: String
    public init(model: String, column: String, key: String) {
        self.model = model
        self.column = column
        self.key = key
    }
}

/// A destination mapping: condition (Segment FQL), model matches, enrichments and mapping-kit field mappings.
public struct DestinationMapping: Sendable, Hashable {
    public var name: String
    public var condition: String
    public var matches: [ModelMatch]
    public var enrichments: [ColumnEnrichment]
    /// A mapping-kit object as JSON text; empty sends the enriched event itself.
    public var fieldsJSON: String

    public init(name: String, condition: String = "", matches: [ModelMatch] = [], enrichments: [ColumnEnrichment] = [], fieldsJSON: String = "") {
        self.name = name
        self.condition = condition
        self.matches = matches
        self.enrichments = enrichments
        self.fieldsJSON = fieldsJSON
    }
}

public struct DestinationStats: Sendable, Hashable {
    public var events: UInt64
    public var enriched: UInt64
    public var partiallyEnriched: UInt64
    public var notEnriched: UInt64
    public var unmatched: UInt64
    public init(events: UInt64 = 0, enriched: UInt64 = 0, partiallyEnriched: UInt64 = 0, notEnriched: UInt64 = 0, unmatched: UInt64 = 0) {
        self.events = events
        self.enriched = enriched
        self.partiallyEnriched = partiallyEnriched
        self.notEnriched = notEnriched
        self.unmatched = unmatched
    }
}

public struct Destination: Sendable, Hashable {
    public var name: String
    public var mappings: [DestinationMapping]
    public var version: UInt64
    public var createdAtMilliseconds: Int64
    public var stats: DestinationStats?
    public init(name: String = "", mappings: [DestinationMapping] = [], version: UInt64 = 0, createdAtMilliseconds: Int64 = 0, stats: DestinationStats? = nil) {
        self.name = name
        self.mappings = mappings
        self.version = version
        self.createdAtMilliseconds = createdAtMilliseconds
        self.stats = stats
    }
}

public struct CreateDestinationRequest: Sendable, Hashable {
    public var name: String
    public var mappings: [DestinationMapping]
    public init(name: String, mappings: [DestinationMapping]) {
        self.name = name
        self.mappings = mappings
    }
}

public struct GetDestinationRequest: Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct ListDestinationsRequest: Sendable, Hashable {
    public var pageSize: UInt32
    public var pageToken: String
    /// Only destinations whose name starts with this.
    public var namePrefix: String
    public init(pageSize: UInt32 = 0, pageToken: String = "", namePrefix: String = "") {
        self.pageSize = pageSize
        self.pageToken = pageToken
        self.namePrefix = namePrefix
    }
}

public struct ListDestinationsResponse: Sendable, Hashable {
    public var destinations: [Destination]
    public var nextPageToken: String
    public init(destinations: [Destination] = [], nextPageToken: String = "") {
        self.destinations = destinations
        self.nextPageToken = nextPageToken
    }
}

public struct UpdateDestinationRequest: Sendable, Hashable {
    public var name: String
    public var mappings: [DestinationMapping]
    /// Must equal the stored version; 0 skips the check.
    public var expectedVersion: UInt64
    public init(name: String, mappings: [DestinationMapping], expectedVersion: UInt64) {
        self.name = name
        self.mappings = mappings
        self.expectedVersion = expectedVersion
    }
}

public struct DeleteDestinationRequest: Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct DeleteDestinationResponse: Sendable, Hashable {
    public init() {}
}

public struct EntityMatch: Sendable, Hashable {
    public var model: String
    public var keyPresent: Bool
    public var key: String
    public var found: Bool
    /// The row as a JSON object, when found.
    public var rowJSON: [UInt8]
    public init(model: String, keyPresent: Bool = false, key: String = "", found: Bool = false, rowJSON: [UInt8] = []) {
        self.model = model
        self.keyPresent = keyPresent
        self.key = key
        self.found = found
        self.rowJSON = rowJSON
    }
}

public struct MappingOutcome: Sendable, Hashable {
    public var mapping: String
    public var conditionMatched: Bool
    public var outcome: EnrichOutcome
    public var entities: [EntityMatch]
    public var enrichedEvent: [UInt8]
    public var output: [UInt8]
    public var error: String
    public init(
        mapping: String, conditionMatched: Bool = false, outcome: EnrichOutcome = .unspecified, entities: [EntityMatch] = [],
        enrichedEvent: [UInt8] = [], output: [UInt8] = [], error: String = ""
    ) {
        self.mapping = mapping
        self.conditionMatched = conditionMatched
        self.outcome = outcome
        self.entities = entities
        self.enrichedEvent = enrichedEvent
        self.output = output
        self.error = error
    }
}

public struct TestMappingRequest: Sendable, Hashable {
    public var destination: String
    public var mapping: String
    public var inlineMapping: DestinationMapping?
    public var event: [UInt8]
    public init(destination: String = "", mapping: String = "", inlineMapping: DestinationMapping? = nil, event: [UInt8]) {
        self.destination = destination
        self.mapping = mapping
        self.inlineMapping = inlineMapping
        self.event = event
    }
}

public struct TestMappingResponse: Sendable, Hashable {
    public var result: MappingOutcome?
    public init(result: MappingOutcome? = nil) { self.result = result }
}
