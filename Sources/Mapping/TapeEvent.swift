package import EventJSON

/// An event read through a `JSONTape`: what live enrichment uses instead of a tree. Conditions and match
/// properties walk the tape with exactly `PathLookup`'s JavaScript semantics, decoding only the values they
/// reach, and enrichments are spliced into the event's own bytes.
///
/// The output keeps the sender's bytes (spacing, number spelling, escapes) and changes only the enrichment
/// keys, so it parses to the same value as the tree path's re-serialised event; integers past 2^53 even keep
/// their digits, which the tree path rounds through Double. Field mappings read the whole event and still take
/// the tree path.
package struct TapeEvent {
    package let view: JSONTape.View

    /// `view` must be a parsed tape with an object at the root.
    package init(_ view: JSONTape.View) {
        precondition(view.nodes.first?.kind == .object, "a tape event is a JSON object")
        self.view = view
    }

    /// A place reached by a walk: still a node on the tape, or a value already decoded (JavaScript's
    /// `length`, a string's character, undefined).
    enum Reference {
        case node(Int)
        case value(MappingValue)
    }

    static let root = Reference.node(0)

    func decoded(_ reference: Reference) -> MappingValue {
        switch reference {
        case .node(let index): MappingValue(self.view.value(index))
        case .value(let value): value
        }
    }

    /// `value[key]` in JavaScript (`PathLookup.property`), on the tape.
    func property(_ reference: Reference, _ key: JSONKey.Reference) -> Reference {
        guard case .node(let index) = reference else {
            if case .value(let value) = reference { return .value(PathLookup.property(value, key.text)) }
            return .value(.undefined)
        }
        let node = self.view.nodes[index]
        switch node.kind {
        case .object:
            return self.view.member(key, of: index).map(Reference.node) ?? .value(.undefined)
        case .array:
            if key.text == "length" { return .value(.number(Double(node.count))) }
            guard let offset = PathLookup.arrayIndex(key.text), let element = self.view.element(offset, of: index)
            else {
                return .value(.undefined)
            }
            return .node(element)
        case .string:
            return .value(PathLookup.property(self.decoded(reference), key.text))
        case .number, .true, .false, .null:
            return .value(.undefined)
        }
    }

    func isTruthy(_ reference: Reference) -> Bool {
        guard case .node(let index) = reference else {
            if case .value(let value) = reference { return value.isTruthy }
            return false
        }
        let node = self.view.nodes[index]
        switch node.kind {
        case .object, .array, .true: return true
        case .false, .null: return false
        case .string: return node.end - node.start > 2  // any escape decodes to at least one character
        case .number: return self.decoded(reference).isTruthy
        }
    }

    /// `PathLookup.walk` on the tape, from the root.
    func walk(_ keys: [JSONKey.Reference]) -> Reference {
        var current = Self.root
        for key in keys {
            guard self.isTruthy(current) else { return current }
            current = self.property(current, key)
        }
        return current
    }
}

