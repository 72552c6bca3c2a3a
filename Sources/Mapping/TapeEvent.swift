public import EventJSON

/// An event read through a `JSONTape`: what live enrichment uses instead of a tree. Conditions and match
/// properties walk the tape with exactly `PathLookup`'s JavaScript semantics, decoding only the values they
/// reach, and enrichments are spliced into the event's own bytes.
///
/// The output keeps the sender's bytes (spacing, number spelling, escapes) and changes only the enrichment
/// keys, so it parses to the same value as the tree path's re-serialised event; integers past 2^53 even keep
/// their digits, which the tree path rounds through Double. Field mappings read the whole event and still take
/// the tree path.
public struct TapeEvent {
    public let tape: JSONTape
    public let bytes: UnsafeBufferPointer<UInt8>

    /// `tape` must hold `bytes`, parsed, with an object at the root.
    public init(tape: JSONTape, bytes: UnsafeBufferPointer<UInt8>) {
        precondition(tape.nodes.first?.kind == .object, "a tape event is a JSON object")
        self.tape = tape
        self.bytes = bytes
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
        case .node(let index): MappingValue(self.tape.value(index, in: self.bytes))
        case .value(let value): value
        }
    }

    /// `value[key]` in JavaScript (`PathLookup.property`), on the tape.
    func property(_ reference: Reference, _ key: String) -> Reference {
        guard case .node(let index) = reference else {
            if case .value(let value) = reference { return .value(PathLookup.property(value, key)) }
            return .value(.undefined)
        }
        let node = self.tape.nodes[index]
        switch node.kind {
        case .object:
            return self.tape.member(key, of: index, in: self.bytes).map(Reference.node) ?? .value(.undefined)
        case .array:
            if key == "length" { return .value(.number(Double(node.count))) }
            guard let offset = PathLookup.arrayIndex(key), let element = self.tape.element(offset, of: index) else {
                return .value(.undefined)
            }
            return .node(element)
        case .string:
            return .value(PathLookup.property(self.decoded(reference), key))
        case .number, .true, .false, .null:
            return .value(.undefined)
        }
    }

    func isTruthy(_ reference: Reference) -> Bool {
        guard case .node(let index) = reference else {
            if case .value(let value) = reference { return value.isTruthy }
            return false
        }
        let node = self.tape.nodes[index]
        switch node.kind {
        case .object, .array, .true: return true
        case .false, .null: return false
        case .string: return node.end - node.start > 2  // any escape decodes to at least one character
        case .number: return self.decoded(reference).isTruthy
        }
    }

    /// `PathLookup.walk` on the tape.
    func walk<Keys: Sequence<String>>(_ start: Reference, _ keys: Keys) -> Reference {
        var current = start
        for key in keys {
            guard self.isTruthy(current) else { return current }
            current = self.property(current, key)
        }
        return current
    }

    /// destination-subscriptions' `get` (`PathLookup.conditionGet`) below `start`.
    func conditionGet(_ start: Reference, _ path: String) -> MappingValue {
        guard !path.isEmpty else { return .undefined }
        let keys = path.split(whereSeparator: { $0 == "." || $0 == "[" || $0 == "]" }).lazy.map(String.init)
        return self.decoded(self.walk(start, keys))
    }
}

extension ConditionLeaf {
    /// `actual(in:)` for a tape event.
    func actual(in event: TapeEvent) -> MappingValue {
        let root = TapeEvent.root
        switch self.type {
        case .eventType: return event.decoded(event.property(root, "type"))
        case .event: return event.decoded(event.property(root, "event"))
        case .name: return event.decoded(event.property(root, "name"))
        case .userId: return event.decoded(event.property(root, "userId"))
        case .property: return event.conditionGet(event.property(root, "properties"), self.name ?? "")
        case .trait: return event.conditionGet(event.property(root, "traits"), self.name ?? "")
        case .context: return event.conditionGet(event.property(root, "context"), self.name ?? "")
        }
    }
}

/// What a mapping did to one tape event: the counts behind its outcome, and its output bytes.
public struct TapeMappingResult {
    public var conditionMatched = false
    /// Models the mapping matches on, those whose row was found, and those whose key had no row.
    public var models = 0
    public var found = 0
    public var notFound = 0
    /// The enriched event (the mapping's output: it has no field mappings).
    public var output: [UInt8] = []

    public var outcome: EnrichmentOutcome {
        self.models > 0 && self.found == self.models ? .enriched : (self.found > 0 ? .partiallyEnriched : .notEnriched)
    }
}

extension CompiledDestinationMapping {
    /// Whether `apply(to: TapeEvent)` can run this mapping: field mappings read the whole event as a tree.
    public var runsOnTape: Bool { self.fields == nil }

