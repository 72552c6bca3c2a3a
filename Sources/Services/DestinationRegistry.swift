import Catalog
import CoreMetrics
import Enrichment
import EventJSON
import Mapping
import RPCCore
import RPCMessages
import SyncEngine
import Synchronization
import Warehouses

/// The server's side of destination plans: compiled from the catalog on first use (`PlanCache`, dropped on
/// writes), and the per-destination outcome counts and metrics live traffic records.
final class DestinationRegistry: Sendable {
    private let catalog: Catalog
    /// Where each model's warehouse says its rows live (`Warehouse.entityLocation`); nil: SQLite's naming.
    private let warehouses: WarehouseRegistry?
    private let languages: LanguageLimits
    private let plans = PlanCache()
    private let counts = Mutex<[String: DestinationStats]>([:])
    private let metricsFactory: (any MetricsFactory)?
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])

    init(
        catalog: Catalog, warehouses: WarehouseRegistry? = nil, languages: LanguageLimits,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.catalog = catalog
        self.warehouses = warehouses
        self.languages = languages
        self.metricsFactory = metricsFactory
    }

    /// The plan if it is cached (no catalog read).
    func cached(named name: String) -> DestinationPlan? { self.plans.cached(named: name) }

    /// The plan, loaded from the catalog and compiled on a miss.
    func destination(named name: String) throws -> DestinationPlan {
        try self.plans.plan(named: name) {
            try self.compile(name: name, try self.catalog.destination(named: name).mappings)
        }
    }

    func invalidate(_ name: String) { self.plans.invalidate(name) }

    /// Compiles stored or submitted mappings, checking every model and column they name against the catalog.
    /// - Throws: `RPCError(.invalidArgument)` naming the mapping and what is wrong.
    func compile(name: String, _ mappings: [MappingRecord]) throws -> DestinationPlan {
        let definitions = try mappings.map(Self.definition)
        do {
            return try DestinationPlan(
                name: name, definitions, models: CatalogModels(catalog: self.catalog, warehouses: self.warehouses),
                limits: self.languages)
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
    }

    static func definition(_ mapping: MappingRecord) throws -> MappingDefinition {
        var fields: JSONValue? = nil
        if !mapping.fieldsJSON.isEmpty {
            do {
                fields = try JSONParser.parse(mapping.fieldsJSON)
            } catch {
                throw RPCError(
                    .invalidArgument, "mapping '\(mapping.name)': field mappings are not valid JSON: \(error)")
            }
        }
        return MappingDefinition(
            name: mapping.name, condition: mapping.condition,
            matches: mapping.matches.map { Mapping.ModelMatch(model: $0.model, matchProperty: $0.matchProperty) },
            enrichments: mapping.enrichments.map {
                Mapping.ColumnEnrichment(model: $0.model, column: $0.column, key: $0.key)
            },
            fields: fields
        )
    }

    /// The catalog's models as the plan compiler sees them.
    struct CatalogModels: ModelDirectory {
        let catalog: Catalog
        let warehouses: WarehouseRegistry?
        func model(named name: String) -> ModelInfo? {
            guard let model = try? self.catalog.model(named: name) else { return nil }
            return ModelInfo(
                name: model.name, sourceTable: model.sourceTable, columns: model.columns.map(\.name),
                location: self.warehouses?[model.warehouse]?.entityLocation(table: model.sourceTable, model: model.name)
            )
        }
    }

    // MARK: - Outcome counts

    /// Records one request's outcome counts: one lock and one counter update per outcome, not per event.
    func record(destination: String, _ tally: Tally) {
        if let factory = self.metricsFactory {
            for (outcome, count) in [
                (EnrichmentOutcome.enriched, tally.enriched), (.partiallyEnriched, tally.partiallyEnriched),
                (.notEnriched, tally.notEnriched),
            ] where count > 0 {
                let key = "\(destination)|\(outcome.rawValue)"
                let counter = self.counters.withLock { counters in
                    if let existing = counters[key] { return existing }
                    let made = CoreMetrics.Counter(
                        label: "enrich_destination_events_total",
                        dimensions: [("destination", destination), ("outcome", outcome.rawValue)],
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
            stats.events += UInt64(tally.events)
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
