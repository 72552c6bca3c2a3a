package import EnrichPolicy
package import EventJSON

/// A mapping validated once and applied to any number of payloads, as mapping-kit's `transform` does
/// (spec B). Liquid templates are parsed once, when the mapping is compiled.
package struct CompiledMapping: Sendable {
    /// The mapping after root spreading and root-directive injection.
    let mapping: MappingValue
    let caches: MappingCaches
    /// What one application may cost (steps, values, text made, Liquid).
    let limits: LanguageLimits

    static let rootDirectiveKey = "__segment_internal_directive"

    /// Validates `mapping`; applying it stays within `limits` per payload.
    /// - Throws: `MappingError.validation` with Segment's messages, or `.runtime` for a malformed root directive.
    package init(_ mapping: JSONValue, limits: LanguageLimits = LanguageLimits()) throws(MappingError) {
        try self.init(MappingValue(mapping), limits: limits)
    }

    init(_ mapping: MappingValue, limits: LanguageLimits) throws(MappingError) {
        self.limits = limits
        let processed = try Self.mappingToProcess(Self.spreadRoot(mapping))
        do {
            try MappingValidator.validate(processed)
        } catch let failure as MappingValidator.Failure {
            throw .validation(failure.messages)
        } catch {
            throw .runtime("\(error)")
        }
        self.mapping = processed
        self.caches = try MappingCaches(collecting: processed, liquid: limits.liquid)
    }

    /// The root is shallow-copied with object spread: arrays and strings become index-keyed objects, other
    /// scalars `{}`.
    static func spreadRoot(_ mapping: MappingValue) -> MappingObject {
        switch mapping {
        case .object(let object): return object
        case .array(let elements): return MappingObject(elements.enumerated().map { (String($0.offset), $0.element) })
        case .string(let text):
            return MappingObject(
                text.utf16.enumerated().map {
                    (String($0.offset), .string(String(decoding: [$0.element], as: UTF16.self)))
                })
        default: return MappingObject()
        }
    }

    /// Injects the other root keys as the `mapping` of a `__segment_internal_directive`.
    static func mappingToProcess(_ root: MappingObject) throws(MappingError) -> MappingValue {
        guard root.has(Self.rootDirectiveKey) else { return .object(root) }
        var customer = MappingObject()
        for (key, value) in root.entries where key != Self.rootDirectiveKey { customer[key] = value }
        guard case .object(var directive) = root[Self.rootDirectiveKey] else {
            throw .runtime("The root directive must be an object")
        }
        guard directive.count <= 1 else { throw .runtime("The root mapping must only have a single directive object") }
        guard let name = directive.keys.first, case .object(var options) = directive[name] else {
            throw .runtime("The root directive must be an object")
        }
        options["mapping"] = .object(customer)
        directive[name] = .object(options)
        return .object(directive)
    }

    /// Applies the mapping to `payload`.
    /// - Throws: `MappingError.payload` when the payload is not an object, `.runtime` when a directive fails.
    package func apply(to payload: JSONValue) throws(MappingError) -> JSONValue {
        try self.apply(to: MappingValue(payload)).json ?? .object(JSONObject())
    }

    func apply(to payload: MappingValue) throws(MappingError) -> MappingValue {
        guard case .object = payload else { throw .payload("data must be an object, got \(payload.typeName)") }
        var resolver = Resolver(caches: self.caches, limits: self.limits)
        return Resolver.removeUndefined(try resolver.resolve(self.mapping, payload))
    }

    /// mapping-kit's `transform(mapping, payload)`: checks the payload, then compiles and applies.
    package static func transform(_ mapping: JSONValue, _ payload: JSONValue) throws(MappingError) -> JSONValue {
        let payloadValue = MappingValue(payload)
        guard case .object = payloadValue else {
            throw .payload("data must be an object, got \(payloadValue.typeName)")
        }
        return try CompiledMapping(mapping).apply(to: payload)
    }
}

