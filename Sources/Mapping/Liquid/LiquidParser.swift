/// Tokens inside `{{ }}` and `{% %}`.
enum LiquidWord: Equatable {
    case identifier(String)
    case string(String)
    case number(Double)
    case symbol(String)  // | : , . [ ] ( ) and comparison operators
}

/// Builds the node tree from the template's tokens.
struct LiquidParser {
    private let tokens: [LiquidToken]
    private var index = 0

    init(tokens: [LiquidToken]) { self.tokens = tokens }

    static func tagName(_ content: String) -> (String, String) {
        let trimmed = content.trimmingJSWhitespace()
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) else {
            return (trimmed, "")
        }
        return (String(trimmed[..<space]), String(trimmed[space...]).trimmingJSWhitespace())
    }

    /// Parses nodes until one of `terminators` (a tag name) and leaves the index on it.
    mutating func parseBlock(until terminators: Set<String>) throws(LiquidError) -> [LiquidNode] {
        var nodes: [LiquidNode] = []
        while self.index < self.tokens.count {
            let token = self.tokens[self.index]
            switch token {
            case .text(let text):
                nodes.append(.text(text))
                self.index += 1
            case .output(let content):
                nodes.append(.output(try Self.parseOutput(content)))
                self.index += 1
            case .tag(let content):
                let (name, arguments) = Self.tagName(content)
                if terminators.contains(name) { return nodes }
                self.index += 1
                nodes.append(contentsOf: try self.parseTag(name, arguments))
            }
        }
        guard terminators.isEmpty else {
            throw LiquidError(
                "tag {% \(terminators.sorted().joined(separator: " / ")) %} expected but the template ended")
        }
        return nodes
    }

    private mutating func currentTagName() -> String? {
        guard self.index < self.tokens.count, case .tag(let content) = self.tokens[self.index] else { return nil }
        return Self.tagName(content).0
    }

    private mutating func currentTagArguments() -> String {
        guard self.index < self.tokens.count, case .tag(let content) = self.tokens[self.index] else { return "" }
        return Self.tagName(content).1
    }

    private mutating func parseTag(_ name: String, _ arguments: String) throws(LiquidError) -> [LiquidNode] {
        if LiquidTemplate.disabledTags.contains(name) { throw LiquidError("tag \"\(name)\" is disabled") }
        switch name {
        case "if", "unless":
            var branches: [(condition: LiquidCondition?, body: [LiquidNode])] = []
            var condition: LiquidCondition? = try Self.parseCondition(arguments)
            if name == "unless", let positive = condition { condition = .not(positive) }
            let end = name == "if" ? "endif" : "endunless"
            while true {
                let body = try self.parseBlock(until: ["elsif", "else", end])
                branches.append((condition, body))
                let next = self.currentTagName()
                let nextArguments = self.currentTagArguments()
                self.index += 1
                switch next {
                case "elsif": condition = try Self.parseCondition(nextArguments)
                case "else": condition = nil
                default: return [.branches(branches)]
                }
                if condition == nil {
                    branches.append((nil, try self.parseBlock(until: [end])))
                    self.index += 1
                    return [.branches(branches)]
                }
            }
        case "assign":
            guard let equals = arguments.firstIndex(of: "=") else { throw LiquidError("illegal assign: \(arguments)") }
            let variable = String(arguments[..<equals]).trimmingJSWhitespace()
            guard !variable.isEmpty else { throw LiquidError("illegal assign: \(arguments)") }
            return [.assign(variable, try Self.parseOutput(String(arguments[arguments.index(after: equals)...])))]
        case "capture":
            let variable = arguments.trimmingJSWhitespace().trimmingQuotes()
            let body = try self.parseBlock(until: ["endcapture"])
            self.index += 1
            return [.capture(variable, body)]
        case "comment":
            _ = try self.parseBlock(until: ["endcomment"])
            self.index += 1
            return []
        case "raw":
            let body = try self.parseBlock(until: ["endraw"])
            self.index += 1
            return body
        case "echo":
            return [.output(try Self.parseOutput(arguments))]
        default:
            throw LiquidError("tag \"\(name)\" not found")
        }
    }

    // MARK: - Expressions

    static func words(_ text: String) throws(LiquidError) -> [LiquidWord] {
        let scalars = Array(text.unicodeScalars)
        var words: [LiquidWord] = []
        var index = 0
        func isIdentifier(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
                || c == "?"
        }
        while index < scalars.count {
            let c = scalars[index]
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                index += 1
            } else if c == "\"" || c == "'" {
                var end = index + 1
                while end < scalars.count && scalars[end] != c { end += 1 }
                guard end < scalars.count else { throw LiquidError("unterminated string in \"\(text)\"") }
                words.append(.string(String(String.UnicodeScalarView(scalars[(index + 1)..<end]))))
                index = end + 1
            } else if (c >= "0" && c <= "9")
                || (c == "-" && index + 1 < scalars.count && scalars[index + 1] >= "0" && scalars[index + 1] <= "9")
            {
                var end = index + 1
                while end < scalars.count
                    && ((scalars[end] >= "0" && scalars[end] <= "9")
                        || (scalars[end] == "." && end + 1 < scalars.count && scalars[end + 1] >= "0"
                            && scalars[end + 1] <= "9"))
                { end += 1 }
                let literal = String(String.UnicodeScalarView(scalars[index..<end]))
                words.append(.number(Double(literal) ?? .nan))
                index = end
            } else if isIdentifier(c) {
                var end = index
                while end < scalars.count && isIdentifier(scalars[end]) { end += 1 }
                words.append(.identifier(String(String.UnicodeScalarView(scalars[index..<end]))))
                index = end
            } else {
                let two = index + 1 < scalars.count ? String(String.UnicodeScalarView([c, scalars[index + 1]])) : ""
                if ["==", "!=", "<>", "<=", ">=", ".."].contains(two) {
                    words.append(.symbol(two))
                    index += 2
                } else if "|:,.[]()<>".unicodeScalars.contains(c) {
                    words.append(.symbol(String(Character(c))))
                    index += 1
                } else {
                    throw LiquidError("unexpected character \"\(Character(c))\" in \"\(text)\"")
                }
            }
        }
        return words
    }

    struct WordStream {
        var words: [LiquidWord]
        var index = 0
        var peek: LiquidWord? { self.index < self.words.count ? self.words[self.index] : nil }
        mutating func next() -> LiquidWord? {
            defer { self.index += 1 }
            return self.peek
        }
        var atEnd: Bool { self.index >= self.words.count }
    }

    static func parseExpression(_ stream: inout WordStream) throws(LiquidError) -> LiquidExpression {
        guard let word = stream.next() else { throw LiquidError("expected a value") }
        switch word {
        case .string(let text): return .literal(.string(text))
        case .number(let number): return .literal(.number(number))
        case .identifier(let name):
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "nil", "null": return .literal(.null)
            case "empty": return .empty
            case "blank": return .blank
            default: break
            }
            var path: [LiquidExpression] = [.literal(.string(name))]
            while let next = stream.peek {
                if next == .symbol(".") {
                    stream.index += 1
                    guard case .identifier(let key)? = stream.next() else {
                        throw LiquidError("expected a name after '.'")
                    }
                    path.append(.literal(.string(key)))
                } else if next == .symbol("[") {
                    stream.index += 1
                    path.append(try Self.parseExpression(&stream))
                    guard stream.next() == .symbol("]") else { throw LiquidError("expected ']'") }
                } else {
                    break
                }
            }
            return .variable(path)
        case .symbol("["):
            let key = try Self.parseExpression(&stream)
            guard stream.next() == .symbol("]") else { throw LiquidError("expected ']'") }
            var path = [key]
            while stream.peek == .symbol(".") {
                stream.index += 1
                guard case .identifier(let next)? = stream.next() else {
                    throw LiquidError("expected a name after '.'")
                }
                path.append(.literal(.string(next)))
            }
            return .variable(path)
        case .symbol(let symbol):
            throw LiquidError("unexpected \"\(symbol)\"")
        }
    }

    static func parseOutput(_ text: String) throws(LiquidError) -> LiquidOutput {
        var stream = WordStream(words: try Self.words(text))
        guard !stream.atEnd else { return LiquidOutput(expression: .literal(.undefined), filters: []) }
        let expression = try Self.parseExpression(&stream)
        var filters: [LiquidFilter] = []
        while let word = stream.next() {
            guard word == .symbol("|") else { throw LiquidError("unexpected token in output \"\(text)\"") }
            guard case .identifier(let name)? = stream.next() else {
                throw LiquidError("expected a filter name after '|'")
            }
            var arguments: [LiquidExpression] = []
            if stream.peek == .symbol(":") {
                stream.index += 1
                while true {
                    // Keyword arguments (name: value) pass their value.
                    if case .identifier? = stream.peek, stream.index + 1 < stream.words.count,
                        stream.words[stream.index + 1] == .symbol(":")
                    {
                        stream.index += 2
                    }
                    arguments.append(try Self.parseExpression(&stream))
                    guard stream.peek == .symbol(",") else { break }
                    stream.index += 1
                }
            }
            filters.append(LiquidFilter(name: name, arguments: arguments))
        }
        return LiquidOutput(expression: expression, filters: filters)
    }

    static func parseCondition(_ text: String) throws(LiquidError) -> LiquidCondition {
        var stream = WordStream(words: try Self.words(text))
        guard !stream.atEnd else { throw LiquidError("a condition is missing") }
        let condition = try Self.parseConditionChain(&stream)
        guard stream.atEnd else { throw LiquidError("unexpected token in condition \"\(text)\"") }
        return condition
    }

    /// Comparisons joined by `and`/`or`, grouped from the right as Liquid evaluates them.
    private static func parseConditionChain(_ stream: inout WordStream) throws(LiquidError) -> LiquidCondition {
        let left = try Self.parseComparison(&stream)
        guard case .identifier(let joiner)? = stream.peek, joiner == "and" || joiner == "or" else { return left }
        stream.index += 1
        let right = try Self.parseConditionChain(&stream)
        return joiner == "and" ? .and(left, right) : .or(left, right)
    }

    private static func parseComparison(_ stream: inout WordStream) throws(LiquidError) -> LiquidCondition {
        let left = try Self.parseExpression(&stream)
        switch stream.peek {
        case .symbol(let op)? where ["==", "!=", "<>", "<", ">", "<=", ">="].contains(op):
            stream.index += 1
            return .comparison(left, op, try Self.parseExpression(&stream))
        case .identifier("contains")?:
            stream.index += 1
            return .comparison(left, "contains", try Self.parseExpression(&stream))
        default:
            return .value(left)
        }
    }
}

extension String {
    func trimmingQuotes() -> String {
        var text = Substring(self)
        if let first = text.first, first == "\"" || first == "'", text.last == first, text.count >= 2 {
            text = text.dropFirst().dropLast()
        }
        return String(text)
    }
}
