import CProtos

extension LookupRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.LookupRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__LookupRequest>) { enrich__v1__lookup_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__LookupRequest>? {
        enrich__v1__lookup_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__LookupRequest>) {
        let c = m.pointee
        self.init(
            model: readString(c.model), columns: readStrings(c.n_columns, c.columns),
            stringKeys: readStrings(c.n_string_keys, c.string_keys), intKeys: readScalars(c.n_int_keys, c.int_keys)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__LookupRequest>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.n_columns = self.columns.count
        m.pointee.columns = arena.strings(self.columns)
        m.pointee.n_string_keys = self.stringKeys.count
        m.pointee.string_keys = arena.strings(self.stringKeys)
        m.pointee.n_int_keys = self.intKeys.count
        m.pointee.int_keys = arena.scalars(self.intKeys)
    }
}

extension ColumnValues: ProtobufCBridged {
    static let protoName = "enrich.v1.ColumnValues"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ColumnValues>) { enrich__v1__column_values__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ColumnValues>? {
        enrich__v1__column_values__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__ColumnValues>) {
        let c = m.pointee
        self.init(
            name: readString(c.name), type: ColumnType(rawValue: enumNumber(c.type)) ?? .unspecified,
            nulls: readBooleans(c.n_nulls, c.nulls), int64Values: readScalars(c.n_int64_values, c.int64_values),
            doubleValues: readScalars(c.n_double_values, c.double_values),
            boolValues: readBooleans(c.n_bool_values, c.bool_values),
            stringValues: readStrings(c.n_string_values, c.string_values)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ColumnValues>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.type = cEnum(self.type.rawValue, as: Enrich__V1__ColumnType.self)
        m.pointee.n_nulls = self.nulls.count
        m.pointee.nulls = arena.booleans(self.nulls)
        m.pointee.n_int64_values = self.int64Values.count
        m.pointee.int64_values = arena.scalars(self.int64Values)
        m.pointee.n_double_values = self.doubleValues.count
        m.pointee.double_values = arena.scalars(self.doubleValues)
        m.pointee.n_bool_values = self.boolValues.count
        m.pointee.bool_values = arena.booleans(self.boolValues)
        m.pointee.n_string_values = self.stringValues.count
        m.pointee.string_values = arena.strings(self.stringValues)
    }
}

extension LookupResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.LookupResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__LookupResponse>) { enrich__v1__lookup_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__LookupResponse>? {
        enrich__v1__lookup_response__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__LookupResponse>) {
        self.init(
            found: readBooleans(m.pointee.n_found, m.pointee.found),
            columns: readMessages(m.pointee.n_columns, m.pointee.columns, as: ColumnValues.self)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__LookupResponse>, _ arena: CArena) {
        m.pointee.n_found = self.found.count
        m.pointee.found = arena.booleans(self.found)
        m.pointee.n_columns = self.columns.count
        m.pointee.columns = arena.messages(self.columns)
    }
}

extension Enrichment: ProtobufCBridged {
    static let protoName = "enrich.v1.Enrichment"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__Enrichment>) { enrich__v1__enrichment__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__Enrichment>? {
        enrich__v1__enrichment__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__Enrichment>) {
        self.init(column: readString(m.pointee.column), key: readString(m.pointee.key))
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__Enrichment>, _ arena: CArena) {
        m.pointee.column = arena.string(self.column)
        m.pointee.key = arena.string(self.key)
    }
}

extension EnrichRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.EnrichRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__EnrichRequest>) { enrich__v1__enrich_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__EnrichRequest>? {
        enrich__v1__enrich_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__EnrichRequest>) {
        let c = m.pointee
        var events: [[UInt8]] = []
        if let pointer = c.events {
            events = (0..<c.n_events).map { readBytes(pointer[$0]) }
        }
        self.init(
            model: readString(c.model), keyPath: readString(c.key_path),
            enrichments: readMessages(c.n_enrichments, c.enrichments, as: Enrichment.self), events: events,
            destination: readString(c.destination)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__EnrichRequest>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.key_path = arena.string(self.keyPath)
        m.pointee.n_enrichments = self.enrichments.count
        m.pointee.enrichments = arena.messages(self.enrichments)
        m.pointee.destination = arena.string(self.destination)
        m.pointee.n_events = self.events.count
        if !self.events.isEmpty {
            let pointer = arena.array(self.events.count, of: ProtobufCBinaryData.self)
            for (index, event) in self.events.enumerated() { pointer[index] = arena.bytes(event) }
            m.pointee.events = pointer
        }
    }
}

extension EnrichedEvent: ProtobufCBridged {
    static let protoName = "enrich.v1.EnrichedEvent"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__EnrichedEvent>) { enrich__v1__enriched_event__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__EnrichedEvent>? {
        enrich__v1__enriched_event__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__EnrichedEvent>) {
        self.init(
            outcome: EnrichOutcome(rawValue: enumNumber(m.pointee.outcome)) ?? .unspecified,
            reason: MissReason(rawValue: enumNumber(m.pointee.reason)) ?? .none,
            event: readBytes(m.pointee.event), error: readString(m.pointee.error),
            mappings: readMessages(m.pointee.n_mappings, m.pointee.mappings, as: MappingOutcome.self)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__EnrichedEvent>, _ arena: CArena) {
        m.pointee.outcome = cEnum(self.outcome.rawValue, as: Enrich__V1__EnrichOutcome.self)
        m.pointee.reason = cEnum(self.reason.rawValue, as: Enrich__V1__MissReason.self)
        m.pointee.event = arena.bytes(self.event)
        m.pointee.error = arena.string(self.error)
        m.pointee.n_mappings = self.mappings.count
        m.pointee.mappings = arena.messages(self.mappings)
    }
}

extension EnrichResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.EnrichResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__EnrichResponse>) { enrich__v1__enrich_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__EnrichResponse>? {
        enrich__v1__enrich_response__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__EnrichResponse>) {
        self.init(events: readMessages(m.pointee.n_events, m.pointee.events, as: EnrichedEvent.self))
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__EnrichResponse>, _ arena: CArena) {
        m.pointee.n_events = self.events.count
        m.pointee.events = arena.messages(self.events)
    }
}
