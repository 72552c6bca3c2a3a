import EnrichPolicy

/// Renders a parsed template against a scope, within `LiquidTemplate`'s step and output limits.
struct LiquidContext {
    let scope: MappingValue
    let limits: LiquidLimits
    var locals = MappingObject()
    var steps = 0
    /// Text produced so far (filter results, captures), against `maxProducedCharacters`.
    var produced = 0

    init(scope: MappingValue, limits: LiquidLimits) {
        self.scope = scope
        self.limits = limits
    }

    /// Counts a value the render made against the value and production limits.
    mutating func charge(_ value: MappingValue) throws(LiquidError) {
        let size: Int
        switch value {
        case .string(let text): size = text.utf8.count
        case .array(let elements):
            var total = 0
            for element in elements {
                if case .string(let text) = element { total += text.utf8.count + 1 } else { total += 8 }
            }
            size = total
        default: return
        }
        try Self.checkValue(size, self.limits)
        self.produced += size
        guard self.produced <= self.limits.maxProducedCharacters else {
            throw LiquidError("liquid template produced more than \(self.limits.maxProducedCharacters) bytes of text")
        }
    }

    /// Refuses a value larger than `maxValueCharacters` (before it is made, when the caller can size it first).
    static func checkValue(_ size: Int, _ limits: LiquidLimits) throws(LiquidError) {
        guard size <= limits.maxValueCharacters else {
            throw LiquidError("liquid value of \(size) bytes exceeds the limit of \(limits.maxValueCharacters)")
        }
    }

    private mutating func step() throws(LiquidError) {
        self.steps += 1
        guard self.steps <= self.limits.maxRenderSteps else {
            throw LiquidError("liquid template exceeded \(self.limits.maxRenderSteps) render steps")
        }
    }

    mutating func render(_ nodes: [LiquidNode], into output: inout String) throws(LiquidError) {
        for node in nodes {
            try self.step()
            switch node {
            case .text(let text): output += text
            case .output(let value):
                let text = Self.stringify(try self.evaluate(value))
                guard output.utf8.count + text.utf8.count <= self.limits.maxOutputCharacters else {
                    throw LiquidError("liquid output exceeded \(self.limits.maxOutputCharacters) characters")
                }
                output += text
            case .assign(let name, let value):
                let assigned = try self.evaluate(value)
                if case .string(let text) = assigned { try Self.checkValue(text.utf8.count, self.limits) }
                self.locals[name] = assigned
            case .capture(let name, let body):
                var captured = ""
                try self.render(body, into: &captured)
                try self.charge(.string(captured))
                self.locals[name] = .string(captured)
            case .branches(let branches):
                for branch in branches {
                    if let condition = branch.condition, !(try self.test(condition)) { continue }
                    try self.render(branch.body, into: &output)
                    break
                }
            }
            guard output.utf8.count <= self.limits.maxOutputCharacters else {
                throw LiquidError("liquid output exceeded \(self.limits.maxOutputCharacters) characters")
            }
        }
    }

    // MARK: - Values

    /// liquidjs's output: nil is "", arrays are their elements joined, everything else `String(x)`.
    static func stringify(_ value: MappingValue) -> String {
        switch value {
        case .undefined, .null: ""
        case .array(let elements): elements.map(Self.stringify).joined()
        default: value.jsString
        }
    }

    /// Liquid truthiness: only false and nil are false.
    static func isTruthy(_ value: MappingValue) -> Bool {
        switch value {
        case .undefined, .null, .bool(false): false
        default: true
        }
    }

    func lookup(_ root: String) -> MappingValue {
        self.locals.has(root) ? self.locals[root] : PathLookup.property(self.scope, root)
    }

