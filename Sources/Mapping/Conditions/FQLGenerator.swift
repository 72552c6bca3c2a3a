/// Renders a condition back to subscription text, as action-destinations' `generateFql` does (spec A.4).
extension Condition {
    package var fql: String {
        let text: String
        switch self {
        case .group(let op, let children): text = Self.render(children: children, operator: op)
        case .leaf(let leaf): text = leaf.fql
        }
        if text.hasPrefix("(") && text.hasSuffix(")") && text.filter({ $0 == "(" || $0 == ")" }).count == 2 {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    private static func render(children: [Condition], operator op: String) -> String {
        children.map { child in
            switch child {
            case .group(let innerOp, let innerChildren): "(\(Self.render(children: innerChildren, operator: innerOp)))"
            case .leaf(let leaf): leaf.fql
            }
        }.joined(separator: " \(op) ")
    }
}

extension ConditionLeaf {
    /// Backslash before every character outside [A-Za-z0-9._-].
    static func escapeFieldPath(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            let plain =
                (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "." || scalar == "_" || scalar == "-"
            if !plain { result += "\\" }
            result.unicodeScalars.append(scalar)
        }
        return result
    }

    var fql: String {
        let field: String
        switch self.type {
        case .eventType: field = "type"
        case .event, .name, .userId: field = self.type.rawValue
        case .property: field = "properties.\(Self.escapeFieldPath(self.name ?? ""))"
        case .trait: field = "traits.\(Self.escapeFieldPath(self.name ?? ""))"
        case .context: field = "context.\(Self.escapeFieldPath(self.name ?? ""))"
        }
        let raw = self.value.map(MappingValue.init) ?? .undefined
        let stringified: String =
            switch self.value {
            case .bool, .number: raw.jsString
            default: "\"\(raw.jsString)\""
            }
        switch self.operator {
        case "contains": return "contains(\(field), \(stringified))"
        case "not_contains": return "!contains(\(field), \(stringified))"
        case "exists": return "\(field) != null"
        case "not_exists": return "\(field) = null"
        case "is_true": return "\(field) = true"
        case "is_false": return "\(field) = false"
        case "starts_with": return "match(\(field), \"\(raw.jsString)*\")"
        case "not_starts_with": return "!match(\(field), \"\(raw.jsString)*\")"
        case "ends_with": return "match(\(field), \"*\(raw.jsString)\")"
        case "not_ends_with": return "!match(\(field), \"*\(raw.jsString)\")"
        case "<", ">", "<=", ">=": return "\(field) \(self.operator) \(JSNumber.format(raw.jsNumber))"
        case "number_equals": return "\(field) = \(JSNumber.format(raw.jsNumber))"
        case "number_not_equals": return "\(field) != \(JSNumber.format(raw.jsNumber))"
        default: return "\(field) \(self.operator) \(stringified)"
        }
    }
}

/// A compiled subscription: parsed once, evaluated per event.
package struct Subscription: Sendable, Equatable {
    package let text: String
    package let condition: Condition

    /// Parses `text`.
    /// - Throws: `ConditionParseError` with a message and, where it has one, the character offset.
    package init(_ text: String) throws(ConditionParseError) {
        self.text = text
        switch FQLParser.parse(text) {
        case .success(let condition): self.condition = condition
        case .failure(let error): throw error
        }
    }

    package func matches(_ event: MappingValue) -> Bool { self.condition.matches(event) }
}
