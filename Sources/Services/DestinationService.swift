import Catalog
import EventJSON
import Mapping
import RPCCall
import RPCCore
import RPCMessages

/// Admin RPCs for destinations and their mappings. Every write is validated whole (conditions parsed, field
/// mappings validated, models and columns checked) before one catalog transaction stores it.
struct DestinationService: Sendable {
    let catalog: Catalog
    let registry: DestinationRegistry
    let limits: Limits
    let now: @Sendable () -> Int64
    let audit: AuditLog

    private func stored(_ name: String) -> String { AuditLog.json(try? self.catalog.destination(named: name)) }

    func register(into registry: inout Router) {
        registry.unary(Methods.createDestination) { (request: CreateDestinationRequest, context) in
            try await self.audit.write(context, object: "destination \(request.name)", before: { "" }) {
                (try self.create(request), self.stored(request.name))
            }
        }
        registry.unary(Methods.getDestination) { (request: GetDestinationRequest, _) in try self.get(request) }
        registry.unary(Methods.listDestinations) { (request: ListDestinationsRequest, _) in try self.list(request) }
        registry.unary(Methods.updateDestination) { (request: UpdateDestinationRequest, context) in
            try await self.audit.write(
                context, object: "destination \(request.name)", before: { self.stored(request.name) }
            ) {
                (try self.update(request), self.stored(request.name))
            }
        }
        registry.unary(Methods.deleteDestination) { (request: DeleteDestinationRequest, context) in
            try await self.audit.write(
                context, object: "destination \(request.name)", before: { self.stored(request.name) }
            ) {
                try Validation.name(request.name, kind: "destination", limit: self.limits.maxNameBytes)
                try self.catalog.deleteDestination(name: request.name)
                self.registry.invalidate(request.name)
                self.registry.forgetStats(for: request.name)
                return (DeleteDestinationResponse(), "")
            }
        }
    }

    /// Checks names, sizes and limits, then compiles every mapping against the catalog.
    func validated(destination name: String, _ mappings: [DestinationMapping]) throws -> [MappingRecord] {
        try Validation.name(name, kind: "destination", limit: self.limits.maxNameBytes)
        guard mappings.count <= self.limits.maxDestinationMappings else {
            throw RPCError(
                .resourceExhausted,
                "\(mappings.count) mappings exceed the limit of \(self.limits.maxDestinationMappings) per destination")
        }
        var seen = Set<String>()
        for mapping in mappings {
            try Validation.name(mapping.name, kind: "mapping", limit: self.limits.maxNameBytes)
            guard seen.insert(mapping.name).inserted else {
                throw RPCError(
                    .invalidArgument, "mapping name '\(mapping.name)' is used twice in destination '\(name)'")
            }
            try self.checkSizes(mapping)
        }
        let records = mappings.map(Self.record)
        _ = try self.registry.compile(name: name, records)
        return records
    }

    func checkSizes(_ mapping: DestinationMapping) throws {
        guard mapping.fieldsJSON.utf8.count <= self.limits.maxMappingFieldsBytes else {
            throw RPCError(
                .resourceExhausted,
                "mapping '\(mapping.name)': field mappings are \(mapping.fieldsJSON.utf8.count) bytes; the limit is \(self.limits.maxMappingFieldsBytes)"
            )
        }
        guard mapping.condition.utf8.count <= self.limits.maxConditionBytes else {
            throw RPCError(
                .resourceExhausted,
                "mapping '\(mapping.name)': condition is \(mapping.condition.utf8.count) bytes; the limit is \(self.limits.maxConditionBytes)"
            )
        }
    }

    static func record(_ mapping: DestinationMapping) -> MappingRecord {
        MappingRecord(
            name: mapping.name, condition: mapping.condition,
            matches: mapping.matches.map { MatchRecord(model: $0.model, matchProperty: $0.matchProperty) },
            enrichments: mapping.enrichments.map { EnrichmentRecord(model: $0.model, column: $0.column, key: $0.key) },
            fieldsJSON: mapping.fieldsJSON
        )
    }

    func message(_ record: DestinationRecord) -> Destination {
        Destination(
            name: record.name,
            mappings: record.mappings.map { mapping in
                DestinationMapping(
                    name: mapping.name, condition: mapping.condition,
                    matches: mapping.matches.map {
                        RPCMessages.ModelMatch(model: $0.model, matchProperty: $0.matchProperty)
                    },
                    enrichments: mapping.enrichments.map {
                        RPCMessages.ColumnEnrichment(model: $0.model, column: $0.column, key: $0.key)
                    },
                    fieldsJSON: mapping.fieldsJSON
                )
            },
            version: UInt64(record.version), createdAtMilliseconds: record.createdAtMilliseconds,
            stats: self.registry.stats(for: record.name)
        )
    }

    func create(_ request: CreateDestinationRequest) throws -> Destination {
        let mappings = try self.validated(destination: request.name, request.mappings)
        let record = DestinationRecord(name: request.name, mappings: mappings, createdAtMilliseconds: self.now())
        try self.catalog.createDestination(record)
        self.registry.invalidate(request.name)
        return self.message(record)
    }

    func get(_ request: GetDestinationRequest) throws -> Destination {
        try Validation.name(request.name, kind: "destination", limit: self.limits.maxNameBytes)
        return self.message(try self.catalog.destination(named: request.name))
    }

    func list(_ request: ListDestinationsRequest) throws -> ListDestinationsResponse {
        let size = request.pageSize == 0 ? 100 : Int(request.pageSize)
        guard size <= self.limits.maxPageSize else {
            throw RPCError(.invalidArgument, "page size \(size) exceeds the limit of \(self.limits.maxPageSize)")
        }
        let records = try self.catalog.listDestinations(
            after: request.pageToken.isEmpty ? nil : request.pageToken, limit: size + 1, prefix: request.namePrefix
        )
        let page = records.prefix(size)
        return ListDestinationsResponse(
            // Non-empty page.
            destinations: page.map(self.message), nextPageToken: records.count > size ? page.last!.name : ""
        )
    }

    func update(_ request: UpdateDestinationRequest) throws -> Destination {
        let mappings = try self.validated(destination: request.name, request.mappings)
        let record = try self.catalog.updateDestination(
            name: request.name, mappings: mappings, expectedVersion: Int64(clamping: request.expectedVersion)
        )
        self.registry.invalidate(request.name)
        return self.message(record)
    }
}
