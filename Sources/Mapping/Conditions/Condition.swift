package import EventJSON

/// A parsed subscription condition in Segment's AST shape (`packages/destination-subscriptions/src/types.ts`).
package indirect enum Condition: Sendable, Equatable {
    case group(operator: String, children: [Condition])
    case leaf(ConditionLeaf)

    /// The AST as Segment's JSON (for tests against Segment's vectors and for showing users).
    package var json: JSONValue {
        switch self {
        case .group(let op, let children):
            return .object(
                JSONObject([
                    ("type", .string("group")), ("operator", .string(op)), ("children", .array(children.map(\.json))),
                ]))
        case .leaf(let leaf):
            var object = JSONObject([("type", .string(leaf.type.rawValue))])
            if let name = leaf.name { object["name"] = .string(name) }
            object["operator"] = .string(leaf.operator)
            if let value = leaf.value { object["value"] = value.json }
            return .object(object)
        }
    }

    /// Reads Segment's JSON AST (for the generator's vectors and for ASTs pasted by users).
    package init?(json: JSONValue) {
        guard case .object(let object) = json, case .string(let type)? = object["type"] else { return nil }
        if type == "group" {
            guard case .string(let op)? = object["operator"], case .array(let children)? = object["children"] else {
                return nil
            }
            var parsed: [Condition] = []
            for child in children {
                guard let condition = Condition(json: child) else { return nil }
                parsed.append(condition)
            }
            self = .group(operator: op, children: parsed)
            return
        }
        guard let leafType = ConditionLeaf.LeafType(rawValue: type), case .string(let op)? = object["operator"] else {
            return nil
        }
        var name: String? = nil
        if case .string(let text)? = object["name"] { name = text }
        var value: ConditionValue? = nil
        switch object["value"] {
        case .string(let text)?: value = .string(text)
        case .int(let number)?: value = .number(Double(number))
        case .double(let number)?: value = .number(number)
        case .bool(let flag)?: value = .bool(flag)
        default: value = nil
        }
        self = .leaf(ConditionLeaf(type: leafType, name: name, operator: op, value: value))
    }
}

/// A value compared against: a string, number or boolean, as `getTokenValue` makes them.
package enum ConditionValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)

    var json: JSONValue { MappingValue(self).json ?? .null }

    /// `String(value)` in JavaScript.
    var jsString: String { MappingValue(self).jsString }

    /// `Number(value)` in JavaScript.
    var jsNumber: Double { MappingValue(self).jsNumber }
}

extension MappingValue {
    init(_ value: ConditionValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .number(let number): self = .number(number)
        case .bool(let flag): self = .bool(flag)
        }
    }
}

/// One comparison: which field, which operator, against what.
package struct ConditionLeaf: Sendable, Equatable {
    package enum LeafType: String, Sendable {
        case eventType = "event-type"
        case event
        case name
        case userId
        case property = "event-property"
        case trait = "event-trait"
        case context = "event-context"
    }

    package var type: LeafType
    /// The path inside properties, traits or context; nil for the top-level fields.
    package var name: String?
    package var `operator`: String
    package var value: ConditionValue?

    package init(type: LeafType, name: String?, operator: String, value: ConditionValue?) {
        self.type = type
        self.name = name
        self.operator = `operator`
        self.value = value
    }
}

/// Why a condition could not be parsed: a message a person can act on, and the character offset.
package struct ConditionParseError: Error, Equatable, Sendable, CustomStringConvertible {
    package var message: String
    /// Offset in Unicode scalars into the condition, when the error has a place.
    package var offset: Int?

    package var description: String {
        if let offset { return "invalid condition at character \(offset + 1): \(self.message)" }
        return "invalid condition: \(self.message)"
    }
}
