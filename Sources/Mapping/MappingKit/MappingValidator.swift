import EnrichPolicy

/// mapping-kit's `validate`: checks a whole mapping before anything runs (spec B.2). Errors carry the path of
/// object keys and directive names, "/<path> <message>.", and sibling keys' errors are all reported.
enum MappingValidator {
    struct Failure: Error {
        var messages: [String]
    }

    static let directiveNames: Set<String> = [
        "@if", "@case", "@replace", "@arrayPath", "@path", "@template", "@literal", "@json", "@flatten", "@merge",
        "@transform", "@excludeWhenNull", "@liquid",
    ]

    static let maxPatternLength = MappingKitLimits.maxReplacePatternCharacters
    static let maxReplacementLength = MappingKitLimits.maxReplacementCharacters

    static func validate(_ mapping: MappingValue) throws {
        try Self.validate(mapping, [])
    }

    private static func fail(_ message: String, _ stack: [String]) -> Failure {
        Failure(messages: ["/\(stack.joined(separator: "/")) \(message)."])
    }

    static func article(_ type: String) -> String {
        ["a", "e", "i", "o", "u"].contains(type.prefix(1)) ? "an" : "a"
    }

    /// realTypeOf, with objects that have an @-key called "directive".
    static func typeOrDirective(_ value: MappingValue) -> String {
        if case .object(let object) = value, object.keys.contains(where: { $0.hasPrefix("@") }) { return "directive" }
        return value.typeName
    }

    static func validate(_ value: MappingValue, _ stack: [String]) throws {
        switch Self.typeOrDirective(value) {
        case "directive": try Self.validateDirective(value, stack)
        case "object": try Self.validateObject(value, stack)
        default: return  // Arrays and scalars are valid raw mappings; array elements are not checked.
        }
    }

    /// Runs each check and throws every failure together.
    private static func collect(_ checks: [() throws -> Void]) throws {
        var messages: [String] = []
        for check in checks {
            do { try check() } catch let error as Failure { messages += error.messages } catch {
                preconditionFailure("validators throw only Failure, got \(error)")
            }
        }
        if !messages.isEmpty { throw Failure(messages: messages) }
    }

    private static func validateDirective(_ value: MappingValue, _ stack: [String]) throws {
        guard case .object(let object) = value else {
            let type = value.typeName
            throw Self.fail("should be a directive object but it is \(Self.article(type)) \(type)", stack)
        }
        let keys = object.keys
        let directiveKeys = keys.filter { $0.hasPrefix("@") }
        let otherKeys = keys.filter { !$0.hasPrefix("@") && $0 != "_metadata" }
        if directiveKeys.count > 1 || !otherKeys.isEmpty {
            throw Self.fail("should only have one @-prefixed key but it has \(keys.count) keys", stack)
        }
        let name = directiveKeys[0]
        guard Self.directiveNames.contains(name) else { throw Self.fail("has an invalid directive: \(name)", stack) }
        try Self.validateOptions(name, object[name], stack + [name])
    }

    private static func validateObject(_ value: MappingValue, _ stack: [String]) throws {
        let type = Self.typeOrDirective(value)
        guard case .object(let object) = value, type == "object" else {
            throw Self.fail("should be an object but it is \(Self.article(type)) \(type)", stack)
        }
        try Self.collect(
            object.entries.map { entry in { () throws in try Self.validate(entry.value, stack + [entry.key]) } })
    }

    private static func validateDirectiveOrRaw(_ value: MappingValue, _ stack: [String]) throws {
        switch Self.typeOrDirective(value) {
        case "directive": try Self.validateDirective(value, stack)
        case "undefined":
            throw Self.fail("should be a mapping directive or a JSON value but it is an undefined", stack)
        default: return
        }
    }

    private static func validateDirectiveOrString(_ value: MappingValue, _ stack: [String]) throws {
        let type = Self.typeOrDirective(value)
        switch type {
        case "directive": try Self.validateDirective(value, stack)
        case "string": return
        default:
            throw Self.fail("should be a string or a mapping directive but it is \(Self.article(type)) \(type)", stack)
        }
    }

    private static func validateType(_ value: MappingValue, _ expected: String, _ stack: [String]) throws {
        let type = Self.typeOrDirective(value)
        guard type == expected else {
            throw Self.fail(
                "should be \(Self.article(expected)) \(expected) but it is \(Self.article(type)) \(type)", stack)
        }
    }

    private static func validateLength(_ value: MappingValue, min: Int, max: Int, _ stack: [String]) throws {
        guard case .string(let text) = value else { return }
        let length = text.utf16.count
        if length < min { throw Self.fail("should be a string of length \(min) or greater", stack) }
        if length > max { throw Self.fail("should be a string of length \(max) or less", stack) }
    }