    /// `apply(to:lookup:)` for a tape event, for a mapping without field mappings: the same condition, keys,
    /// lookups and enrichments, with the output spliced from the event's bytes.
    public func apply(to event: TapeEvent, lookup: (ModelMatch, MappingValue) -> EntityResult) -> TapeMappingResult {
        precondition(self.runsOnTape, "field mappings run on the tree path")
        var result = TapeMappingResult()
        if let condition = self.subscription?.condition {
            guard condition.matches(actual: { $0.actual(in: event) }) else { return result }
        }
        result.conditionMatched = true
        var edits = EditTree()
        for (match, keys) in zip(self.definition.matches, self.matchKeys) {
            result.models += 1
            let value = keys.map { event.decoded(event.walk(TapeEvent.root, $0)) } ?? .undefined
            guard let key = Self.key(value) else { continue }
            guard case .found(let row) = lookup(match, key) else {
                result.notFound += 1
                continue
            }
            result.found += 1
            for (enrichment, path) in zip(self.definition.enrichments, self.enrichmentPaths) where enrichment.model == match.model {
                let value = row.columns.first { $0.name == enrichment.column }?.value ?? .null
                var rendered: [UInt8] = []
                JSONWriter.write(MappingValue(value).json ?? .null, into: &rendered)
                edits.set(rendered, at: path[...])
            }
        }
        result.output = edits.applied(to: event)
        return result
    }
}

/// Enrichments as edits to the event's objects, recorded in the order `MappingObject.set` applies them, so
/// the result is what setting them one by one on the tree gives: a later value replaces an earlier one, and a
/// path through a value that is not an object replaces it with a new object.
struct EditTree {
    struct Edit {
        var key: String
        /// A value replacing whatever is there (enrichment values are never objects).
        var value: [UInt8]?
        /// A new object replacing whatever is there, made of `children` only.
        var fresh = false
        var children: [Edit] = []
    }

    var edits: [Edit] = []

    mutating func set(_ value: [UInt8], at path: ArraySlice<String>) {
        Self.set(value, at: path, in: &self.edits)
    }

    private static func set(_ value: [UInt8], at path: ArraySlice<String>, in edits: inout [Edit]) {
        guard let key = path.first else { return }
        let position = edits.firstIndex { $0.key == key } ?? {
            edits.append(Edit(key: key))
            return edits.count - 1
        }()
        if path.count == 1 {
            edits[position].value = value
            edits[position].fresh = false
            edits[position].children = []
            return
        }
        if edits[position].value != nil {
            edits[position].value = nil
            edits[position].fresh = true
            edits[position].children = []
        }
        Self.set(value, at: path.dropFirst(), in: &edits[position].children)
    }

    /// The event's bytes with the edits spliced in.
    func applied(to event: TapeEvent) -> [UInt8] {
        var splices: [(range: Range<Int>, bytes: [UInt8])] = []
        Self.collect(self.edits, object: 0, event: event, into: &splices)
        splices.sort { $0.range.lowerBound < $1.range.lowerBound }
        var output: [UInt8] = []
        output.reserveCapacity(event.bytes.count + splices.reduce(0) { $0 + $1.bytes.count })
        var position = 0
        for splice in splices {
            output.append(contentsOf: event.bytes[position..<splice.range.lowerBound])
            output.append(contentsOf: splice.bytes)
            position = splice.range.upperBound
        }
        output.append(contentsOf: event.bytes[position...])
        return output
    }

    /// Splices for `edits` applied to object node `object`: values replaced in place (the last of repeated
    /// keys, the one a parser keeps), objects patched member by member, new members added before the '}'.
    private static func collect(_ edits: [Edit], object: Int, event: TapeEvent, into splices: inout [(range: Range<Int>, bytes: [UInt8])]) {
        let tape = event.tape
        var added: [UInt8] = []
        for edit in edits {
            if let member = tape.member(edit.key, of: object, in: event.bytes) {
                let node = tape.nodes[member]
                if edit.value == nil, !edit.fresh, node.kind == .object {
                    Self.collect(edit.children, object: member, event: event, into: &splices)
                } else {
                    splices.append((Int(node.start)..<Int(node.end), Self.rendered(edit)))
                }
            } else {
                if !added.isEmpty || tape.nodes[object].count > 0 { added.append(UInt8(ascii: ",")) }
                JSONWriter.write(.string(edit.key), into: &added)
                added.append(UInt8(ascii: ":"))
                added.append(contentsOf: Self.rendered(edit))
            }
        }
        if !added.isEmpty {
            let close = Int(tape.nodes[object].end) - 1
            splices.append((close..<close, added))
        }
    }

    /// An edit as JSON: its value, or an object of its children.
    private static func rendered(_ edit: Edit) -> [UInt8] {
        if let value = edit.value { return value }
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (position, child) in edit.children.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONWriter.write(.string(child.key), into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: Self.rendered(child))
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