/// A condition prepared for tapes: each leaf's path from the event's root as keys, and its expected text.
indirect enum TapeCondition: Sendable {
    /// How a group combines its children (`and`, `or`; any other operator matches nothing, as upstream).
    enum Combine: Sendable { case all, any, none }
    /// Which leaf operators compare a string on the tape byte for byte.
    enum Comparison: Sendable { case equal, notEqual, other }

    case group(Combine, children: [TapeCondition])
    /// `path` nil: the leaf reads undefined (an empty property name). `keys` owns what the references point at.
    case leaf(ConditionLeaf, Comparison, path: [JSONKey.Reference]?, expected: JSONKey.Reference, keys: [JSONKey])

    init(_ condition: Condition) {
        switch condition {
        case .group(let op, let children):
            self = .group(op == "and" ? .all : (op == "or" ? .any : .none), children: children.map(TapeCondition.init))
        case .leaf(let leaf):
            let root: String
            switch leaf.type {
            case .eventType: root = "type"
            case .event: root = "event"
            case .name: root = "name"
            case .userId: root = "userId"
            case .property: root = "properties"
            case .trait: root = "traits"
            case .context: root = "context"
            }
            var keys = [JSONKey(root)]
            var readsUndefined = false
            if leaf.type == .property || leaf.type == .trait || leaf.type == .context {
                // destination-subscriptions' `get` below the root's member (`PathLookup.conditionGet`); an empty
                // name reads undefined. The root is an object, so walking from it is the same as `get` on its member.
                let name = leaf.name ?? ""
                readsUndefined = name.isEmpty
                keys += PathLookup.conditionKeys(name).map(JSONKey.init)
            }
            let expected = JSONKey(leaf.value?.jsString ?? "undefined")
            let comparison: Comparison = leaf.operator == "=" ? .equal : (leaf.operator == "!=" ? .notEqual : .other)
            self = .leaf(
                leaf, comparison, path: readsUndefined ? nil : keys.map(\.reference), expected: expected.reference,
                keys: keys + [expected]
            )
        }
    }

    /// `Condition.matches` on a tape event, within `budget`. `=` and `!=` against a string on the tape compare
    /// its bytes.
    func matches(_ event: TapeEvent, budget: inout ConditionBudget) throws(ConditionBudgetExceeded) -> Bool {
        switch self {
        case .group(let combine, let children):
            switch combine {
            case .all:
                for child in children where !(try child.matches(event, budget: &budget)) { return false }
                return true
            case .any:
                for child in children where try child.matches(event, budget: &budget) { return true }
                return false
            case .none: return false
            }
        case .leaf(let leaf, let comparison, let path, let expected, _):
            try budget.leaf()
            guard let path else { return try leaf.compare(.undefined, budget: &budget) }
            let actual = event.walk(path)
            if case .node(let index) = actual, event.view.nodes[index].kind == .string {
                if comparison != .other {
                    let equal = event.view.string(index, equals: expected)
                    return comparison == .equal ? equal : !equal
                }
                // A string operator on a string without escapes reads the event's own bytes: no decoding, no copy.
                if !event.view.nodes[index].needsDecoding,
                    let answer = try leaf.compareText(
                        UnsafeRawBufferPointer(event.view.content(index)),
                        expected: UnsafeRawBufferPointer(expected.utf8), budget: &budget
                    )
                {
                    return answer
                }
            }
            return try leaf.compare(event.decoded(actual), budget: &budget)
        }
    }
}

/// The rows a mapping reads on the tape path, prepared by the caller for one mapping: found by key, with their
/// enrichment columns written straight into the output.
package protocol TapeRows {
    /// The row of the mapping's match number `match` with this key, or nil.
    func row(match: Int, key: TapeKey) -> Int?
    /// Appends the column of enrichment number `enrichment` at `row` as JSON, byte for byte as
    /// `JSONWriter.write(MappingValue(cell).json ?? .null)` writes the cell the tree path sets.
    func write(enrichment: Int, row: Int, into output: inout [UInt8])
}

/// A key read from an event: a plain string's bytes straight from the tape, or a decoded value (a string or
/// an integral number, as `CompiledDestinationMapping.key` admits).
package enum TapeKey {
    case utf8(UnsafeBufferPointer<UInt8>)
    case value(MappingValue)
}

/// What a mapping did to one tape event: the counts behind its outcome, and its output bytes.
package struct TapeMappingResult {
    package var conditionMatched = false
    /// Models the mapping matches on, those whose row was found, and those whose key had no row.
    package var models = 0
    package var found = 0
    package var notFound = 0
    /// Where the enriched event (the mapping's output: it has no field mappings) is in `TapeScratch.outputs`.
    package var output: Range<Int> = 0..<0

    package var outcome: EnrichmentOutcome { EnrichmentOutcome(models: self.models, found: self.found) }

    /// Why the mapping could not run on this event (its condition went over budget); the caller takes the tree
    /// path, which reports it.
    package var error: ConditionBudgetExceeded?
}

extension CompiledDestinationMapping {
    /// Whether `apply(to: TapeEvent)` can run this mapping: field mappings read the whole event as a tree.
    package var runsOnTape: Bool { self.fields == nil }