    /// liquidjs's readProperty: members and indexes, plus `size`, `first` and `last`.
    static func property(_ value: MappingValue, _ key: MappingValue) -> MappingValue {
        if case .number(let number) = key, case .array(let elements) = value {
            let index = Int(number) < 0 ? elements.count + Int(number) : Int(number)
            return elements.indices.contains(index) ? elements[index] : .undefined
        }
        let name = key.jsString
        switch (value, name) {
        case (.array(let elements), "size"): return .number(Double(elements.count))
        case (.array(let elements), "first"): return elements.first ?? .undefined
        case (.array(let elements), "last"): return elements.last ?? .undefined
        case (.string(let text), "size"): return .number(Double(text.utf16.count))
        case (.object(let object), "size") where !object.has("size"): return .number(Double(object.count))
        default: return PathLookup.property(value, name)
        }
    }

    mutating func evaluate(_ expression: LiquidExpression) throws(LiquidError) -> MappingValue {
        switch expression {
        case .literal(let value): return value
        case .empty, .blank: return .string("")
        case .variable(let path):
            guard let first = path.first else { return .undefined }
            var current: MappingValue
            if case .literal(.string(let name)) = first {
                current = self.lookup(name)
            } else {
                current = self.lookup(try self.evaluate(first).jsString)
            }
            for key in path.dropFirst() {
                if current.isNullish { return .undefined }
                current = Self.property(current, try self.evaluate(key))
            }
            return current
        }
    }

    mutating func evaluate(_ output: LiquidOutput) throws(LiquidError) -> MappingValue {
        var value = try self.evaluate(output.expression)
        for filter in output.filters {
            try self.step()
            var arguments: [MappingValue] = []
            for argument in filter.arguments { arguments.append(try self.evaluate(argument)) }
            value = try LiquidFilters.apply(filter.name, value, arguments, limits: self.limits)
            try self.charge(value)
        }
        return value
    }

    // MARK: - Conditions

    mutating func test(_ condition: LiquidCondition) throws(LiquidError) -> Bool {
        switch condition {
        case .value(let expression): return Self.isTruthy(try self.evaluate(expression))
        case .not(let inner): return !(try self.test(inner))
        case .and(let left, let right):
            let leftResult = try self.test(left)
            return leftResult ? try self.test(right) : false
        case .or(let left, let right):
            let leftResult = try self.test(left)
            return leftResult ? true : try self.test(right)
        case .comparison(let leftExpression, let op, let rightExpression):
            let left = try self.evaluate(leftExpression)
            let right = try self.evaluate(rightExpression)
            if rightExpression == .empty || rightExpression == .blank || leftExpression == .empty
                || leftExpression == .blank
            {
                let other = (rightExpression == .empty || rightExpression == .blank) ? left : right
                let blank = rightExpression == .blank || leftExpression == .blank
                let isEmpty = Self.isEmpty(other, blank: blank)
                switch op {
                case "==": return isEmpty
                case "!=", "<>": return !isEmpty
                default: return false
                }
            }
            switch op {
            case "==": return Self.equal(left, right)
            case "!=", "<>": return !Self.equal(left, right)
            case "contains":
                switch left {
                case .string(let text): return text.contains(right.jsString)
                case .array(let elements): return elements.contains { Self.equal($0, right) }
                default: return false
                }
            default:
                guard case .number(let a) = left, case .number(let b) = right else {
                    if case .string(let a) = left, case .string(let b) = right {
                        switch op {
                        case "<": return a < b
                        case ">": return a > b
                        case "<=": return a <= b
                        default: return a >= b
                        }
                    }
                    return false
                }
                switch op {
                case "<": return a < b
                case ">": return a > b
                case "<=": return a <= b
                default: return a >= b
                }
            }
        }
    }

    static func equal(_ a: MappingValue, _ b: MappingValue) -> Bool {
        switch (a, b) {
        case (.undefined, .null), (.null, .undefined): true
        default: a == b
        }
    }