/// Resolves a mapping against one payload. `steps` bounds the work one application may do.
struct Resolver {
    let caches: MappingCaches
    /// The whole slice, for mappings compiled while resolving (`@transform`'s `apply`).
    let limits: LanguageLimits
    /// Steps, value size and text made (EnrichPolicy's `MappingKitLimits`): a mapping past the steps is refused as
    /// runaway; a value over eight times the largest event, or more text than that in all, is refused.
    let kit: MappingKitLimits
    var steps = 0
    /// Text made so far by directives (`@template`, `@replace`, `@json`, `@case`, `@flatten` keys, `@liquid`).
    var produced = 0

    init(caches: MappingCaches, limits: LanguageLimits) {
        self.caches = caches
        self.limits = limits
        self.kit = limits.mappingKit
    }

    /// Counts a string a directive made against the value and production limits.
    mutating func charge(_ name: String, _ text: String) throws(MappingError) {
        try self.charge(name, bytes: text.utf8.count)
    }

    mutating func charge(_ name: String, bytes: Int) throws(MappingError) {
        guard bytes <= self.kit.maxValueBytes else {
            throw .runtime("\(name) made a value of \(bytes) bytes; the limit is \(self.kit.maxValueBytes)")
        }
        self.produced += bytes
        guard self.produced <= self.kit.maxProducedBytes else {
            throw .runtime("the mapping made more than \(self.kit.maxProducedBytes) bytes of text for this event")
        }
    }

    static func isDirective(_ value: MappingValue) -> Bool {
        guard case .object(let object) = value else { return false }
        let keys = object.keys
        return keys.contains { $0.hasPrefix("@") } && keys.allSatisfy { $0.hasPrefix("@") || $0 == "_metadata" }
    }

    mutating func resolve(_ mapping: MappingValue, _ payload: MappingValue) throws(MappingError) -> MappingValue {
        self.steps += 1
        guard self.steps <= self.kit.maxSteps else {
            throw .runtime("mapping exceeded \(self.kit.maxSteps) resolution steps")
        }
        switch mapping {
        case .array(let elements):
            var resolved: [MappingValue] = []
            resolved.reserveCapacity(elements.count)
            for element in elements { resolved.append(try self.resolve(element, payload)) }
            return .array(resolved)
        case .object(let object):
            if Self.isDirective(mapping) {
                let name = object.keys.first { $0.hasPrefix("@") }!  // isDirective found one.
                return try self.run(name, object[name], payload)
            }
            var resolved = MappingObject()
            for (key, value) in object.entries { resolved[key] = try self.resolve(value, payload) }
            return .object(resolved)
        default:
            return mapping
        }
    }

    private mutating func resolveString(
        _ name: String, _ value: MappingValue, _ payload: MappingValue
    ) throws(MappingError) -> String {
        let resolved = try self.resolve(value, payload)
        guard case .string(let text) = resolved else {
            throw .runtime("\(name): expected string, got \(resolved.typeName)")
        }
        return text
    }

    /// `path.replace('$.', '')`: the first occurrence anywhere, not only at the start.
    static func removeFirstDollarDot(_ path: String) -> String {
        guard path.utf8.contains(UInt8(ascii: "$")) else { return path }
        let scalars = Array(path.unicodeScalars)
        guard scalars.count >= 2,
            let index = (0..<(scalars.count - 1)).first(where: { scalars[$0] == "$" && scalars[$0 + 1] == "." })
        else { return path }
        return String(String.UnicodeScalarView(scalars[..<index] + scalars[(index + 2)...]))
    }

