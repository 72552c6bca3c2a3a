import Enrichment
import EventJSON
import Mapping
import ModelCache
import RPCCall
import RPCCore
import RPCMessages

/// Enrich through a destination's mappings, and the TestMapping dry run, which shares every step with it so
/// it shows exactly what live traffic gets. The engine is `DestinationEnrichment`; this is the RPC around it.
extension EnrichService {
    /// Enrich through a destination's mappings: inline when its compiled plan is cached and every mapping runs on
    /// the tape; on the work pool when the plan must be read from the catalog first, or a mapping has field
    /// mappings (which may render Liquid and read anything).
    func enrichThroughDestination(
        _ request: EnrichRequestView, body: UnsafeRawBufferPointer
    ) throws(RPCError) -> InlineOutcome {
        guard request.model.isEmpty, request.keyPath.isEmpty, request.enrichments.isEmpty else {
            throw RPCError(
                .invalidArgument,
                "with a destination, leave model, key_path and enrichments empty: its mappings say them")
        }
        let name = request.destination.string(in: body)
        let job = DestinationEnrichJob(service: self, destination: name, events: request.events)
        if let plan = self.destinations.cached(named: name), plan.runsOnTape {
            job.prepare(plan)
            return .job(job)
        }
        return .offload(job)
    }

    func testMapping(
        _ request: TestMappingRequest, destinations service: DestinationService
    ) throws -> TestMappingResponse {
        guard request.event.count <= self.limits.maxEventBytes else {
            throw RPCError(
                .invalidArgument, "the event is \(request.event.count) bytes; the limit is \(self.limits.maxEventBytes)"
            )
        }
        let event: MappingValue
        do {
            event = MappingValue(try JSONParser.parse(request.event))
        } catch {
            throw RPCError(.invalidArgument, "the event is not valid JSON: \(error)")
        }
        guard case .object = event else { throw RPCError(.invalidArgument, "the event is not a JSON object") }
        let plan: DestinationPlan
        let mapping: CompiledDestinationMapping
        if let inline = request.inlineMapping {
            guard request.mapping.isEmpty else {
                throw RPCError(.invalidArgument, "give a saved mapping's name or an inline mapping, not both")
            }
            try Validation.name(inline.name, kind: "mapping", limit: self.limits.maxNameBytes)
            try service.checkSizes(inline)
            plan = try self.destinations.compile(name: request.destination, [DestinationService.record(inline)])
            mapping = plan.mappings[0]
        } else {
            guard !request.destination.isEmpty, !request.mapping.isEmpty else {
                throw RPCError(
                    .invalidArgument, "name a destination and one of its mappings, or give an inline mapping")
            }
            plan = try self.destinations.destination(named: request.destination)
            guard let saved = plan.mappings.first(where: { $0.definition.name == request.mapping }) else {
                throw RPCError(.notFound, "destination '\(request.destination)' has no mapping '\(request.mapping)'")
            }
            mapping = saved
        }
        let result = plan.test(mapping, event: event, snapshots: plan.snapshots(from: self.cache))
        return TestMappingResponse(result: Self.message(result))
    }

    /// The wire form of a dry run's result, with the entity rows.
    static func message(_ result: MappingResult) -> MappingOutcome {
        MappingOutcome(
            mapping: result.mapping, conditionMatched: result.conditionMatched, outcome: WireSink.wire(result.outcome),
            entities: result.entities.map { entity in
                switch entity.result {
                case .noKey: EntityMatch(model: entity.model)
                case .notFound(let key): EntityMatch(model: entity.model, keyPresent: true, key: key)
                case .found(let key, let row):
                    EntityMatch(
                        model: entity.model, keyPresent: true, key: key, found: true,
                        rowJSON: JSONWriter.bytes(.object(JSONObject(row.columns.map { ($0.name, $0.value) })))
                    )
                }
            },
            enrichedEvent: result.enrichedEvent.map(JSONWriter.bytes) ?? [],
            output: result.output.map(JSONWriter.bytes) ?? [], error: result.error ?? ""
        )
    }

    /// An error from the catalog or the registry as the call's status.
    static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as any RPCErrorConvertible: error.rpcError
        default: RPCError(.internalError, "internal error")
        }
    }
}

/// Enrich through a destination, an event at a time (`DestinationEnrichment`), the clock read every few events
/// (`ClockCheck`).
final class DestinationEnrichJob: InlineJob {
    let service: EnrichService
    let destination: String
    let events: [ByteSpan]
    private var engine: DestinationEnrichment?
    private var writer: WireSink
    private var next = 0
    private var clock = ClockCheck()

    init(service: EnrichService, destination: String, events: [ByteSpan]) {
        self.service = service
        self.destination = destination
        self.events = events
        self.writer = WireSink(reserving: events.reduce(64) { $0 + $1.count * 3 + 16 })
    }

    /// Takes the compiled plan and the snapshots its models are served from, once per request.
    func prepare(_ plan: DestinationPlan) {
        self.engine = DestinationEnrichment(
            plan: plan, cache: self.service.cache, maxEventBytes: self.service.limits.maxEventBytes)
    }

    func step(
        payload: UnsafeRawBufferPointer, until: ContinuousClock.Instant
    ) throws(RPCError) -> (any MessageSerializer)? {
        if self.engine == nil {
            // Offloaded: the plan is read from the catalog here, on the work pool.
            do { self.prepare(try self.service.destinations.destination(named: self.destination)) } catch {
                throw EnrichService.rpcError(error)
            }
        }
        let events = self.events
        while self.next < events.count {
            // Set above.
            self.engine!.enrich(
                self.next, of: events.count, events: { events[$0].bytes(in: payload) }, into: &self.writer)
            self.next += 1
            if self.clock.due(after: events[self.next - 1].count), ContinuousClock.now >= until,
                self.next < events.count
            {
                return nil
            }
        }
        self.service.destinations.record(destination: self.destination, self.engine!.tally)
        return self.writer.finished()
    }
}
