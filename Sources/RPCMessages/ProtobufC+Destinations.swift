import CProtos

// Bridges destinations.proto. Written to the same pattern as ProtobufC+Admin.swift.

extension ModelMatch: ProtobufCBridged {
    static let protoName = "enrich.v1.ModelMatch"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ModelMatch>) { enrich__v1__model_match__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ModelMatch>? { enrich__v1__model_match__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ModelMatch>) {
        self.init(
            model: readString(m.pointee.model),
            matchProperty: readString(m.pointee.match_property)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ModelMatch>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.match_property = arena.string(self.matchProperty)
    }
}

extension ColumnEnrichment: ProtobufCBridged {
    static let protoName = "enrich.v1.ColumnEnrichment"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ColumnEnrichment>) { enrich__v1__column_enrichment__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ColumnEnrichment>? { enrich__v1__column_enrichment__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ColumnEnrichment>) {
        self.init(
            model: readString(m.pointee.model),
            column: readString(m.pointee.column),
            key: readString(m.pointee.key)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ColumnEnrichment>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.column = arena.string(self.column)
        m.pointee.key = arena.string(self.key)
    }
}

extension DestinationMapping: ProtobufCBridged {
    static let protoName = "enrich.v1.DestinationMapping"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DestinationMapping>) { enrich__v1__destination_mapping__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DestinationMapping>? { enrich__v1__destination_mapping__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DestinationMapping>) {
        self.init(
            name: readString(m.pointee.name),
            condition: readString(m.pointee.condition),
            matches: readMessages(m.pointee.n_matches, m.pointee.matches, as: ModelMatch.self),
            enrichments: readMessages(m.pointee.n_enrichments, m.pointee.enrichments, as: ColumnEnrichment.self),
            fieldsJSON: readString(m.pointee.fields_json)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DestinationMapping>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.condition = arena.string(self.condition)
        m.pointee.n_matches = self.matches.count
        m.pointee.matches = arena.messages(self.matches)
        m.pointee.n_enrichments = self.enrichments.count
        m.pointee.enrichments = arena.messages(self.enrichments)
        m.pointee.fields_json = arena.string(self.fieldsJSON)
    }
}

extension DestinationStats: ProtobufCBridged {
    static let protoName = "enrich.v1.DestinationStats"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DestinationStats>) { enrich__v1__destination_stats__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DestinationStats>? { enrich__v1__destination_stats__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DestinationStats>) {
        self.init(
            events: m.pointee.events,
            enriched: m.pointee.enriched,
            partiallyEnriched: m.pointee.partially_enriched,
            notEnriched: m.pointee.not_enriched,
            unmatched: m.pointee.unmatched
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DestinationStats>, _ arena: CArena) {
        m.pointee.events = self.events
        m.pointee.enriched = self.enriched
        m.pointee.partially_enriched = self.partiallyEnriched
        m.pointee.not_enriched = self.notEnriched
        m.pointee.unmatched = self.unmatched
    }
}

extension Destination: ProtobufCBridged {
    static let protoName = "enrich.v1.Destination"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__Destination>) { enrich__v1__destination__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__Destination>? { enrich__v1__destination__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__Destination>) {
        self.init(
            name: readString(m.pointee.name),
            mappings: readMessages(m.pointee.n_mappings, m.pointee.mappings, as: DestinationMapping.self),
            version: m.pointee.version,
            createdAtMilliseconds: m.pointee.created_at_ms,
            stats: m.pointee.stats.map { DestinationStats(c: $0) }
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__Destination>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.n_mappings = self.mappings.count
        m.pointee.mappings = arena.messages(self.mappings)
        m.pointee.version = self.version
        m.pointee.created_at_ms = self.createdAtMilliseconds
        m.pointee.stats = self.stats.map { arena.message($0) }
    }
}

extension CreateDestinationRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.CreateDestinationRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__CreateDestinationRequest>) { enrich__v1__create_destination_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__CreateDestinationRequest>? { enrich__v1__create_destination_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__CreateDestinationRequest>) {
        self.init(
            name: readString(m.pointee.name),
            mappings: readMessages(m.pointee.n_mappings, m.pointee.mappings, as: DestinationMapping.self)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__CreateDestinationRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.n_mappings = self.mappings.count
        m.pointee.mappings = arena.messages(self.mappings)
    }
}

extension GetDestinationRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.GetDestinationRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__GetDestinationRequest>) { enrich__v1__get_destination_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__GetDestinationRequest>? { enrich__v1__get_destination_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__GetDestinationRequest>) {
        self.init(
            name: readString(m.pointee.name)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__GetDestinationRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
    }
}

extension ListDestinationsRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListDestinationsRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListDestinationsRequest>) { enrich__v1__list_destinations_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListDestinationsRequest>? { enrich__v1__list_destinations_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListDestinationsRequest>) {
        self.init(
            pageSize: m.pointee.page_size,
            pageToken: readString(m.pointee.page_token),
            namePrefix: readString(m.pointee.name_prefix)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListDestinationsRequest>, _ arena: CArena) {
        m.pointee.page_size = self.pageSize
        m.pointee.page_token = arena.string(self.pageToken)
        m.pointee.name_prefix = arena.string(self.namePrefix)
    }
}

extension ListDestinationsResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListDestinationsResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListDestinationsResponse>) { enrich__v1__list_destinations_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListDestinationsResponse>? { enrich__v1__list_destinations_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListDestinationsResponse>) {
        self.init(
            destinations: readMessages(m.pointee.n_destinations, m.pointee.destinations, as: Destination.self),
            nextPageToken: readString(m.pointee.next_page_token)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListDestinationsResponse>, _ arena: CArena) {
        m.pointee.n_destinations = self.destinations.count
        m.pointee.destinations = arena.messages(self.destinations)
        m.pointee.next_page_token = arena.string(self.nextPageToken)
    }
}

extension UpdateDestinationRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.UpdateDestinationRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__UpdateDestinationRequest>) { enrich__v1__update_destination_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__UpdateDestinationRequest>? { enrich__v1__update_destination_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__UpdateDestinationRequest>) {
        self.init(
            name: readString(m.pointee.name),
            mappings: readMessages(m.pointee.n_mappings, m.pointee.mappings, as: DestinationMapping.self),
            expectedVersion: m.pointee.expected_version
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__UpdateDestinationRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.n_mappings = self.mappings.count
        m.pointee.mappings = arena.messages(self.mappings)
        m.pointee.expected_version = self.expectedVersion
    }
}

extension DeleteDestinationRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.DeleteDestinationRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DeleteDestinationRequest>) { enrich__v1__delete_destination_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DeleteDestinationRequest>? { enrich__v1__delete_destination_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DeleteDestinationRequest>) {
        self.init(
            name: readString(m.pointee.name)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DeleteDestinationRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
    }
}

extension DeleteDestinationResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.DeleteDestinationResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DeleteDestinationResponse>) { enrich__v1__delete_destination_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DeleteDestinationResponse>? { enrich__v1__delete_destination_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DeleteDestinationResponse>) { self.init() }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DeleteDestinationResponse>, _ arena: CArena) {}
}

extension EntityMatch: ProtobufCBridged {
    static let protoName = "enrich.v1.EntityMatch"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__EntityMatch>) { enrich__v1__entity_match__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__EntityMatch>? { enrich__v1__entity_match__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__EntityMatch>) {
        self.init(
            model: readString(m.pointee.model),
            keyPresent: m.pointee.key_present != 0,
            key: readString(m.pointee.key),
            found: m.pointee.found != 0,
            rowJSON: readBytes(m.pointee.row_json)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__EntityMatch>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.key_present = self.keyPresent ? 1 : 0
        m.pointee.key = arena.string(self.key)
        m.pointee.found = self.found ? 1 : 0
        m.pointee.row_json = arena.bytes(self.rowJSON)
    }
}

extension MappingOutcome: ProtobufCBridged {
    static let protoName = "enrich.v1.MappingOutcome"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__MappingOutcome>) { enrich__v1__mapping_outcome__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__MappingOutcome>? { enrich__v1__mapping_outcome__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__MappingOutcome>) {
        self.init(
            mapping: readString(m.pointee.mapping),
            conditionMatched: m.pointee.condition_matched != 0,
            outcome: EnrichOutcome(rawValue: enumNumber(m.pointee.outcome)) ?? .unspecified,
            entities: readMessages(m.pointee.n_entities, m.pointee.entities, as: EntityMatch.self),
            enrichedEvent: readBytes(m.pointee.enriched_event),
            output: readBytes(m.pointee.output),
            error: readString(m.pointee.error)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__MappingOutcome>, _ arena: CArena) {
        m.pointee.mapping = arena.string(self.mapping)
        m.pointee.condition_matched = self.conditionMatched ? 1 : 0
        m.pointee.outcome = cEnum(self.outcome.rawValue, as: Enrich__V1__EnrichOutcome.self)
        m.pointee.n_entities = self.entities.count
        m.pointee.entities = arena.messages(self.entities)
        m.pointee.enriched_event = arena.bytes(self.enrichedEvent)
        m.pointee.output = arena.bytes(self.output)
        m.pointee.error = arena.string(self.error)
    }
}

extension TestMappingRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.TestMappingRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__TestMappingRequest>) { enrich__v1__test_mapping_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__TestMappingRequest>? { enrich__v1__test_mapping_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__TestMappingRequest>) {
        self.init(
            destination: readString(m.pointee.destination),
            mapping: readString(m.pointee.mapping),
            inlineMapping: m.pointee.inline_mapping.map { DestinationMapping(c: $0) },
            event: readBytes(m.pointee.event)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__TestMappingRequest>, _ arena: CArena) {
        m.pointee.destination = arena.string(self.destination)
        m.pointee.mapping = arena.string(self.mapping)
        m.pointee.inline_mapping = self.inlineMapping.map { arena.message($0) }
        m.pointee.event = arena.bytes(self.event)
    }
}

extension TestMappingResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.TestMappingResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__TestMappingResponse>) { enrich__v1__test_mapping_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__TestMappingResponse>? { enrich__v1__test_mapping_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__TestMappingResponse>) {
        self.init(
            result: m.pointee.result.map { MappingOutcome(c: $0) }
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__TestMappingResponse>, _ arena: CArena) {
        m.pointee.result = self.result.map { arena.message($0) }
    }
}
