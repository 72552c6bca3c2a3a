import Enrichment
import Mapping
import RPCMessages

/// The engine's answers written as `EnrichResponse` bytes: `EnrichResponseWriter` (RPCMessages) as an
/// `EnrichmentSink`, the engine's outcomes mapped to their wire numbers.
struct WireSink: EnrichmentSink {
    var writer: EnrichResponseWriter

    init(reserving capacity: Int) { self.writer = EnrichResponseWriter(reserving: capacity) }

    func finished() -> PreEncodedMessage { self.writer.finished() }

    mutating func appendEvent(
        outcome: EnrichmentOutcome, reason: EnrichmentMiss, event: UnsafeRawBufferPointer,
        error: UnsafeRawBufferPointer,
        mappingCount: Int, mapping: (Int) -> MappingPart
    ) {
        self.writer.appendEvent(
            outcome: Self.wire(outcome), reason: Self.wire(reason), event: event, error: error,
            mappingCount: mappingCount
        ) { index in
            let part = mapping(index)
            return EnrichResponseWriter.MappingFields(
                name: part.name, conditionMatched: part.conditionMatched, outcome: Self.wire(part.outcome),
                output: part.output,
                error: part.error
            )
        }
    }

    static func wire(_ outcome: EnrichmentOutcome) -> EnrichOutcome {
        switch outcome {
        case .enriched: .enriched
        case .partiallyEnriched: .partiallyEnriched
        case .notEnriched: .notEnriched
        }
    }

    static func wire(_ reason: EnrichmentMiss) -> MissReason {
        switch reason {
        case .none: .none
        case .noKey: .noKey
        case .notFound: .notFound
        case .invalidEvent: .invalidEvent
        case .noMappingMatched: .noMappingMatched
        }
    }
}