    /// `apply(to:lookup:)` for a tape event, for a mapping without field mappings: the same condition, keys,
    /// lookups and enrichments, with the output spliced from the event's bytes. `scratch` holds buffers reused
    /// from event to event.
    package func apply(to event: TapeEvent, rows: some TapeRows, scratch: inout TapeScratch) -> TapeMappingResult {
        precondition(self.runsOnTape, "field mappings run on the tree path")
        var result = TapeMappingResult()
        if let condition = self.tapeCondition {
            var budget = self.conditionBudget
            do throws(ConditionBudgetExceeded) {
                guard try condition.matches(event, budget: &budget) else { return result }
            } catch {
                result.error = error
                return result
            }
        }
        result.conditionMatched = true
        scratch.values.removeAll(keepingCapacity: true)
        scratch.spans.removeAll(keepingCapacity: true)
        scratch.found.removeAll(keepingCapacity: true)
        result.models = self.definition.matches.count
        for position in self.definition.matches.indices {
            scratch.found.append(false)
            guard let keys = self.tapeMatchKeys[position] else { continue }  // the whole event: never a key
            let key: TapeKey
            switch event.walk(keys) {
            case .node(let index)
            where event.view.nodes[index].kind == .string && !event.view.nodes[index].needsDecoding:
                let text = event.view.content(index)
                guard !text.isEmpty else { continue }
                key = .utf8(text)
            case let reference:
                guard let value = Self.key(event.decoded(reference)) else { continue }
                key = .value(value)
            }
            guard let row = rows.row(match: position, key: key) else {
                result.notFound += 1
                continue
            }
            result.found += 1
            scratch.found[position] = true
            for enrichment in self.enrichmentsOfMatch[position] {
                while scratch.spans.count <= enrichment { scratch.spans.append(0..<0) }
                let start = scratch.values.count
                rows.write(enrichment: enrichment, row: row, into: &scratch.values)
                scratch.spans[enrichment] = start..<scratch.values.count
            }
        }
        guard result.found > 0 else {
            let start = scratch.outputs.count
            scratch.outputs.append(contentsOf: event.view.bytes)
            result.output = start..<scratch.outputs.count
            return result
        }
        if result.found == result.models {
            result.output = self.tapeEdits.applied(to: event, scratch: &scratch)
        } else {
            let found = scratch.found
            let edits = EditTree(self.enrichmentsOfMatch, keys: self.tapeEnrichmentKeys) { found[$0] }
            result.output = edits.applied(to: event, scratch: &scratch)
        }
        return result
    }
}

extension CompiledDestinationMapping {
    /// Calls `body` with each match (its position among the mapping's matches) whose key in `event` is a plain
    /// string on the tape, and the key's bytes: what `apply(to:rows:scratch:)` looks up should the condition hold.
    /// For pipelines that fetch rows ahead of `apply`; the condition is not evaluated.
    package func plainMatchKeys(of event: TapeEvent, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        for position in self.definition.matches.indices {
            guard let keys = self.tapeMatchKeys[position], case .node(let index) = event.walk(keys),
                event.view.nodes[index].kind == .string, !event.view.nodes[index].needsDecoding
            else { continue }
            let text = event.view.content(index)
            if !text.isEmpty { body(position, text) }
        }
    }

    /// The enrichments (their positions) that read match number `match`'s row.
    package func enrichments(ofMatch match: Int) -> [Int] { self.enrichmentsOfMatch[match] }
}

/// Buffers the tape path reuses from event to event: enrichment values written back to back, where each one
/// is, which matches found a row, the splices being assembled, and the outputs of the current event's
/// mappings (`startEvent` clears them).
package struct TapeScratch {
    package internal(set) var outputs: [UInt8] = []

    package mutating func startEvent() { self.outputs.removeAll(keepingCapacity: true) }

    /// Appends bytes the caller writes into the answer (a mapping's error text) to `outputs`; returns where.
    package mutating func appendOutput(_ bytes: some Collection<UInt8>) -> Range<Int> {
        let start = self.outputs.count
        self.outputs.append(contentsOf: bytes)
        return start..<self.outputs.count
    }

    var values: [UInt8] = []
    var spans: [Range<Int>] = []
    var found: [Bool] = []
    /// Each splice replaces `range` with a value's slot, or with bytes rendered into `added`.
    var splices: [(range: Range<Int>, edit: Int, value: Bool)] = []
    var added: [UInt8] = []
    var addedSpans: [Range<Int>] = []

    package init() {}

    /// Records `added[start...]` as one splice's bytes; returns its number.
    mutating func addAddedSpan(_ start: Int) -> Int {
        self.addedSpans.append(start..<self.added.count)
        return self.addedSpans.count - 1
    }
}