    private mutating func run(
        _ name: String, _ options: MappingValue, _ payload: MappingValue
    ) throws(MappingError) -> MappingValue {
        switch name {
        case "@path":
            let path = try self.resolveString(name, options, payload)
            if let keys = self.caches.paths[path] { return keys.map { PathLookup.walk(payload, $0) } ?? payload }
            return PathLookup.mappingGet(payload, Self.removeFirstDollarDot(path))
        case "@template":
            let template = try self.resolveString(name, options, payload)
            let rendered: String
            if let pieces = self.caches.templates[template] {
                rendered = MappingCaches.render(pieces, payload)
            } else {
                rendered = Placeholders.render(template, payload)
            }
            try self.charge(name, rendered)
            return .string(rendered)
        case "@literal":
            return try self.resolve(options, payload)
        case "@if": return try self.runIf(options, payload)
        case "@case": return try self.runCase(options, payload)
        case "@replace": return try self.runReplace(options, payload)
        case "@arrayPath": return try self.runArrayPath(options, payload)
        case "@json": return try self.runJSON(options, payload)
        case "@flatten": return try self.runFlatten(options, payload)
        case "@merge": return try self.runMerge(options, payload)
        case "@transform":
            guard case .object = options else {
                throw .runtime("@transform requires an object with an \"apply\" key and a \"mapping\" key")
            }
            guard options["mapping"].isTruthy else { throw .runtime("@transform requires a \"mapping\" key") }
            guard options["apply"].isTruthy else { throw .runtime("@transform requires a \"apply\" key") }
            guard case .object = options["apply"] else {
                throw .runtime("@transform \"apply\" key should be an object")
            }
            let applied = try CompiledMapping(options["apply"], limits: self.limits).apply(to: payload)
            return try self.resolve(options["mapping"], applied)
        case "@excludeWhenNull":
            return Self.excludeNulls(try self.resolve(options, payload))
        case "@liquid":
            guard case .string(let template) = options else { throw .runtime("liquid template value must be a string") }
            let rendered = try self.caches.liquid.render(template, payload)
            try self.charge(name, rendered)
            return .string(rendered)
        default:
            throw .runtime("\(name) is not a valid directive, got undefined")
        }
    }

    private mutating func runIf(_ options: MappingValue, _ payload: MappingValue) throws(MappingError) -> MappingValue {
        guard case .object = options else { throw .runtime("@if requires an object with an \"exists\" key") }
        let exists = options["exists"]
        let blank = options["blank"]
        let condition: Bool
        if !exists.isTruthy && !blank.isTruthy {
            throw .runtime("@if requires an \"exists\" key or a \"blank\" key")
        } else if exists != .undefined {
            condition = !(try self.resolve(exists, payload)).isNullish
        } else {
            let value = try self.resolve(blank, payload)
            condition = !value.isNullish && value.looselyDiffersFromEmptyString
        }
        if condition && options["then"] != .undefined { return try self.resolve(options["then"], payload) }
        if !condition && options["else"].isTruthy { return try self.resolve(options["else"], payload) }
        return .undefined
    }

    private mutating func runCase(_ options: MappingValue, _ payload: MappingValue) throws(MappingError) -> MappingValue
    {
        guard case .object = options else { throw .runtime("@case requires an object with a \"operator\" key") }
        guard options["operator"].isTruthy else { throw .runtime("@case requires a \"operator\" key") }
        guard options["value"].isTruthy else { return .undefined }
        let value = try self.resolve(options["value"], payload)
        guard case .string(let text) = value else { return value }
        let changed: String
        switch options["operator"] {
        case .string("lower"): changed = text.lowercased()
        case .string("upper"): changed = text.uppercased()
        default: throw .runtime("operator key should have a value of \"lower\" or \"upper\"")
        }
        try self.charge("@case", changed)
        return .string(changed)
    }

