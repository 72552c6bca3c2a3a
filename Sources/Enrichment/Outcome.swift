import Mapping

/// Why an event was not (fully) enriched.
package enum EnrichmentMiss: Sendable, Hashable {
    /// Enriched, or partially (some rows found).
    case none
    /// The event has no key where the key path or a match property points.
    case noKey
    /// The key's row is not in the model.
    case notFound
    /// Not a JSON object, or over the size limit; the event's error says which.
    case invalidEvent
    /// No mapping's condition matched the event.
    case noMappingMatched
}

/// Outcome counts of one request's events, recorded together by the caller (one lock and one counter update
/// per outcome per request, not per event).
package struct Tally: Sendable, Equatable {
    package var enriched = 0
    package var partiallyEnriched = 0
    package var notEnriched = 0
    /// Events no mapping's condition matched (counted in `notEnriched` too).
    package var unmatched = 0

    package init() {}

    package var events: Int { self.enriched + self.partiallyEnriched + self.notEnriched }

    mutating func add(_ outcome: EnrichmentOutcome, matched: Bool) {
        switch outcome {
        case .enriched: self.enriched += 1
        case .partiallyEnriched: self.partiallyEnriched += 1
        case .notEnriched: self.notEnriched += 1
        }
        if !matched { self.unmatched += 1 }
    }
}

/// An event's outcome from its matched mappings: enriched when every model of every matched mapping found its
/// row, partially when some did; otherwise why not.
enum Verdict {
    static func of(
        models: Int, found: Int, anyNotFound: Bool, matched: Bool, tally: inout Tally
    ) -> (EnrichmentOutcome, EnrichmentMiss) {
        let outcome = EnrichmentOutcome(models: models, found: found)
        tally.add(outcome, matched: matched)
        var reason = EnrichmentMiss.none
        if !matched {
            reason = .noMappingMatched
        } else if outcome == .notEnriched {
            reason = anyNotFound ? .notFound : .noKey
        }
        return (outcome, reason)
    }
}
