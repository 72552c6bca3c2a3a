/// JavaScript property access and the two path getters Segment uses: the conditions' `get` and
/// mapping-kit's `get`. Both walk with `current && current[key]`, so a falsy intermediate comes back as-is.
enum PathLookup {
    /// `value[key]` in JavaScript, for JSON-like values.
    static func property(_ value: MappingValue, _ key: String) -> MappingValue {
        switch value {
        case .object(let object):
            return object[key]
        case .array(let elements):
            if key == "length" { return .number(Double(elements.count)) }
            guard let index = Self.arrayIndex(key), index < elements.count else { return .undefined }
            return elements[index]
        case .string(let text):
            let units = Array(text.utf16)
            if key == "length" { return .number(Double(units.count)) }
            guard let index = Self.arrayIndex(key), index < units.count else { return .undefined }
            return .string(String(decoding: [units[index]], as: UTF16.self))
        default:
            return .undefined
        }
    }

    /// A canonical array index ("0", "12"; not "01" or "-1").
    static func arrayIndex(_ key: String) -> Int? {
        guard let index = Int(key), index >= 0, String(index) == key else { return nil }
        return index
    }

    static func walk(_ root: MappingValue, _ keys: [String]) -> MappingValue {
        var current = root
        for key in keys {
            guard current.isTruthy else { return current }
            current = Self.property(current, key)
        }
        return current
    }

    /// destination-subscriptions' `get`: the path split on '.', '[' and ']'; an empty path is undefined.
    static func conditionGet(_ root: MappingValue, _ path: String) -> MappingValue {
        guard !path.isEmpty else { return .undefined }
        let keys = path.split(whereSeparator: { $0 == "." || $0 == "[" || $0 == "]" }).map(String.init)
        return Self.walk(root, keys)
    }

    /// Splits a mapping-kit path: on '.', on '[' before a quote or digit, on ']' after a quote or digit;
    /// empty pieces dropped and every quote removed.
    static func mappingKeys(_ path: String) -> [String] {
        let characters = Array(path)
        var keys: [String] = []
        var current = ""
        for (index, character) in characters.enumerated() {
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            let previous = index > 0 ? characters[index - 1] : nil
            let isQuoteOrDigit: (Character?) -> Bool = { $0 == "'" || $0 == "\"" || ($0?.isASCII == true && $0?.isNumber == true) }
            if character == "." || (character == "[" && isQuoteOrDigit(next)) || (character == "]" && isQuoteOrDigit(previous)) {
                keys.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        keys.append(current)
        return keys.filter { !$0.isEmpty }.map { $0.filter { $0 != "'" && $0 != "\"" } }
    }

    /// mapping-kit's `get`: "" and "." are the whole payload.
    static func mappingGet(_ root: MappingValue, _ path: String) -> MappingValue {
        if path.isEmpty || path == "." { return root }
        return Self.walk(root, Self.mappingKeys(path))
    }
}
