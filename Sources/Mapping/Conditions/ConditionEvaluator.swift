/// Evaluates a condition against an event the way Segment's `validate` does (spec A.3): strict comparisons,
/// numbers only against numbers, string operators only on strings, and falsy intermediates returned as-is.
extension Condition {
    /// Whether `event` matches. An undefined event never matches.
    public func matches(_ event: MappingValue) -> Bool {
        if case .undefined = event { return false }
        return self.evaluate(event)
    }

    private func evaluate(_ event: MappingValue) -> Bool {
        switch self {
        case .group(let op, let children):
            switch op {
            case "and": return children.allSatisfy { $0.evaluate(event) }
            case "or": return children.contains { $0.evaluate(event) }
            default: return false
            }
        case .leaf(let leaf):
            return leaf.compare(leaf.actual(in: event))
        }
    }
}

extension ConditionLeaf {
    func actual(in event: MappingValue) -> MappingValue {
        switch self.type {
        case .eventType: return PathLookup.property(event, "type")
        case .event: return PathLookup.property(event, "event")
        case .name: return PathLookup.property(event, "name")
        case .userId: return PathLookup.property(event, "userId")
        case .property: return PathLookup.conditionGet(PathLookup.property(event, "properties"), self.name ?? "")
        case .trait: return PathLookup.conditionGet(PathLookup.property(event, "traits"), self.name ?? "")
        case .context: return PathLookup.conditionGet(PathLookup.property(event, "context"), self.name ?? "")
        }
    }

    func compare(_ actual: MappingValue) -> Bool {
        let expected = self.value
        switch self.operator {
        case "=":
            guard case .string(let text) = actual else { return false }
            return text == (expected?.jsString ?? "undefined")
        case "!=":
            guard case .string(let text) = actual else { return true }
            return text != (expected?.jsString ?? "undefined")
        case "number_equals", "number_not_equals", "<", "<=", ">", ">=":
            guard case .number(let number) = actual else { return false }
            let target = expected?.jsNumber ?? .nan
            switch self.operator {
            case "number_equals": return number == target
            case "number_not_equals": return number != target
            case "<": return number < target
            case "<=": return number <= target
            case ">": return number > target
            default: return number >= target
            }
        case "contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with":
            guard case .string(let text) = actual else { return false }
            let needle = expected?.jsString ?? "undefined"
            switch self.operator {
            case "contains": return needle.isEmpty || text.contains(needle)
            case "not_contains": return !(needle.isEmpty || text.contains(needle))
            case "starts_with": return text.hasPrefix(needle)
            case "not_starts_with": return !text.hasPrefix(needle)
            case "ends_with": return text.hasSuffix(needle)
            default: return !text.hasSuffix(needle)
            }
        case "exists": return !actual.isNullish
        case "not_exists": return actual.isNullish
        case "is_true": return actual == .bool(true)
        case "is_false": return actual == .bool(false)
        default: return false
        }
    }
}