/// Enrichments as edits to the event's objects, in the order `MappingObject.set` applies them (match by
/// match, then enrichment order), so the result is what setting them one by one on the tree gives: a later
/// value replaces an earlier one, and a path through a value that is not an object replaces it with a new
/// object. Values are slots (enrichment numbers) filled per event, so a mapping works its edits out once.
/// Stored flat (each node's children are a range of `nodes`) with each member's `"key":` written out ahead.
struct EditTree: Sendable {
    struct Node: Sendable {
        let key: JSONKey.Reference
        /// `"key":`, escaped, in `prefixes`.
        let prefix: Range<Int>
        /// The enrichment whose value replaces whatever is there (enrichment values are never objects).
        let slot: Int?
        /// A new object replacing whatever is there, made of the children only.
        let fresh: Bool
        let children: Range<Int>
    }

    private(set) var nodes: [Node] = []
    private(set) var roots: Range<Int> = 0..<0
    private(set) var prefixes: [UInt8] = []

    /// The nested form while the edits are worked out.
    private struct Edit {
        let key: JSONKey.Reference
        var slot: Int?
        var fresh = false
        var children: [Edit] = []
    }

    /// The edits of the enrichments of each match (`enrichmentsOfMatch`, by match number) whose match
    /// `applies`; `keys` are the enrichments' paths.
    init(_ enrichmentsOfMatch: [[Int]], keys: [[JSONKey.Reference]], applies: (Int) -> Bool) {
        var edits: [Edit] = []
        for (position, enrichments) in enrichmentsOfMatch.enumerated() where applies(position) {
            for enrichment in enrichments { Self.set(slot: enrichment, at: keys[enrichment][...], in: &edits) }
        }
        self.roots = self.flatten(edits)
    }

    private static func set(slot: Int, at path: ArraySlice<JSONKey.Reference>, in edits: inout [Edit]) {
        guard let key = path.first else { return }
        let position =
            edits.firstIndex { $0.key.text == key.text }
            ?? {
                edits.append(Edit(key: key))
                return edits.count - 1
            }()
        if path.count == 1 {
            edits[position].slot = slot
            edits[position].fresh = false
            edits[position].children = []
            return
        }
        if edits[position].slot != nil {
            edits[position].slot = nil
            edits[position].fresh = true
            edits[position].children = []
        }
        Self.set(slot: slot, at: path.dropFirst(), in: &edits[position].children)
    }

    /// Appends `edits` as consecutive nodes (their children after them); returns their range.
    private mutating func flatten(_ edits: [Edit]) -> Range<Int> {
        let start = self.nodes.count
        var placeholders: [Int] = []
        for edit in edits {
            let prefixStart = self.prefixes.count
            JSONWriter.writeString(utf8: UnsafeRawBufferPointer(edit.key.utf8), into: &self.prefixes)
            self.prefixes.append(UInt8(ascii: ":"))
            placeholders.append(self.nodes.count)
            self.nodes.append(
                Node(
                    key: edit.key, prefix: prefixStart..<self.prefixes.count, slot: edit.slot, fresh: edit.fresh,
                    children: 0..<0))
        }
        for (edit, position) in zip(edits, placeholders) where !edit.children.isEmpty {
            let children = self.flatten(edit.children)
            let node = self.nodes[position]
            self.nodes[position] = Node(
                key: node.key, prefix: node.prefix, slot: node.slot, fresh: node.fresh, children: children)
        }
        return start..<(start + edits.count)
    }