    private mutating func runReplace(
        _ options: MappingValue, _ payload: MappingValue
    ) throws(MappingError) -> MappingValue {
        guard case .object = options else { throw .runtime("@replace requires an object with a \"pattern\" key") }
        guard options["pattern"].isTruthy else { throw .runtime("@replace requires a \"pattern\" key") }
        let replacement = options["replacement"].isNullish ? MappingValue.string("") : options["replacement"]
        let pattern2 = options["pattern2"]
        let replacement2 =
            pattern2.isTruthy && options["replacement2"].isNullish ? MappingValue.string("") : options["replacement2"]
        let ignorecase = options["ignorecase"].isNullish ? MappingValue.bool(false) : options["ignorecase"]
        let global = options["global"].isNullish ? MappingValue.bool(true) : options["global"]
        guard options["value"].isTruthy else { return .undefined }
        var value = try self.resolve(options["value"], payload)
        switch value {
        case .bool, .number: value = .string(value.jsString)
        default: break
        }
        guard case .string(let text) = value, case .string(let patternText) = options["pattern"],
            case .string(let replacementText) = replacement, case .bool(let caseless) = ignorecase,
            case .bool(let isGlobal) = global
        else { return .string("") }
        var result = try Self.replace(
            text, patternText, replacementText, global: isGlobal, ignoreCase: caseless,
            maxValueBytes: self.kit.maxValueBytes
        )
        try self.charge("@replace", result)
        if case .string(let second) = pattern2, !second.isEmpty, case .string(let secondReplacement) = replacement2 {
            result = try Self.replace(
                result, second, secondReplacement, global: isGlobal, ignoreCase: caseless,
                maxValueBytes: self.kit.maxValueBytes
            )
            try self.charge("@replace", result)
        }
        return .string(result)
    }

    /// A literal (never regular-expression) replace with JavaScript's `$` rules in the replacement.
    static func replace(
        _ text: String, _ pattern: String, _ replacement: String, global: Bool, ignoreCase: Bool, maxValueBytes: Int
    ) throws(MappingError) -> String {
        guard pattern.utf16.count <= MappingValidator.maxPatternLength else {
            throw .runtime("@replace requires a \"pattern\" less than \(MappingValidator.maxPatternLength) characters")
        }
        guard replacement.utf16.count <= MappingValidator.maxReplacementLength else {
            throw .runtime(
                "@replace requires a \"replacement\" less than \(MappingValidator.maxReplacementLength) characters")
        }
        let haystack = Array(text.utf16)
        let needle = Array(pattern.utf16)
        func fold(_ unit: UTF16.CodeUnit) -> UTF16.CodeUnit {
            ignoreCase && unit >= 0x41 && unit <= 0x5A ? unit + 0x20 : unit
        }
        // `$\``` and `$'` copy the text around each match; only a replacement that uses them pays for that.
        let units = Array(replacement.utf16)
        let usesContext = zip(units, units.dropFirst()).contains { $0 == 0x24 && ($1 == 0x60 || $1 == 0x27) }
        var output: [UTF16.CodeUnit] = []
        var index = 0
        var replaced = false
        while index < haystack.count {
            let fits = !needle.isEmpty && index + needle.count <= haystack.count && (!replaced || global)
            if fits && (0..<needle.count).allSatisfy({ fold(haystack[index + $0]) == fold(needle[$0]) }) {
                let match = Array(haystack[index..<(index + needle.count)])
                output += Self.expand(
                    units, match: match, before: usesContext ? haystack[..<index] : [],
                    after: usesContext ? haystack[(index + needle.count)...] : []
                )
                index += needle.count
                replaced = true
            } else {
                output.append(haystack[index])
                index += 1
            }
            // Stopped as soon as it is too large, so a replacement that copies the context cannot run away.
            guard output.count <= maxValueBytes else {
                throw .runtime(
                    "@replace made a value of more than \(maxValueBytes) characters; the limit is \(maxValueBytes)")
            }
        }
        return String(decoding: output, as: UTF16.self)
    }

    /// `$$`, `$&`, `` $` `` and `$'` as String.prototype.replace reads them; `$1` stays literal (no groups).
    static func expand(
        _ units: [UTF16.CodeUnit], match: [UTF16.CodeUnit], before: ArraySlice<UTF16.CodeUnit>,
        after: ArraySlice<UTF16.CodeUnit>
    ) -> [UTF16.CodeUnit] {
        var output: [UTF16.CodeUnit] = []
        var index = 0
        while index < units.count {
            if units[index] == 0x24, index + 1 < units.count {  // "$"
                switch units[index + 1] {
                case 0x24:
                    output.append(0x24)
                    index += 2
                    continue
                case 0x26:
                    output += match
                    index += 2
                    continue
                case 0x60:
                    output += before
                    index += 2
                    continue
                case 0x27:
                    output += after
                    index += 2
                    continue
                default: break
                }
            }
            output.append(units[index])
            index += 1
        }
        return output
    }

