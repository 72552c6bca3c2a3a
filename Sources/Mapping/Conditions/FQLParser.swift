/// A port of action-destinations' `parseFql`: a flat, left-to-right walk over the tokens with no operator
/// precedence, where the last `and`/`or` decides the whole group and unknown tokens are skipped.
/// See shared/specs/segment-languages.md, A.2.
enum FQLParser {
    static let fieldTypes: [String: ConditionLeaf.LeafType] = [
        "type": .eventType, "event": .event, "name": .name, "userId": .userId, "context": .context,
        "properties": .property, "traits": .trait,
    ]

    /// Parses a subscription condition.
    static func parse(_ text: String) -> Result<Condition, ConditionParseError> {
        guard !text.isEmpty else {
            return .failure(ConditionParseError(message: "the condition is empty", offset: nil))
        }
        let tokens: [FQLToken]
        switch FQLLexer.lex(text) {
        case .success(let lexed): tokens = lexed
        case .failure(let error): return .failure(ConditionParseError(message: error.message, offset: error.offset))
        }
        do throws(ConditionParseError) {
            var queue = TokenQueue(Self.normalize(tokens))
            guard let ast = try Self.parseGroup(&queue) else {
                throw ConditionParseError(
                    message: "no condition found; start with a field such as type, event, name, userId, "
                        + "properties.<name>, traits.<name> or context.<name>", offset: nil
                )
            }
            if case .group = ast { return .success(ast) }
            return .success(.group(operator: "and", children: [ast]))
        } catch {
            return .failure(error)
        }
    }

    /// Merges `ident . ident` runs into one dotted identifier, left to right.
    static func normalize(_ tokens: [FQLToken]) -> [FQLToken] {
        var result: [FQLToken] = []
        var index = 0
        while index < tokens.count {
            let current = tokens[index]
            if let last = result.last, last.kind == .ident, current.kind == .dot, index + 1 < tokens.count,
                tokens[index + 1].kind == .ident
            {
                result[result.count - 1].value = last.value + "." + tokens[index + 1].value
                index += 2
            } else {
                result.append(current)
                index += 1
            }
        }
        return result
    }

    struct TokenQueue {
        var tokens: [FQLToken]
        var index = 0
        init(_ tokens: [FQLToken]) { self.tokens = tokens }
        mutating func shift() -> FQLToken? {
            guard self.index < self.tokens.count else { return nil }
            defer { self.index += 1 }
            return self.tokens[self.index]
        }
        var first: FQLToken? { self.index < self.tokens.count ? self.tokens[self.index] : nil }
        var lastOffset: Int? { self.tokens.last?.offset }
    }

    /// `getTokenValue`: strings lose one leading and one trailing double quote, numbers become numbers,
    /// `true`/`false` identifiers become booleans, anything else is its text.
    static func tokenValue(_ token: FQLToken) -> ConditionValue {
        switch token.kind {
        case .string:
            var text = Substring(token.value)
            if text.hasPrefix("\"") { text = text.dropFirst() }
            if text.hasSuffix("\"") { text = text.dropLast() }
            return .string(String(text))
        case .number:
            return .number(JSNumber.parse(token.value))
        case .ident where token.value == "true" || token.value == "false":
            return .bool(token.value == "true")
        default:
            return .string(token.value)
        }
    }

    static func stripPrefix(_ name: String, _ prefix: String) -> String {
        name.hasPrefix(prefix + ".") ? String(name.dropFirst(prefix.count + 1)) : name
    }

