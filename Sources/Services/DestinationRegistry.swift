import Catalog
import CoreMetrics
import EventJSON
import Mapping
import RPCCore
import RPCMessages
import Synchronization

/// Compiled destinations (conditions parsed, field mappings validated) shared by the admin and enrich
/// services, plus per-destination outcome counts. Entries are compiled on first use and dropped on writes.
final class DestinationRegistry: Sendable {
    struct Compiled: Sendable {
        let name: String
        let mappings: [CompiledDestinationMapping]
        /// Schema and table of each model a mapping references, for Segment's long entity references.
        let tables: [String: (schema: String, table: String)]
        /// The columns live traffic needs from each model's rows: the enrichments' columns, or nil (every column)
        /// when a mapping of the model has field mappings, which may read any entity column.
        let neededColumns: [String: Set<String>?]
    }

    private let catalog: Catalog
    private let compiled = Mutex<[String: Compiled]>([:])
    private let counts = Mutex<[String: DestinationStats]>([:])
    private let metricsFactory: (any MetricsFactory)?
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])

    init(catalog: Catalog, metricsFactory: (any MetricsFactory)? = nil) {
        self.catalog = catalog
        self.metricsFactory = metricsFactory
    }

    /// The compiled destination if it is cached (no catalog read).
    func cached(named name: String) -> Compiled? { self.compiled.withLock { $0[name] } }

    /// The compiled destination, loading it from the catalog on a miss.
    func destination(named name: String) throws -> Compiled {
        if let hit = self.compiled.withLock({ $0[name] }) { return hit }
        let record = try self.catalog.destination(named: name)
        let compiled = try self.compile(name: name, record.mappings)
        self.compiled.withLock { $0[name] = compiled }
        return compiled
    }

    func invalidate(_ name: String) {
        _ = self.compiled.withLock { $0.removeValue(forKey: name) }
    }

    /// Compiles stored or submitted mappings, checking every model and column they name against the catalog.
    /// - Throws: `RPCError(.invalidArgument)` naming the mapping and what is wrong.
    func compile(name: String, _ mappings: [MappingRecord]) throws -> Compiled {
        var compiled: [CompiledDestinationMapping] = []
        var tables: [String: (schema: String, table: String)] = [:]
        var needed: [String: Set<String>?] = [:]
        for mapping in mappings {
            for match in mapping.matches {
                let existing = needed[match.model]  // nil: not seen yet; .some(nil): every column.
                if case .some(.none) = existing { continue }
                guard mapping.fieldsJSON.isEmpty else {
                    needed[match.model] = .some(nil)
                    continue
                }
                var columns = existing.flatMap { $0 } ?? []
                for enrichment in mapping.enrichments where enrichment.model == match.model { columns.insert(enrichment.column) }
                needed[match.model] = .some(columns)
            }
            let definition = try Self.definition(mapping)
            do {
                compiled.append(try CompiledDestinationMapping(definition))
            } catch {
                throw RPCError(.invalidArgument, error.description)
            }
            for match in mapping.matches {
                guard let model = try? self.catalog.model(named: match.model) else {
                    throw RPCError(.invalidArgument, "mapping '\(mapping.name)': model '\(match.model)' does not exist")
                }
                tables[model.name] = ("main", model.sourceTable.isEmpty ? model.name : model.sourceTable)
                for enrichment in mapping.enrichments where enrichment.model == model.name {
                    guard model.columns.contains(where: { $0.name == enrichment.column }) else {
                        throw RPCError(
                            .invalidArgument,
                            "mapping '\(mapping.name)': column '\(enrichment.column)' does not exist in model '\(model.name)'"
                        )
                    }
                }
            }
        }
        return Compiled(name: name, mappings: compiled, tables: tables, neededColumns: needed)
    }

    static func definition(_ mapping: MappingRecord) throws -> MappingDefinition {
        var fields: JSONValue? = nil
        if !mapping.fieldsJSON.isEmpty {
            do {
                fields = try JSONParser.parse(mapping.fieldsJSON)
            } catch {
                throw RPCError(.invalidArgument, "mapping '\(mapping.name)': field mappings are not valid JSON: \(error)")
            }
        }
        return MappingDefinition(
            name: mapping.name, condition: mapping.condition,
            matches: mapping.matches.map { Mapping.ModelMatch(model: $0.model, matchProperty: $0.matchProperty) },
            enrichments: mapping.enrichments.map { Mapping.ColumnEnrichment(model: $0.model, column: $0.column, key: $0.key) },
            fields: fields
        )
    }

    // MARK: - Outcome counts

    /// Outcome counts of one request's events, recorded together: one lock and one counter update per outcome
    /// per request, not per event.
    struct Tally {
        var enriched = 0
        var partiallyEnriched = 0
        var notEnriched = 0
        var unmatched = 0

        mutating func add(_ outcome: EnrichmentOutcome, matched: Bool) {
            switch outcome {
            case .enriched: self.enriched += 1
            case .partiallyEnriched: self.partiallyEnriched += 1
            case .notEnriched: self.notEnriched += 1
            }
            if !matched { self.unmatched += 1 }
        }
    }

    func record(destination: String, _ tally: Tally) {
        if let factory = self.metricsFactory {
            for (outcome, count) in [(EnrichmentOutcome.enriched, tally.enriched), (.partiallyEnriched, tally.partiallyEnriched), (.notEnriched, tally.notEnriched)] where count > 0 {
                let key = "\(destination)|\(outcome.rawValue)"
                let counter = self.counters.withLock { counters in
                    if let existing = counters[key] { return existing }
                    let made = CoreMetrics.Counter(
                        label: "enrich_destination_events_total", dimensions: [("destination", destination), ("outcome", outcome.rawValue)],
                        factory: factory
                    )
                    counters[key] = made
                    return made
                }
                counter.increment(by: count)
            }
        }
        self.counts.withLock { counts in
            var stats = counts[destination] ?? DestinationStats()
            stats.events += UInt64(tally.enriched + tally.partiallyEnriched + tally.notEnriched)
            stats.enriched += UInt64(tally.enriched)
            stats.partiallyEnriched += UInt64(tally.partiallyEnriched)
            stats.notEnriched += UInt64(tally.notEnriched)
            stats.unmatched += UInt64(tally.unmatched)
            counts[destination] = stats
        }
    }

    func stats(for destination: String) -> DestinationStats {
        self.counts.withLock { $0[destination] ?? DestinationStats() }
    }

    func forgetStats(for destination: String) {
        _ = self.counts.withLock { $0.removeValue(forKey: destination) }
    }
}
