package import EnrichPolicy
package import Mapping
import Synchronization

/// What the plan needs to know of a model from the catalog.
package struct ModelInfo: Sendable {
    package var name: String
    /// The warehouse table it is synced from (empty for a SQL-query model: the model's name stands in).
    package var sourceTable: String
    package var columns: [String]
    /// The schema and table the long `__segment_entities` form names (`Warehouse.entityLocation`).
    package var location: (schema: String, table: String)

    /// - Parameter location: nil for SQLite's: `main` and the source table (or the model's name).
    package init(
        name: String, sourceTable: String, columns: [String], location: (schema: String, table: String)? = nil
    ) {
        self.name = name
        self.sourceTable = sourceTable
        self.columns = columns
        self.location = location ?? ("main", sourceTable.isEmpty ? name : sourceTable)
    }
}

/// The models a plan may name (the catalog, behind the server's wiring).
package protocol ModelDirectory {
    func model(named name: String) -> ModelInfo?
}

/// A destination's mappings that cannot be compiled, with the reason naming the mapping.
package struct PlanError: Error, Equatable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// A destination compiled for live traffic: conditions parsed, field mappings validated, every model and column
/// checked, and what each model's rows must carry worked out once.
package struct DestinationPlan: Sendable {
    package let name: String
    package let mappings: [CompiledDestinationMapping]
    /// Schema and table of each model a mapping references, for Segment's long entity references.
    package let tables: [String: (schema: String, table: String)]
    /// The columns live traffic needs from each model's rows: the enrichments' columns, or nil (every column)
    /// when a mapping of the model has field mappings, which may read any entity column.
    package let neededColumns: [String: Set<String>?]
    /// Whether every mapping runs on the tape (no field mappings): such a destination is enriched inline.
    package let runsOnTape: Bool

    /// Compiles `definitions`, checking every model and column they name against `models`; each event's condition,
    /// field mappings and Liquid stay within `limits`.
    /// - Throws: `PlanError` naming the mapping and what is wrong.
    package init(
        name: String, _ definitions: [MappingDefinition], models: some ModelDirectory,
        limits: LanguageLimits = LanguageLimits()
    ) throws(PlanError) {
        var compiled: [CompiledDestinationMapping] = []
        var tables: [String: (schema: String, table: String)] = [:]
        var needed: [String: Set<String>?] = [:]
        for definition in definitions {
            for match in definition.matches {
                let existing = needed[match.model]  // nil: not seen yet; .some(nil): every column.
                if case .some(.none) = existing { continue }
                guard definition.fields == nil else {
                    needed[match.model] = .some(nil)
                    continue
                }
                var columns = existing.flatMap { $0 } ?? []
                for enrichment in definition.enrichments where enrichment.model == match.model {
                    columns.insert(enrichment.column)
                }
                needed[match.model] = .some(columns)
            }
            do {
                compiled.append(try CompiledDestinationMapping(definition, limits: limits))
            } catch {
                throw PlanError(error.description)
            }
            for match in definition.matches {
                guard let model = models.model(named: match.model) else {
                    throw PlanError("mapping '\(definition.name)': model '\(match.model)' does not exist")
                }
                tables[model.name] = model.location
                for enrichment in definition.enrichments where enrichment.model == model.name {
                    guard model.columns.contains(enrichment.column) else {
                        throw PlanError(
                            "mapping '\(definition.name)': column '\(enrichment.column)' does not exist in model '\(model.name)'"
                        )
                    }
                }
            }
        }
        self.name = name
        self.mappings = compiled
        self.tables = tables
        self.neededColumns = needed
        self.runsOnTape = compiled.allSatisfy(\.runsOnTape)
    }
}

/// Compiled plans by destination name, compiled on first use and dropped when the destination is written.
package final class PlanCache: Sendable {
    private struct State {
        var plans: [String: DestinationPlan] = [:]
        /// Bumped by every invalidation: a plan loaded across one may be stale, so it is used but not kept.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// The plan if it is cached (no loading).
    package func cached(named name: String) -> DestinationPlan? { self.state.withLock { $0.plans[name] } }

    /// The plan, made by `load` on a miss and kept (unless the destination was written meanwhile).
    package func plan(named name: String, load: () throws -> DestinationPlan) rethrows -> DestinationPlan {
        let (hit, generation) = self.state.withLock { ($0.plans[name], $0.generation) }
        if let hit { return hit }
        let plan = try load()
        self.state.withLock { state in
            if state.generation == generation { state.plans[name] = plan }
        }
        return plan
    }

    package func invalidate(_ name: String) {
        self.state.withLock { state in
            state.plans.removeValue(forKey: name)
            state.generation &+= 1
        }
    }
}