    private static func parseGroup(_ tokens: inout TokenQueue) throws(ConditionParseError) -> Condition? {
        var nodes: [Condition] = []
        var groupOperator = "and"
        while let token = tokens.shift(), token.kind != .eos {
            switch token.kind {
            case .ident:
                let head = String(token.value.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
                if let type = Self.fieldTypes[head] {
                    nodes.append(try Self.parseComparison(field: token, type: type, tokens: &tokens))
                }
                if token.value == "contains" || token.value == "match" {
                    if let node = try Self.parseFunction(token, tokens: &tokens, negate: false) { nodes.append(node) }
                }
            case .operator where token.value == "!":
                if let next = tokens.first, next.kind == .ident, next.value == "contains" || next.value == "match" {
                    _ = tokens.shift()
                    if let node = try Self.parseFunction(next, tokens: &tokens, negate: true) { nodes.append(node) }
                }
            case .parenLeft:
                var group: [FQLToken] = []
                while true {
                    guard let inner = tokens.shift() else {
                        throw ConditionParseError(
                            message: "'(' is not closed (parentheses cannot be nested)", offset: token.offset
                        )
                    }
                    if inner.kind == .parenRight { break }
                    group.append(inner)
                }
                group.append(FQLToken(kind: .eos, value: "eos", offset: token.offset))
                var inner = TokenQueue(group)
                guard let node = try Self.parseGroup(&inner) else {
                    throw ConditionParseError(message: "the parenthesised group has no condition", offset: token.offset)
                }
                nodes.append(node)
            case .conditional:
                groupOperator = token.value
            default:
                break  // Stray strings, numbers, commas and ')' are skipped, as upstream does.
            }
        }
        if nodes.count > 1 { return .group(operator: groupOperator, children: nodes) }
        return nodes.first
    }

    private static func parseComparison(
        field: FQLToken, type: ConditionLeaf.LeafType, tokens: inout TokenQueue
    ) throws(ConditionParseError) -> Condition {
        guard let operatorToken = tokens.shift() else {
            throw ConditionParseError(
                message: "'\(field.value)' needs an operator and a value after it", offset: field.offset)
        }
        guard let valueToken = tokens.shift() else {
            if operatorToken.kind == .eos {
                throw ConditionParseError(
                    message: "'\(field.value)' needs an operator and a value after it", offset: field.offset)
            }
            throw ConditionParseError(
                message: "'\(field.value) \(operatorToken.value)' needs a value after it", offset: operatorToken.offset)
        }
        let op = operatorToken.value
        let isTrue = op == "=" && valueToken.value == "true"
        let isFalse = op == "=" && valueToken.value == "false"
        let isExists = op == "!=" && valueToken.value == "null"
        let isNotExists = op == "=" && valueToken.value == "null"
        let isNumber = (op == "=" || op == "!=") && valueToken.kind == .number
        let value = Self.tokenValue(valueToken)
        func leaf(_ name: String?, _ op: String, _ value: ConditionValue?) -> Condition {
            .leaf(ConditionLeaf(type: type, name: name, operator: op, value: value))
        }
        switch type {
        case .eventType, .event:
            return leaf(nil, op, .string(value.jsString))
        case .name, .userId:
            if isExists { return leaf(nil, "exists", nil) }
            if isNotExists { return leaf(nil, "not_exists", nil) }
            if type == .userId && isTrue { return leaf(nil, "is_true", nil) }
            if type == .userId && isFalse { return leaf(nil, "is_false", nil) }
            return leaf(nil, op, .string(value.jsString))
        case .property, .trait, .context:
            let prefix = type == .property ? "properties" : (type == .trait ? "traits" : "context")
            let name = Self.stripPrefix(field.value, prefix)
            if isExists { return leaf(name, "exists", nil) }
            if isNotExists { return leaf(name, "not_exists", nil) }
            if isTrue { return leaf(name, "is_true", nil) }
            if isFalse { return leaf(name, "is_false", nil) }
            if isNumber { return leaf(name, op == "=" ? "number_equals" : "number_not_equals", value) }
            return leaf(name, op, value)
        }
    }

    /// `contains(field, "x")` and `match(field, "x*")`, with tokens taken by position and no checking.
    private static func parseFunction(
        _ function: FQLToken, tokens: inout TokenQueue, negate: Bool
    ) throws(ConditionParseError) -> Condition? {
        _ = tokens.shift()  // "("
        guard let nameToken = tokens.shift() else {
            throw ConditionParseError(message: "\(function.value)() is missing a 1st argument", offset: function.offset)
        }
        _ = tokens.shift()  // ","
        guard let valueToken = tokens.shift() else {
            throw ConditionParseError(message: "\(function.value)() is missing a 2nd argument", offset: function.offset)
        }
        _ = tokens.shift()  // ")"
        let op: String
        let value: String
        if function.value == "contains" {
            op = negate ? "not_contains" : "contains"
            value = Self.tokenValue(valueToken).jsString
        } else if valueToken.value.hasSuffix("*\"") {
            op = negate ? "not_starts_with" : "starts_with"
            value = String(Self.tokenValue(valueToken).jsString.dropLast())
        } else {
            op = negate ? "not_ends_with" : "ends_with"
            value = String(Self.tokenValue(valueToken).jsString.dropFirst())
        }
        let field = nameToken.value
        if ["event", "name", "userId"].contains(field) {
            let type: ConditionLeaf.LeafType = field == "event" ? .event : (field == "name" ? .name : .userId)
            return .leaf(ConditionLeaf(type: type, name: nil, operator: op, value: .string(value)))
        }
        for (prefix, type) in [
            ("properties", ConditionLeaf.LeafType.property), ("traits", .trait), ("context", .context),
        ]
        where field.hasPrefix(prefix) {
            return .leaf(
                ConditionLeaf(type: type, name: Self.stripPrefix(field, prefix), operator: op, value: .string(value)))
        }
        return nil  // Any other field, `type` included, is silently dropped, as upstream does.
    }
}
