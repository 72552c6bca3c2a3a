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
        return Self.walk(root, Self.conditionKeys(path))
    }

    /// The keys of a destination-subscriptions path: split on '.', '[' and ']', empty pieces dropped.
    static func conditionKeys(_ path: String) -> [String] {
        path.split(whereSeparator: { $0 == "." || $0 == "[" || $0 == "]" }).map(String.init)
    }

    /// Splits a mapping-kit path: on '.', on '[' before a quote or digit, on ']' after a quote or digit;
    /// empty pieces dropped and every quote removed. Works on UTF-8 bytes: every delimiter is ASCII.
    static func mappingKeys(_ path: String) -> [String] {
        var path = path
        return path.withUTF8 { bytes -> [String] in
            var keys: [String] = []
            var current: [UInt8] = []
            var pieceHasBytes = false  // A piece of only quotes is kept (as ""), as upstream drops empties first.
            func isQuoteOrDigit(_ index: Int) -> Bool {
                guard index >= 0 && index < bytes.count else { return false }
                let byte = bytes[index]
                return byte == 0x27 || byte == 0x22 || (byte >= 0x30 && byte <= 0x39)
            }
            for index in 0..<bytes.count {
                let byte = bytes[index]
                if byte == 0x2E || (byte == 0x5B && isQuoteOrDigit(index + 1))
                    || (byte == 0x5D && isQuoteOrDigit(index - 1))
                {
                    if pieceHasBytes { keys.append(String(decoding: current, as: UTF8.self)) }
                    current.removeAll(keepingCapacity: true)
                    pieceHasBytes = false
                } else {
                    pieceHasBytes = true
                    if byte != 0x27 && byte != 0x22 { current.append(byte) }
                }
            }
            if pieceHasBytes { keys.append(String(decoding: current, as: UTF8.self)) }
            return keys
        }
    }

    /// mapping-kit's `get`: "" and "." are the whole payload.
    static func mappingGet(_ root: MappingValue, _ path: String) -> MappingValue {
        if path.isEmpty || path == "." { return root }
        return Self.walk(root, Self.mappingKeys(path))
    }
}
