package import EnrichPolicy
package import EventJSON

/// Which model a mapping enriches from, and the event path holding that model's primary key.
package struct ModelMatch: Sendable, Equatable, Codable {
    package var model: String
    /// An event path such as "properties.sku" or "userId" ("$." prefix allowed).
    package var matchProperty: String

    package init(model: String, matchProperty: String) {
        self.model = model
        self.matchProperty = matchProperty
    }
}

/// Copies a model column into the event under `key` (a dotted path) before the field mappings run.
package struct ColumnEnrichment: Sendable, Equatable, Codable {
    package var model: String
    package var column: String
    package var key: String

    package init(model: String, column: String, key: String) {
        self.model = model
        self.column = column
        self.key = key
    }
}

/// A destination's mapping as a user writes it: a condition, model matches, enrichments and field mappings.
package struct MappingDefinition: Sendable, Equatable {
    package var name: String
    /// Segment FQL; empty means every event.
    package var condition: String
    package var matches: [ModelMatch]
    package var enrichments: [ColumnEnrichment]
    /// A mapping-kit object, or nil to send the enriched event itself.
    package var fields: JSONValue?

    package init(
        name: String, condition: String, matches: [ModelMatch], enrichments: [ColumnEnrichment], fields: JSONValue?
    ) {
        self.name = name
        self.condition = condition
        self.matches = matches
        self.enrichments = enrichments
        self.fields = fields
    }
}

/// One model's row for an event, as the mapping sees it under `__segment_entities`.
package struct EntityRow: Sendable, Equatable {
    package var model: String
    /// Warehouse schema and table, for the long reference form (`main`, `products`).
    package var schema: String
    package var table: String
    package var columns: [(name: String, value: JSONValue)]

    package init(model: String, schema: String, table: String, columns: [(name: String, value: JSONValue)]) {
        self.model = model
        self.schema = schema
        self.table = table
        self.columns = columns
    }

    package static func == (lhs: EntityRow, rhs: EntityRow) -> Bool {
        lhs.model == rhs.model && lhs.schema == rhs.schema && lhs.table == rhs.table
            && lhs.columns.elementsEqual(rhs.columns) { $0.name == $1.name && $0.value == $1.value }
    }
}

/// What a model lookup found for one event.
package enum EntityResult: Sendable, Equatable {
    /// The event has no string or integer at the match property.
    case noKey
    /// The key is there but no row has it (or the model has no synced data).
    case notFound(key: String)
    /// The row with this key (the key as the event gave it, in JavaScript's `String()` form).
    case found(key: String, row: EntityRow)
}

/// How much an event was enriched, as Segment's delivery overview counts it.
package enum EnrichmentOutcome: String, Sendable, Equatable {
    /// Every model of every matched mapping found its row.
    case enriched
    /// Some did.
    case partiallyEnriched = "partially_enriched"
    /// None did, or no mapping matched.
    case notEnriched = "not_enriched"

    /// The outcome when `found` of `models` looked-up models found their row.
    package init(models: Int, found: Int) {
        self = models > 0 && found == models ? .enriched : (found > 0 ? .partiallyEnriched : .notEnriched)
    }
}

/// The result of one mapping for one event.
package struct MappingResult: Sendable, Equatable {
    package var mapping: String
    package var conditionMatched: Bool
    package var entities: [(model: String, result: EntityResult)]
    package var outcome: EnrichmentOutcome
    /// The event after enrichments, with `__segment_entities` removed.
    package var enrichedEvent: JSONValue?
    /// What the field mappings produced (the enriched event when there are none).
    package var output: JSONValue?
    package var error: String?

    package static func == (lhs: MappingResult, rhs: MappingResult) -> Bool {
        lhs.mapping == rhs.mapping && lhs.conditionMatched == rhs.conditionMatched && lhs.outcome == rhs.outcome
            && lhs.enrichedEvent == rhs.enrichedEvent && lhs.output == rhs.output && lhs.error == rhs.error
            && lhs.entities.elementsEqual(rhs.entities) { $0.model == $1.model && $0.result == $1.result }
    }
}

/// The key under which model rows are put into the payload, as Segment's Linked Events does.
package let segmentEntitiesKey = "__segment_entities"

