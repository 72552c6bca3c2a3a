package import Mapping

/// Where the engine writes each event's answer: the wire layer implements it to encode straight into a response
/// (`EnrichResponseWriter`), tests to collect values (`CollectingSink`). Byte arguments point into the engine's
/// buffers and are valid only during the call.
package protocol EnrichmentSink {
    /// One event's answer: its outcome, the reason when not enriched, the event's bytes (enriched, or as sent),
    /// an error (invalid events), and `mappingCount` mapping results that `mapping(i)` gives (it may be called
    /// more than once per mapping).
    mutating func appendEvent(
        outcome: EnrichmentOutcome, reason: EnrichmentMiss, event: UnsafeRawBufferPointer,
        error: UnsafeRawBufferPointer,
        mappingCount: Int, mapping: (Int) -> MappingPart
    )
}

/// One mapping's result for an event, as a sink sees it.
package struct MappingPart {
    package var name: UnsafeRawBufferPointer
    /// False when the condition could not be decided within its budget (`error` says so).
    package var conditionMatched: Bool
    package var outcome: EnrichmentOutcome
    /// The mapping's output event (JSON), empty on error.
    package var output: UnsafeRawBufferPointer
    package var error: UnsafeRawBufferPointer

    package init(
        name: UnsafeRawBufferPointer, conditionMatched: Bool, outcome: EnrichmentOutcome,
        output: UnsafeRawBufferPointer,
        error: UnsafeRawBufferPointer
    ) {
        self.name = name
        self.conditionMatched = conditionMatched
        self.outcome = outcome
        self.output = output
        self.error = error
    }
}

/// An event's answer as values: what the tree path builds, and what `CollectingSink` collects.
package struct EventResult: Sendable, Equatable {
    package struct Mapping: Sendable, Equatable {
        package var name: String
        package var conditionMatched: Bool
        package var outcome: EnrichmentOutcome
        package var output: [UInt8]
        package var error: String

        package init(name: String, conditionMatched: Bool, outcome: EnrichmentOutcome, output: [UInt8], error: String) {
            self.name = name
            self.conditionMatched = conditionMatched
            self.outcome = outcome
            self.output = output
            self.error = error
        }
    }

    package var outcome: EnrichmentOutcome
    package var reason: EnrichmentMiss
    package var event: [UInt8]
    package var error: String
    package var mappings: [Mapping]

    package init(
        outcome: EnrichmentOutcome, reason: EnrichmentMiss, event: [UInt8], error: String = "", mappings: [Mapping] = []
    ) {
        self.outcome = outcome
        self.reason = reason
        self.event = event
        self.error = error
        self.mappings = mappings
    }

    static func invalid(_ bytes: UnsafeRawBufferPointer, _ error: String) -> EventResult {
        EventResult(outcome: .notEnriched, reason: .invalidEvent, event: Array(bytes), error: error)
    }
}

extension EnrichmentSink {
    /// Writes an answer built as values (the tree path, refusals).
    package mutating func append(_ result: EventResult) {
        // The mappings' byte fields must stay valid while `appendEvent` reads them: copy the names, outputs and
        // errors into one buffer and point into it.
        var arena: [UInt8] = []
        var spans: [(name: Range<Int>, output: Range<Int>, error: Range<Int>)] = []
        func add(_ bytes: some Collection<UInt8>) -> Range<Int> {
            let start = arena.count
            arena.append(contentsOf: bytes)
            return start..<arena.count
        }
        for mapping in result.mappings {
            spans.append((add(mapping.name.utf8), add(mapping.output), add(mapping.error.utf8)))
        }
        let errorRange = add(result.error.utf8)
        result.event.withUnsafeBytes { event in
            arena.withUnsafeBytes { arena in
                self.appendEvent(
                    outcome: result.outcome, reason: result.reason, event: event,
                    error: UnsafeRawBufferPointer(rebasing: arena[errorRange]),
                    mappingCount: result.mappings.count
                ) { index in
                    let span = spans[index]
                    return MappingPart(
                        name: UnsafeRawBufferPointer(rebasing: arena[span.name]),
                        conditionMatched: result.mappings[index].conditionMatched,
                        outcome: result.mappings[index].outcome,
                        output: UnsafeRawBufferPointer(rebasing: arena[span.output]),
                        error: UnsafeRawBufferPointer(rebasing: arena[span.error])
                    )
                }
            }
        }
    }
}

/// A sink that keeps every answer as values (tests, and callers that want values rather than bytes).
package struct CollectingSink: EnrichmentSink {
    package private(set) var results: [EventResult] = []

    package init() {}

    package mutating func appendEvent(
        outcome: EnrichmentOutcome, reason: EnrichmentMiss, event: UnsafeRawBufferPointer,
        error: UnsafeRawBufferPointer,
        mappingCount: Int, mapping: (Int) -> MappingPart
    ) {
        self.results.append(
            EventResult(
                outcome: outcome, reason: reason, event: Array(event), error: String(decoding: error, as: UTF8.self),
                mappings: (0..<mappingCount).map { index in
                    let part = mapping(index)
                    return EventResult.Mapping(
                        name: String(decoding: part.name, as: UTF8.self), conditionMatched: part.conditionMatched,
                        outcome: part.outcome,
                        output: Array(part.output), error: String(decoding: part.error, as: UTF8.self)
                    )
                }
            ))
    }
}