    private mutating func runArrayPath(
        _ options: MappingValue, _ payload: MappingValue
    ) throws(MappingError) -> MappingValue {
        guard case .array(let elements) = options else {
            throw .runtime("@arrayPath expected array, got \(options.typeName)")
        }
        let path = elements.first ?? .undefined
        let shape = elements.count > 1 ? elements[1] : .undefined
        let root: MappingValue
        if case .string(let text) = path {
            if let keys = self.caches.paths[text] {
                root = keys.map { PathLookup.walk(payload, $0) } ?? payload
            } else {
                root = PathLookup.mappingGet(payload, Self.removeFirstDollarDot(text))
            }
        } else {
            root = try self.resolve(path, payload)
        }
        guard case .object(let shapeObject) = shape, !shapeObject.isEmpty else { return root }
        let items: [MappingValue]
        switch root {
        case .array(let array): items = array
        case .object: items = [root]
        default: return root
        }
        var result: [MappingValue] = []
        for item in items { result.append(try self.resolve(shape, item)) }
        return .array(result)
    }

    private mutating func runJSON(_ options: MappingValue, _ payload: MappingValue) throws(MappingError) -> MappingValue
    {
        guard case .object = options else { throw .runtime("@json requires an object with a \"value\" key") }
        guard options["mode"].isTruthy else { throw .runtime("@json requires a \"mode\" key") }
        guard options["value"].isTruthy else { throw .runtime("@json requires a \"value\" key") }
        let value = try self.resolve(options["value"], payload)
        switch options["mode"] {
        case .string("encode"):
            guard let text = JSText.stringify(value) else { return .undefined }
            try self.charge("@json", text)
            return .string(text)
        case .string("decode"):
            guard case .string(let text) = value else { return value }
            return JSText.parse(text) ?? value
        default:
            return .undefined
        }
    }

    private mutating func runFlatten(
        _ options: MappingValue, _ payload: MappingValue
    ) throws(MappingError) -> MappingValue {
        guard case .object = options else { throw .runtime("@flatten requires an object with a \"separator\" key") }
        guard options["separator"].isTruthy else { throw .runtime("@flatten requires a \"separator\" key") }
        guard case .string(let separator) = try self.resolve(options["separator"], payload) else {
            throw .runtime("@flatten requires a string separator")
        }
        let value = try self.resolve(options["value"], payload)
        var output = MappingObject()
        let omitArrays = options["omitArrays"].isTruthy
        // The keys are new text: a deep value with a long separator repeats its prefixes in every key, so they
        // are counted as they are made.
        var keyBytes = 0
        if Self.isExpandable(value, omitArrays: omitArrays) {
            try Self.flatten(
                value, prefix: "", separator: separator, omitArrays: omitArrays, into: &output, keyBytes: &keyBytes,
                maxKeyBytes: self.kit.maxValueBytes
            )
        } else {
            output[""] = value
        }
        try self.charge("@flatten", bytes: keyBytes)
        return .object(output)
    }

    static func isExpandable(_ value: MappingValue, omitArrays: Bool) -> Bool {
        switch value {
        case .object: true
        case .array: !omitArrays
        default: false
        }
    }

    static func flatten(
        _ value: MappingValue, prefix: String, separator: String, omitArrays: Bool, into output: inout MappingObject,
        keyBytes: inout Int, maxKeyBytes: Int
    ) throws(MappingError) {
        let entries: [(String, MappingValue)]
        switch value {
        case .object(let object): entries = object.entries.map { ($0.key, $0.value) }
        case .array(let elements): entries = elements.enumerated().map { (String($0.offset), $0.element) }
        default: return
        }
        for (key, member) in entries {
            keyBytes += prefix.utf8.count + key.utf8.count + separator.utf8.count
            guard keyBytes <= maxKeyBytes else {
                throw .runtime("@flatten made more than \(maxKeyBytes) bytes of keys; the limit is \(maxKeyBytes)")
            }
            if Self.isExpandable(member, omitArrays: omitArrays) {
                try Self.flatten(
                    member, prefix: prefix + key + separator, separator: separator, omitArrays: omitArrays,
                    into: &output,
                    keyBytes: &keyBytes, maxKeyBytes: maxKeyBytes
                )
            } else {
                output[prefix + key] = member
            }
        }
    }

