import EnrichPolicy

/// A Liquid subset with liquidjs's behaviour for what Segment allows in `@liquid`: output with filters,
/// `if`/`elsif`/`else`, `unless`, `assign`, `capture`, `comment` and `raw`. The tags and filters Segment
/// disables (`for`, `case`, `map`, `sort`, ...) fail as they do there. Templates are parsed once; rendering is
/// bounded in steps and output size, so a hostile template cannot stall the server.
struct LiquidTemplate: Sendable {
    let nodes: [LiquidNode]
    /// Template size, render steps, output and values (EnrichPolicy's `LiquidLimits`). Without the value limit,
    /// `assign x = x | append: x` repeated doubles a variable past any memory.
    let limits: LiquidLimits

    static let disabledTags: Set<String> = ["case", "for", "include", "layout", "render", "tablerow"]
    static let disabledFilters: Set<String> = [
        "array_to_sentence_string", "concat", "find", "find_exp", "find_index", "find_index_exp", "group_by",
        "group_by_exp", "has", "has_exp", "map", "newline_to_br", "reject", "reject_exp", "reverse", "sort",
        "sort_natural", "uniq", "where_exp", "type",
    ]

    init(parsing source: String, limits: LiquidLimits) throws(LiquidError) {
        guard source.utf16.count <= limits.maxTemplateCharacters else {
            throw LiquidError("liquid template values are limited to \(limits.maxTemplateCharacters) characters")
        }
        self.limits = limits
        var parser = LiquidParser(tokens: try LiquidLexer.tokenize(source))
        self.nodes = try parser.parseBlock(until: [])
    }

    func render(_ scope: MappingValue) throws(LiquidError) -> String {
        var context = LiquidContext(scope: scope, limits: self.limits)
        var output = ""
        try context.render(self.nodes, into: &output)
        return output
    }
}

struct LiquidError: Error, Equatable, Sendable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { self.message }
}

// MARK: - Lexing

enum LiquidToken: Equatable {
    case text(String)
    case output(String)
    case tag(String)
}

enum LiquidLexer {
    /// Splits a template into text, `{{ output }}` and `{% tag %}`, applying `-` whitespace control.
    static func tokenize(_ source: String) throws(LiquidError) -> [LiquidToken] {
        let scalars = Array(source.unicodeScalars)
        var tokens: [LiquidToken] = []
        var text: [Unicode.Scalar] = []
        var index = 0
        var trimNextText = false
        func flushText(trimEnd: Bool) {
            var content = text
            if trimNextText { while let first = content.first, Self.isSpace(first) { content.removeFirst() } }
            if trimEnd { while let last = content.last, Self.isSpace(last) { content.removeLast() } }
            if !content.isEmpty { tokens.append(.text(String(String.UnicodeScalarView(content)))) }
            text = []
            trimNextText = false
        }
        while index < scalars.count {
            if scalars[index] == "{", index + 1 < scalars.count, scalars[index + 1] == "{" || scalars[index + 1] == "%"
            {
                let isOutput = scalars[index + 1] == "{"
                let close: Unicode.Scalar = isOutput ? "}" : "%"
                var start = index + 2
                let trimBefore = start < scalars.count && scalars[start] == "-"
                if trimBefore { start += 1 }
                var end = start
                while end + 1 < scalars.count && !(scalars[end] == close && scalars[end + 1] == "}") { end += 1 }
                guard end + 1 < scalars.count else {
                    throw LiquidError(
                        "\(isOutput ? "output" : "tag") \"\(String(String.UnicodeScalarView(scalars[index...])))\" not closed"
                    )
                }
                var contentEnd = end
                let trimAfter = contentEnd > start && scalars[contentEnd - 1] == "-"
                if trimAfter { contentEnd -= 1 }
                flushText(trimEnd: trimBefore)
                let content = String(String.UnicodeScalarView(scalars[start..<contentEnd])).trimmingJSWhitespace()
                tokens.append(isOutput ? .output(content) : .tag(content))
                trimNextText = trimAfter
                index = end + 2
                if !isOutput, content == "raw" || content.hasPrefix("raw ") {
                    // Everything up to {% endraw %} is text.
                    var rawEnd = index
                    let marker = Array("{%".unicodeScalars)
                    var found = false
                    while rawEnd + 1 < scalars.count {
                        if scalars[rawEnd] == marker[0] && scalars[rawEnd + 1] == marker[1] {
                            var probe = rawEnd + 2
                            while probe < scalars.count && (Self.isSpace(scalars[probe]) || scalars[probe] == "-") {
                                probe += 1
                            }
                            let word = Array("endraw".unicodeScalars)
                            if probe + word.count <= scalars.count
                                && Array(scalars[probe..<(probe + word.count)]) == word
                            {
                                found = true
                                break
                            }
                        }
                        rawEnd += 1
                    }
                    guard found else { throw LiquidError("tag {% raw %} not closed") }
                    tokens.append(.text(String(String.UnicodeScalarView(scalars[index..<rawEnd]))))
                    index = rawEnd
                }
                continue
            }
            text.append(scalars[index])
            index += 1
        }
        flushText(trimEnd: false)
        return tokens
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
    }
}

// MARK: - Syntax

indirect enum LiquidExpression: Sendable, Equatable {
    case literal(MappingValue)
    case variable([LiquidExpression])  // First is the root name as .literal(.string), then keys.
    case empty
    case blank
}

struct LiquidFilter: Sendable, Equatable {
    var name: String
    var arguments: [LiquidExpression]
}

struct LiquidOutput: Sendable, Equatable {
    var expression: LiquidExpression
    var filters: [LiquidFilter]
}

indirect enum LiquidCondition: Sendable, Equatable {
    case value(LiquidExpression)
    case comparison(LiquidExpression, String, LiquidExpression)
    case and(LiquidCondition, LiquidCondition)
    case or(LiquidCondition, LiquidCondition)
    case not(LiquidCondition)
}

indirect enum LiquidNode: Sendable, Equatable {
    case text(String)
    case output(LiquidOutput)
    /// Branches in order; a nil condition is `else`.
    case branches([(condition: LiquidCondition?, body: [LiquidNode])])
    case assign(String, LiquidOutput)
    case capture(String, [LiquidNode])

    static func == (lhs: LiquidNode, rhs: LiquidNode) -> Bool {
        switch (lhs, rhs) {
        case (.text(let a), .text(let b)): a == b
        case (.output(let a), .output(let b)): a == b
        case (.assign(let a, let x), .assign(let b, let y)): a == b && x == y
        case (.capture(let a, let x), .capture(let b, let y)): a == b && x == y
        case (.branches(let a), .branches(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.condition == $1.condition && $0.body == $1.body }
        default: false
        }
    }
}
