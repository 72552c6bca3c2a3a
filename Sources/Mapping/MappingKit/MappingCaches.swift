import EnrichPolicy

/// Everything about a mapping that can be worked out once: `@path` strings split into keys, `@template`
/// strings split into text and placeholders, `@liquid` templates parsed. The resolver looks here first and
/// falls back to doing the work at run time (for strings that only exist at run time).
struct MappingCaches: Sendable {
    enum TemplatePiece: Sendable {
        case text(String)
        case placeholder([String]?)  // nil keys: the whole payload ("{{ }}", "{{.}}").
    }

    var paths: [String: [String]?] = [:]
    var templates: [String: [TemplatePiece]] = [:]
    var liquid: LiquidCache

    init(collecting mapping: MappingValue, liquid limits: LiquidLimits) throws(MappingError) {
        self.liquid = try LiquidCache(collecting: mapping, limits: limits)
        self.collect(mapping)
    }

    private mutating func collect(_ value: MappingValue) {
        switch value {
        case .object(let object):
            if case .string(let path) = object["@path"] { self.paths[path] = Self.keys(forPath: path) }
            if case .array(let elements) = object["@arrayPath"], case .string(let path)? = elements.first {
                self.paths[path] = Self.keys(forPath: path)
            }
            if case .string(let template) = object["@template"], let pieces = Self.pieces(template) {
                self.templates[template] = pieces
            }
            for (_, member) in object.entries { self.collect(member) }
        case .array(let elements):
            for element in elements { self.collect(element) }
        default:
            break
        }
    }

    /// The keys of a `@path` after removing its first "$."; nil for the whole payload ("" or ".").
    static func keys(forPath path: String) -> [String]? {
        let stripped = Resolver.removeFirstDollarDot(path)
        if stripped.isEmpty || stripped == "." { return nil }
        return PathLookup.mappingKeys(stripped)
    }

    /// Splits a template with only `{{...}}` placeholders; nil when it has `{{{`, whose two-pass rendering
    /// (triple braces first, then double braces over the result) must run as written.
    static func pieces(_ template: String) -> [TemplatePiece]? {
        let scalars = Array(template.unicodeScalars)
        var pieces: [TemplatePiece] = []
        var text: [Unicode.Scalar] = []
        var index = 0
        for position in 0..<max(0, scalars.count - 2)
        where scalars[position] == "{" && scalars[position + 1] == "{" && scalars[position + 2] == "{" {
            _ = position
            return nil
        }
        while index < scalars.count {
            if index + 1 < scalars.count, scalars[index] == "{", scalars[index + 1] == "{" {
                var end = index + 2
                while end < scalars.count && scalars[end] != "}" { end += 1 }
                if end > index + 2, end + 1 < scalars.count, scalars[end + 1] == "}" {
                    if !text.isEmpty { pieces.append(.text(String(String.UnicodeScalarView(text)))) }
                    text = []
                    let path = String(String.UnicodeScalarView(scalars[(index + 2)..<end])).trimmingJSWhitespace()
                    pieces.append(.placeholder(path.isEmpty || path == "." ? nil : PathLookup.mappingKeys(path)))
                    index = end + 2
                    continue
                }
            }
            text.append(scalars[index])
            index += 1
        }
        if !text.isEmpty { pieces.append(.text(String(String.UnicodeScalarView(text)))) }
        return pieces
    }

    static func render(_ pieces: [TemplatePiece], _ payload: MappingValue) -> String {
        var output = ""
        for piece in pieces {
            switch piece {
            case .text(let text): output += text
            case .placeholder(let keys):
                let value = keys.map { PathLookup.walk(payload, $0) } ?? payload
                if !value.isNullish { output += value.jsString }
            }
        }
        return output
    }
}