/// A mapping compiled once: the condition parsed, the field mappings validated and their templates parsed.
/// A class: it is shared by every request and event, and copying its many fields cost a retain each.
package final class CompiledDestinationMapping: Sendable {
    package let definition: MappingDefinition
    let subscription: Subscription?
    let fields: CompiledMapping?
    /// Each match property split into keys once; nil keys mean the whole event.
    let matchKeys: [[String]?]
    /// Each enrichment's key path split once.
    let enrichmentPaths: [[String]]
    /// The same paths and the condition, prepared for reading events on a tape.
    let tapeCondition: TapeCondition?
    let tapeMatchKeys: [[JSONKey.Reference]?]
    let tapeEnrichmentKeys: [[JSONKey.Reference]]
    /// What the tape keys' references point into.
    let tapeKeys: [JSONKey]
    /// The enrichments as edits when every match finds its row (the usual case), worked out once.
    let tapeEdits: EditTree
    /// For each match, the enrichments (by number) that read its model.
    let enrichmentsOfMatch: [[Int]]
    /// What evaluating the condition may cost per event.
    package let conditionBudget: ConditionBudget

    /// Compiles and validates a definition; applying it to an event stays within `limits` (its condition, its
    /// field mappings and their Liquid).
    /// - Throws: `DestinationError` naming the part that is wrong, with the parser's or validator's message.
    package init(_ definition: MappingDefinition, limits: LanguageLimits = LanguageLimits()) throws(DestinationError) {
        self.definition = definition
        self.conditionBudget = ConditionBudget(limits.conditions)
        if definition.condition.trimmingJSWhitespace().isEmpty {
            self.subscription = nil
        } else {
            do {
                self.subscription = try Subscription(definition.condition)
            } catch {
                throw .invalidCondition(mapping: definition.name, error.description)
            }
        }
        if let fields = definition.fields {
            guard case .object = fields else {
                throw .invalidFields(mapping: definition.name, ["field mappings must be a JSON object"])
            }
            let compiled: CompiledMapping
            do {
                compiled = try CompiledMapping(fields, limits: limits)
            } catch {
                throw .invalidFields(mapping: definition.name, error.messages)
            }
            // A destination is checked whole when it is written: a Liquid template that does not parse is refused
            // then, with the parser's message, rather than failing every event later.
            let broken = compiled.caches.liquid.parseErrors
            guard broken.isEmpty else {
                throw .invalidFields(
                    mapping: definition.name,
                    broken.map { "@liquid template \"\(Self.excerpt($0.template))\": \($0.message)." })
            }
            self.fields = compiled
        } else {
            self.fields = nil
        }
        var matchKeys: [[String]?] = []
        for match in definition.matches {
            guard let keys = MappingCaches.keys(forPath: match.matchProperty), !keys.isEmpty else {
                throw .invalidPath(mapping: definition.name, match.matchProperty)
            }
            matchKeys.append(keys)
        }
        self.matchKeys = matchKeys
        var enrichmentPaths: [[String]] = []
        for enrichment in definition.enrichments {
            guard let path = JSONPath(enrichment.key) else {
                throw .invalidPath(mapping: definition.name, enrichment.key)
            }
            enrichmentPaths.append(path.components)
            guard definition.matches.contains(where: { $0.model == enrichment.model }) else {
                throw .enrichmentWithoutMatch(mapping: definition.name, model: enrichment.model)
            }
        }
        self.enrichmentPaths = enrichmentPaths
        let enrichmentKeys = enrichmentPaths.map { $0.map(JSONKey.init) }
        let matchKeyObjects = matchKeys.map { $0?.map(JSONKey.init) }
        let tapeEnrichmentKeys = enrichmentKeys.map { $0.map(\.reference) }
        self.tapeCondition =
            definition.condition.trimmingJSWhitespace().isEmpty
            ? nil : (try? Subscription(definition.condition)).map { TapeCondition($0.condition) }
        self.tapeMatchKeys = matchKeyObjects.map { $0?.map(\.reference) }
        self.tapeEnrichmentKeys = tapeEnrichmentKeys
        self.tapeKeys = enrichmentKeys.flatMap { $0 } + matchKeyObjects.flatMap { $0 ?? [] }
        let enrichmentsOfMatch = definition.matches.map { match in
            definition.enrichments.indices.filter { definition.enrichments[$0].model == match.model }
        }
        self.enrichmentsOfMatch = enrichmentsOfMatch
        self.tapeEdits = EditTree(enrichmentsOfMatch, keys: tapeEnrichmentKeys) { _ in true }
    }

    /// The start of a long template, for error messages.
    static func excerpt(_ template: String) -> String {
        template.count <= 60 ? template : String(template.prefix(57)) + "..."
    }

    /// The value at a model's match property, as a key, or nil when there is none (missing, null, or not a
    /// string or integer).
    package static func key(in event: MappingValue, at matchProperty: String) -> MappingValue? {
        Self.key(PathLookup.mappingGet(event, Resolver.removeFirstDollarDot(matchProperty)))
    }

    static func key(_ value: MappingValue) -> MappingValue? {
        switch value {
        case .string(let text) where !text.isEmpty: return value
        case .number(let number) where number == number.rounded() && abs(number) < 9.2e18: return value
        default: return nil
        }
    }

    /// Runs the mapping on one event: condition, lookups, enrichments, `__segment_entities`, field mappings.
    /// `lookup` finds a model's row for a key value.
    package func apply(to event: MappingValue, lookup: (ModelMatch, MappingValue) -> EntityResult) -> MappingResult {
        var result = MappingResult(
            mapping: self.definition.name, conditionMatched: false, entities: [], outcome: .notEnriched,
            enrichedEvent: nil, output: nil, error: nil
        )
        guard case .object(var payload) = event else {
            result.error = "the event is not a JSON object"
            return result
        }
        if let subscription = self.subscription {
            var budget = self.conditionBudget
            do throws(ConditionBudgetExceeded) {
                guard try subscription.condition.matches(event, budget: &budget) else { return result }
            } catch {
                result.error = error.description
                return result
            }
        }
        result.conditionMatched = true
        var entities = MappingObject()
        var found = 0
        for (match, keys) in zip(self.definition.matches, self.matchKeys) {
            let value = keys.map { PathLookup.walk(event, $0) } ?? event
            let entity: EntityResult = Self.key(value).map { lookup(match, $0) } ?? .noKey
            result.entities.append((match.model, entity))
            guard case .found(_, let row) = entity else { continue }
            found += 1
            entities[match.model] = Self.entityValue(row)
            for (enrichment, path) in zip(self.definition.enrichments, self.enrichmentPaths)
            where enrichment.model == match.model {
                let value = row.columns.first { $0.name == enrichment.column }?.value ?? .null
                payload.set(MappingValue(value), at: path[...])
            }
        }
        result.outcome = EnrichmentOutcome(models: self.definition.matches.count, found: found)
        result.enrichedEvent = MappingValue.object(payload).json
        guard let fields = self.fields else {
            result.output = result.enrichedEvent
            return result
        }
        payload[segmentEntitiesKey] = .object(entities)
        do {
            result.output = try fields.apply(to: .object(payload)).json
        } catch {
            result.error = error.description
        }
        return result
    }

    /// A row under its model: the short form (`<model>.<column>`) and Segment's long form
    /// (`<model>.<schema>.<table>.<column>`). The long form wins if a column has the schema's name.
    static func entityValue(_ row: EntityRow) -> MappingValue {
        var columns = MappingObject()
        for (name, value) in row.columns { columns[name] = MappingValue(value) }
        var entity = columns
        entity[row.schema] = .object(MappingObject([(row.table, .object(columns))]))
        return .object(entity)
    }
}

/// Why a destination or one of its mappings was refused.
package enum DestinationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidCondition(mapping: String, String)
    case invalidFields(mapping: String, [String])
    case invalidPath(mapping: String, String)
    case enrichmentWithoutMatch(mapping: String, model: String)

    package var description: String {
        switch self {
        case .invalidCondition(let mapping, let message): "mapping '\(mapping)': \(message)"
        case .invalidFields(let mapping, let messages):
            "mapping '\(mapping)': invalid field mappings: \(messages.joined(separator: " "))"
        case .invalidPath(let mapping, let path): "mapping '\(mapping)': '\(path)' is not a valid event path"
        case .enrichmentWithoutMatch(let mapping, let model):
            "mapping '\(mapping)': enrichment from model '\(model)' needs a match property for that model"
        }
    }
}