    private static func validateOneOf(_ value: MappingValue, _ allowed: [String], _ stack: [String]) throws {
        try Self.validateType(value, "string", stack)
        guard case .string(let text) = value, allowed.contains(text.lowercased()) else {
            throw Self.fail(
                "should be one of \(allowed.joined(separator: ", ")) but it is \(value.jsonText ?? "undefined")", stack)
        }
    }

    private static func validateObjectOrDirective(_ value: MappingValue, _ stack: [String]) throws {
        let type = Self.typeOrDirective(value)
        guard type == "object" || type == "directive" else {
            throw Self.fail("should be a object or a mapping directive but it is \(Self.article(type)) \(type)", stack)
        }
        try Self.validate(value, stack)
    }

    typealias FieldCheck = (MappingValue, [String]) throws -> Void

    /// validateObjectWithFields: the options object is first validated as a mapping, then each field.
    private static func validateFields(
        _ value: MappingValue, _ stack: [String], required: [(String, FieldCheck)], optional: [(String, FieldCheck)]
    ) throws {
        try Self.validateObject(value, stack)
        var checks: [() throws -> Void] = []
        for (field, check) in required {
            checks.append { () throws in
                let fieldValue = value[field]
                guard fieldValue != .undefined else {
                    throw Self.fail("should have field \"\(field)\" but it doesn't", stack)
                }
                try check(fieldValue, stack + [field])
            }
        }
        for (field, check) in optional {
            checks.append { () throws in
                let fieldValue = value[field]
                if fieldValue != .undefined { try check(fieldValue, stack + [field]) }
            }
        }
        try Self.collect(checks)
    }

    private static func validateOptions(_ name: String, _ value: MappingValue, _ stack: [String]) throws {
        switch name {
        case "@path", "@template":
            try Self.validateDirectiveOrString(value, stack)
        case "@literal", "@excludeWhenNull":
            try Self.validateDirectiveOrRaw(value, stack)
        case "@liquid":
            try Self.validateType(value, "string", stack)
        case "@if":
            try Self.validateFields(
                value, stack, required: [],
                optional: [
                    ("exists", Self.validateDirectiveOrRaw), ("then", Self.validateDirectiveOrRaw),
                    ("else", Self.validateDirectiveOrRaw),
                ])
        case "@case":
            try Self.validateFields(
                value, stack, required: [],
                optional: [
                    ("operator", { (v, s) throws in try Self.validateType(v, "string", s) }),
                    ("value", Self.validateDirectiveOrString),
                ])
        case "@replace":
            try Self.validateFields(
                value, stack,
                required: [
                    (
                        "pattern",
                        { (v, s) throws in
                            try Self.validateType(v, "string", s)
                            try Self.validateLength(v, min: 1, max: Self.maxPatternLength, s)
                        }
                    ),
                    ("value", Self.validateDirectiveOrString),
                ],
                optional: [
                    (
                        "replacement",
                        { (v, s) throws in
                            try Self.validateType(v, "string", s)
                            try Self.validateLength(v, min: 0, max: Self.maxReplacementLength, s)
                        }
                    ),
                    ("ignorecase", { (v, s) throws in try Self.validateType(v, "boolean", s) }),
                    ("global", { (v, s) throws in try Self.validateType(v, "boolean", s) }),
                ]
            )
        case "@arrayPath":
            try Self.validateType(value, "array", stack)
            guard case .array(let elements) = value else { return }
            try Self.validateDirectiveOrString(elements.first ?? .undefined, stack)
            try Self.validate(elements.count > 1 ? elements[1] : .undefined, stack)
        case "@json":
            try Self.validateFields(
                value, stack,
                required: [
                    ("value", Self.validateDirectiveOrRaw),
                    ("mode", { (v, s) throws in try Self.validateOneOf(v, ["encode", "decode"], s) }),
                ], optional: [])
        case "@flatten":
            try Self.validateFields(
                value, stack, required: [("value", Self.validateDirectiveOrRaw)],
                optional: [
                    ("separator", { (v, s) throws in try Self.validateType(v, "string", s) })
                ])
        case "@merge":
            try Self.validateFields(
                value, stack,
                required: [
                    (
                        "objects",
                        { (v, s) throws in
                            try Self.validateType(v, "array", s)
                            guard case .array(let objects) = v else { return }
                            // Upstream reports these from the root, without the directive's path.
                            try Self.collect(
                                objects.map { object in { () throws in try Self.validateObjectOrDirective(object, []) }
                                })
                        }
                    )
                ],
                optional: [("direction", { (v, s) throws in try Self.validateOneOf(v, ["left", "right"], s) })]
            )
        case "@transform":
            try Self.validateFields(
                value, stack,
                required: [
                    ("apply", Self.validateObjectOrDirective), ("mapping", Self.validateObjectOrDirective),
                ], optional: [])
        default:
            throw Self.fail("has an invalid directive: \(name)", stack)
        }
    }
}