    /// The event's bytes with the edits spliced in, values taken from `scratch`, appended to `scratch.outputs`;
    /// returns where.
    func applied(to event: TapeEvent, scratch: inout TapeScratch) -> Range<Int> {
        scratch.splices.removeAll(keepingCapacity: true)
        scratch.added.removeAll(keepingCapacity: true)
        scratch.addedSpans.removeAll(keepingCapacity: true)
        self.nodes.withUnsafeBufferPointer { nodes in
            self.prefixes.withUnsafeBufferPointer { prefixes in
                Self.collect(self.roots, object: 0, event: event, nodes: nodes, prefixes: prefixes, scratch: &scratch)
            }
        }
        if scratch.splices.count > 1 { scratch.splices.sort { $0.range.lowerBound < $1.range.lowerBound } }
        let bytes = event.view.bytes
        var output: [UInt8] = []
        swap(&output, &scratch.outputs)  // appended to while the other buffers are read
        defer { swap(&output, &scratch.outputs) }
        let start = output.count
        output.reserveCapacity(start + bytes.count + scratch.added.count + scratch.values.count)
        var position = 0
        for splice in scratch.splices {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<splice.range.lowerBound]))
            if splice.value {
                output.append(contentsOf: scratch.values[scratch.spans[splice.edit]])
            } else {
                output.append(contentsOf: scratch.added[scratch.addedSpans[splice.edit]])
            }
            position = splice.range.upperBound
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position...]))
        return start..<output.count
    }

    /// Splices for the edits `range` applied to object node `object`: values replaced in place (the last of
    /// repeated keys, the one a parser keeps), objects patched member by member, new members added before the
    /// '}'. New or rebuilt JSON goes to `scratch.added`; a splice of a plain value points at its slot instead.
    private static func collect(
        _ range: Range<Int>, object: Int, event: TapeEvent, nodes: UnsafeBufferPointer<Node>,
        prefixes: UnsafeBufferPointer<UInt8>,
        scratch: inout TapeScratch
    ) {
        let view = event.view
        var hasNewMembers = false
        for position in range {
            guard let member = view.member(nodes[position].key, of: object) else {
                hasNewMembers = true
                continue
            }
            let node = view.nodes[member]
            if let slot = nodes[position].slot {
                scratch.splices.append((Int(node.start)..<Int(node.end), slot, true))
            } else if !nodes[position].fresh, node.kind == .object {
                Self.collect(
                    nodes[position].children, object: member, event: event, nodes: nodes, prefixes: prefixes,
                    scratch: &scratch)
            } else {
                let start = scratch.added.count
                Self.render(
                    position, nodes: nodes, prefixes: prefixes, into: &scratch.added, values: scratch.values,
                    spans: scratch.spans)
                scratch.splices.append((Int(node.start)..<Int(node.end), scratch.addAddedSpan(start), false))
            }
        }
        guard hasNewMembers else { return }
        let start = scratch.added.count
        var first = view.nodes[object].count == 0
        for position in range where view.member(nodes[position].key, of: object) == nil {
            if !first { scratch.added.append(UInt8(ascii: ",")) }
            first = false
            scratch.added.append(contentsOf: UnsafeBufferPointer(rebasing: prefixes[nodes[position].prefix]))
            Self.render(
                position, nodes: nodes, prefixes: prefixes, into: &scratch.added, values: scratch.values,
                spans: scratch.spans)
        }
        let close = Int(view.nodes[object].end) - 1
        scratch.splices.append((close..<close, scratch.addAddedSpan(start), false))
    }

    /// Node `position` as JSON: its value, or an object of its children.
    private static func render(
        _ position: Int, nodes: UnsafeBufferPointer<Node>, prefixes: UnsafeBufferPointer<UInt8>,
        into bytes: inout [UInt8],
        values: [UInt8], spans: [Range<Int>]
    ) {
        if let slot = nodes[position].slot {
            bytes.append(contentsOf: values[spans[slot]])
            return
        }
        bytes.append(UInt8(ascii: "{"))
        for child in nodes[position].children {
            if child > nodes[position].children.lowerBound { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: prefixes[nodes[child].prefix]))
            Self.render(child, nodes: nodes, prefixes: prefixes, into: &bytes, values: values, spans: spans)
        }
        bytes.append(UInt8(ascii: "}"))
    }
}
