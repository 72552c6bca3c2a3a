/// Evaluates a condition against an event the way Segment's `validate` does (spec A.3): strict comparisons,
/// numbers only against numbers, string operators only on strings, and falsy intermediates returned as-is.
extension Condition {
    /// Whether `event` matches. An undefined event never matches.
    package func matches(_ event: MappingValue) -> Bool {
        var budget = ConditionBudget(maxScanBytes: .max, maxLeaves: .max)
        return (try? self.matches(event, budget: &budget)) ?? false
    }

    /// Whether `event` matches, within `budget`.
    /// - Throws: `ConditionBudgetExceeded` when deciding would cost more than the budget allows.
    package func matches(_ event: MappingValue, budget: inout ConditionBudget) throws(ConditionBudgetExceeded) -> Bool {
        if case .undefined = event { return false }
        return try self.evaluate(event, budget: &budget)
    }

    private func evaluate(_ event: MappingValue, budget: inout ConditionBudget) throws(ConditionBudgetExceeded) -> Bool
    {
        switch self {
        case .group(let op, let children):
            switch op {
            case "and":
                for child in children where !(try child.evaluate(event, budget: &budget)) { return false }
                return true
            case "or":
                for child in children where try child.evaluate(event, budget: &budget) { return true }
                return false
            default: return false
            }
        case .leaf(let leaf):
            try budget.leaf()
            return try leaf.compare(leaf.actual(in: event), budget: &budget)
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
        var budget = ConditionBudget(maxScanBytes: .max, maxLeaves: .max)
        return (try? self.compare(actual, budget: &budget)) ?? false
    }

    /// The leaf's comparison; string operators charge the text they examine to `budget`.
    func compare(_ actual: MappingValue, budget: inout ConditionBudget) throws(ConditionBudgetExceeded) -> Bool {
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
            return try TextSearch.withUTF8(text, needle) { text, needle throws(ConditionBudgetExceeded) in
                try self.compareText(text, expected: needle, budget: &budget)!  // A string operator answers.
            }
        case "exists": return !actual.isNullish
        case "not_exists": return actual.isNullish
        case "is_true": return actual == .bool(true)
        case "is_false": return actual == .bool(false)
        default: return false
        }
    }
}

extension ConditionLeaf {
    /// A string operator on a string's UTF-8, charging its length to `budget`; nil for any other operator.
    func compareText(
        _ text: UnsafeRawBufferPointer, expected needle: UnsafeRawBufferPointer, budget: inout ConditionBudget
    ) throws(ConditionBudgetExceeded) -> Bool? {
        switch self.operator {
        case "contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with":
            try budget.scan(text.count)
        default:
            return nil
        }
        switch self.operator {
        case "contains": return TextSearch.contains(text, needle)
        case "not_contains": return !TextSearch.contains(text, needle)
        case "starts_with": return TextSearch.hasPrefix(text, needle)
        case "not_starts_with": return !TextSearch.hasPrefix(text, needle)
        case "ends_with": return TextSearch.hasSuffix(text, needle)
        default: return !TextSearch.hasSuffix(text, needle)
        }
    }
}