    static func isEmpty(_ value: MappingValue, blank: Bool) -> Bool {
        switch value {
        case .string(let text): blank ? text.trimmingJSWhitespace().isEmpty : text.isEmpty
        case .array(let elements): elements.isEmpty
        case .object(let object): object.isEmpty
        case .undefined, .null: blank
        case .bool(let flag): blank && !flag
        case .number: false
        }
    }
}

/// The filters `@liquid` templates may use; Segment's disabled ones throw, unknown ones pass the value
/// through (liquidjs without strictFilters).
enum LiquidFilters {
    static func apply(
        _ name: String, _ value: MappingValue, _ arguments: [MappingValue], limits: LiquidLimits
    ) throws(LiquidError) -> MappingValue {
        if LiquidTemplate.disabledFilters.contains(name) { throw LiquidError("filter \"\(name)\" is disabled") }
        let text = LiquidContext.stringify(value)
        func argument(_ index: Int) -> MappingValue { index < arguments.count ? arguments[index] : .undefined }
        func number(_ v: MappingValue) -> Double { v.jsNumber }
        switch name {
        case "upcase": return .string(text.uppercased())
        case "downcase": return .string(text.lowercased())
        case "capitalize": return .string(text.prefix(1).uppercased() + text.dropFirst().lowercased())
        case "append": return .string(text + LiquidContext.stringify(argument(0)))
        case "prepend": return .string(LiquidContext.stringify(argument(0)) + text)
        case "default":
            let empty: Bool =
                switch value {
                case .undefined, .null, .bool(false): true
                case .string(let s): s.isEmpty
                case .array(let a): a.isEmpty
                default: false
                }
            return empty ? argument(0) : value
        case "size":
            switch value {
            case .array(let elements): return .number(Double(elements.count))
            case .object(let object): return .number(Double(object.count))
            case .undefined, .null: return .number(0)
            default: return .number(Double(text.utf16.count))
            }
        case "strip": return .string(text.trimmingJSWhitespace())
        case "lstrip": return .string(String(text.drop(while: { $0.isWhitespace })))
        case "rstrip": return .string(String(text.reversed().drop(while: { $0.isWhitespace }).reversed()))
        case "strip_newlines": return .string(text.filter { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
        case "replace", "replace_first", "remove", "remove_first":
            let pattern = LiquidContext.stringify(argument(0))
            let replacement = name.hasPrefix("remove") ? "" : LiquidContext.stringify(argument(1))
            return .string(try Self.replace(text, pattern, replacement, all: !name.hasSuffix("_first"), limits: limits))
        case "split":
            let separator = LiquidContext.stringify(argument(0))
            if separator.isEmpty { return .array(text.map { .string(String($0)) }) }
            return .array(
                text.split(separator: separator, omittingEmptySubsequences: false).map { .string(String($0)) })
        case "join":
            guard case .array(let elements) = value else { return value }
            let separator = arguments.isEmpty ? " " : LiquidContext.stringify(argument(0))
            let parts = elements.map(LiquidContext.stringify)
            // Sized before it is made: a long separator between many parts multiplies.
            try LiquidContext.checkValue(
                parts.reduce(0) { $0 + $1.utf8.count } + max(0, parts.count - 1) * separator.utf8.count, limits
            )
            return .string(parts.joined(separator: separator))
        case "first":
            if case .array(let elements) = value { return elements.first ?? .undefined }
            return text.isEmpty ? .undefined : .string(String(text.prefix(1)))
        case "last":
            if case .array(let elements) = value { return elements.last ?? .undefined }
            return text.isEmpty ? .undefined : .string(String(text.suffix(1)))
        case "truncate":
            let length = arguments.isEmpty ? 50 : Int(number(argument(0)))
            let ellipsis = arguments.count > 1 ? LiquidContext.stringify(argument(1)) : "..."
            guard text.count > length else { return .string(text) }
            return .string(String(text.prefix(max(0, length - ellipsis.count))) + ellipsis)
        case "slice":
            let characters = Array(text)
            var start = Int(number(argument(0)))
            let length = arguments.count > 1 ? Int(number(argument(1))) : 1
            if start < 0 { start += characters.count }
            guard start >= 0, start < characters.count, length > 0 else { return .string("") }
            return .string(String(characters[start..<min(characters.count, start + length)]))
        case "plus": return .number(number(value) + number(argument(0)))
        case "minus": return .number(number(value) - number(argument(0)))
        case "times": return .number(number(value) * number(argument(0)))
        case "divided_by": return .number(number(value) / number(argument(0)))
        case "modulo": return .number(number(value).truncatingRemainder(dividingBy: number(argument(0))))
        case "abs": return .number(abs(number(value)))
        case "ceil": return .number(number(value).rounded(.up))
        case "floor": return .number(number(value).rounded(.down))
        case "round":
            let places = arguments.isEmpty ? 0 : Int(number(argument(0)))
            var scale = 1.0
            for _ in 0..<max(0, places) { scale *= 10 }
            return .number((number(value) * scale).rounded(.toNearestOrAwayFromZero) / scale)
        case "at_least": return .number(max(number(value), number(argument(0))))
        case "at_most": return .number(min(number(value), number(argument(0))))
        case "escape":
            var escaped = ""
            for character in text {
                switch character {
                case "&": escaped += "&amp;"
                case "<": escaped += "&lt;"
                case ">": escaped += "&gt;"
                case "\"": escaped += "&#34;"
                case "'": escaped += "&#39;"
                default: escaped.append(character)
                }
            }
            return .string(escaped)
        case "json": return JSText.stringify(value).map(MappingValue.string) ?? .undefined
        default: return value
        }
    }

    static func replace(
        _ text: String, _ pattern: String, _ replacement: String, all: Bool, limits: LiquidLimits
    ) throws(LiquidError) -> String {
        guard !pattern.isEmpty else { return text }
        let parts = text.split(separator: pattern, maxSplits: all ? Int.max : 1, omittingEmptySubsequences: false)
        // Sized before it is made: a long replacement of a short, frequent pattern multiplies the text.
        try LiquidContext.checkValue(
            parts.reduce(0) { $0 + $1.utf8.count } + (parts.count - 1) * replacement.utf8.count, limits)
        return parts.joined(separator: replacement)
    }
}

/// The `@liquid` templates of one mapping, parsed when the mapping is compiled. A template that does not parse
/// fails when it runs, as in Segment, where `@liquid` errors are run-time errors.
struct LiquidCache: Sendable {
    private var templates: [String: Result<LiquidTemplate, LiquidError>] = [:]
    let limits: LiquidLimits

    init(collecting mapping: MappingValue, limits: LiquidLimits) throws(MappingError) {
        self.limits = limits
        self.collect(mapping)
    }

    private mutating func collect(_ value: MappingValue) {
        switch value {
        case .object(let object):
            if case .string(let template) = object["@liquid"], self.templates[template] == nil {
                self.templates[template] = Result { () throws(LiquidError) in
                    try LiquidTemplate(parsing: template, limits: self.limits)
                }
            }
            for (_, member) in object.entries { self.collect(member) }
        case .array(let elements):
            for element in elements { self.collect(element) }
        default:
            break
        }
    }

    /// The templates that do not parse, with the parser's message, in a stable order: what a destination write
    /// refuses (mapping-kit itself only fails them when they run, as Segment does).
    var parseErrors: [(template: String, message: String)] {
        self.templates.compactMap { template, parsed in
            if case .failure(let error) = parsed { (template, error.message) } else { nil }
        }.sorted { $0.template < $1.template }
    }

    func render(_ template: String, _ scope: MappingValue) throws(MappingError) -> String {
        guard !template.isEmpty else { return "" }
        let compiled =
            self.templates[template]
            ?? Result { () throws(LiquidError) in try LiquidTemplate(parsing: template, limits: self.limits) }
        do {
            return try compiled.get().render(scope)
        } catch {
            throw .runtime(error.message)
        }
    }
}