    private mutating func runMerge(
        _ options: MappingValue, _ payload: MappingValue
    ) throws(MappingError) -> MappingValue {
        guard case .object = options else {
            throw .runtime("@merge requires an object with an \"objects\" key and a \"direction\" key")
        }
        guard options["direction"].isTruthy else { throw .runtime("@merge requires a \"direction\" key") }
        let direction = try self.resolve(options["direction"], payload)
        guard options["objects"].isTruthy else { throw .runtime("@merge requires a \"objects\" key") }
        guard case .array(let sources) = options["objects"] else {
            throw .runtime("@merge: expected opts.array, got object")
        }
        var objects: [MappingValue] = []
        for source in sources { objects.append(try self.resolve(source, payload)) }
        if direction == .string("left") { objects.reverse() }
        var merged = MappingObject()
        for object in objects {
            switch object {
            case .object(let members): for (key, value) in members.entries { merged[key] = value }
            case .array(let elements): for (index, value) in elements.enumerated() { merged[String(index)] = value }
            case .string(let text):
                for (index, unit) in text.utf16.enumerated() {
                    merged[String(index)] = .string(String(decoding: [unit], as: UTF16.self))
                }
            default: break  // Numbers, booleans, null and undefined add nothing, as with Object.assign.
            }
        }
        return .object(merged)
    }

    /// @excludeWhenNull: null becomes undefined; objects lose their null members, recursively (not in arrays).
    static func excludeNulls(_ value: MappingValue) -> MappingValue {
        switch value {
        case .null: return .undefined
        case .object(let object): return .object(Self.stripNullMembers(object))
        default: return value
        }
    }

    static func stripNullMembers(_ object: MappingObject) -> MappingObject {
        var result = MappingObject()
        for (key, value) in object.entries {
            switch value {
            case .null: continue
            case .object(let nested): result[key] = .object(Self.stripNullMembers(nested))
            default: result[key] = value
            }
        }
        return result
    }

    /// Drops undefined members from objects, recursively; arrays keep their length.
    static func removeUndefined(_ value: MappingValue) -> MappingValue {
        switch value {
        case .object(let object):
            var result = MappingObject()
            for (key, member) in object.entries where member != .undefined {
                result[key] = Self.removeUndefined(member)
            }
            return .object(result)
        case .array(let elements):
            return .array(elements.map { $0 == .undefined ? .undefined : Self.removeUndefined($0) })
        default:
            return value
        }
    }
}

/// `{{path}}` and `{{{path}}}` placeholders of `@template` (spec B.3).
enum Placeholders {
    static func render(_ template: String, _ payload: MappingValue) -> String {
        let triple = Self.replace(Array(template.unicodeScalars), braces: 3, payload)
        return String(String.UnicodeScalarView(Self.replace(triple, braces: 2, payload)))
    }

    /// One `.replace(/\{{n}([^}]+)\}{n}/g, ...)` pass.
    private static func replace(_ text: [Unicode.Scalar], braces: Int, _ payload: MappingValue) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        var index = 0
        func run(_ scalar: Unicode.Scalar, at position: Int) -> Bool {
            position + braces <= text.count && (0..<braces).allSatisfy { text[position + $0] == scalar }
        }
        while index < text.count {
            if run("{", at: index) {
                var end = index + braces
                while end < text.count && text[end] != "}" { end += 1 }
                if end > index + braces, run("}", at: end) {
                    let path = String(String.UnicodeScalarView(text[(index + braces)..<end])).trimmingJSWhitespace()
                    let value = PathLookup.mappingGet(payload, path)
                    output += Array((value.isNullish ? "" : value.jsString).unicodeScalars)
                    index = end + braces
                    continue
                }
            }
            output.append(text[index])
            index += 1
        }
        return output
    }
}
