package import EventJSON

/// A JavaScript value, as Segment's mapping-kit and conditions see one: JSON plus `undefined`, with every
/// number a double. Mapping and condition code runs on these so it can reproduce JavaScript's rules exactly
/// (missing keys, `String(x)`, loose equality with "", falsy intermediates).
package enum MappingValue: Sendable, Equatable {
    case undefined
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([MappingValue])
    case object(MappingObject)

    /// Converts parsed JSON; integers become doubles, as in JavaScript.
    package init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .number(Double(number))
        case .double(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .array(let elements): self = .array(elements.map(MappingValue.init))
        case .object(let object): self = .object(MappingObject(object.entries.map { ($0.key, MappingValue($0.value)) }))
        }
    }

    /// Back to JSON: undefined object members are dropped, undefined array elements become null (as
    /// JSON.stringify writes them), and integral doubles become integers. Nil for a top-level undefined.
    package var json: JSONValue? {
        switch self {
        case .undefined: return nil
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number(let number):
            if number == number.rounded(), abs(number) <= 9_007_199_254_740_992 { return .int(Int64(number)) }
            return number.isFinite ? .double(number) : .null
        case .string(let text): return .string(text)
        case .array(let elements): return .array(elements.map { $0.json ?? .null })
        case .object(let object):
            var result = JSONObject()
            for (key, value) in object.entries { if let json = value.json { result[key] = json } }
            return .object(result)
        }
    }

    /// `realTypeOf` in mapping-kit: "undefined", "null", "boolean", "number", "string", "array", "object".
    package var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// JavaScript truthiness.
    package var isTruthy: Bool {
        switch self {
        case .undefined, .null: false
        case .bool(let flag): flag
        case .number(let number): number != 0 && !number.isNaN
        case .string(let text): !text.isEmpty
        case .array, .object: true
        }
    }

    package var isNullish: Bool {
        switch self {
        case .undefined, .null: true
        default: false
        }
    }

    /// `String(value)` in JavaScript.
    package var jsString: String {
        switch self {
        case .undefined: "undefined"
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): JSNumber.format(number)
        case .string(let text): text
        case .array(let elements):
            elements.map { $0.isNullish ? "" : $0.jsString }.joined(separator: ",")
        case .object: "[object Object]"
        }
    }

    /// `Number(value)` in JavaScript.
    package var jsNumber: Double {
        switch self {
        case .undefined: .nan
        case .null: 0
        case .bool(let flag): flag ? 1 : 0
        case .number(let number): number
        case .string(let text): JSNumber.parse(text)
        case .array(let elements):
            elements.isEmpty ? 0 : (elements.count == 1 ? MappingValue.string(elements[0].jsString).jsNumber : .nan)
        case .object: .nan
        }
    }

    /// `value != ''` in JavaScript (loose inequality with the empty string).
    package var looselyDiffersFromEmptyString: Bool {
        switch self {
        case .undefined, .null: true
        case .bool(let flag): flag  // false == '' is true.
        case .number(let number): number != 0  // 0 == '' is true.
        case .string(let text): !text.isEmpty
        case .array(let elements): !MappingValue.string(MappingValue.array(elements).jsString).jsString.isEmpty
        case .object: true  // '[object Object]' != ''.
        }
    }

    /// JSON.stringify of the value; undefined for undefined.
    package var jsonText: String? {
        guard let json = self.json else { return nil }
        return JSONWriter.string(json)
    }

    package subscript(key: String) -> MappingValue {
        guard case .object(let object) = self else { return .undefined }
        return object[key]
    }
}

/// An object whose keys keep insertion order and whose values may be undefined until the final cleanup.
package struct MappingObject: Sendable, Equatable {
    package private(set) var entries: [(key: String, value: MappingValue)] = []

    package init() {}

    package init(_ entries: [(String, MappingValue)]) {
        for (key, value) in entries { self[key] = value }
    }

    package var keys: [String] { self.entries.map(\.key) }
    package var isEmpty: Bool { self.entries.isEmpty }
    package var count: Int { self.entries.count }

    /// The value under `key`; `.undefined` when absent.
    package subscript(key: String) -> MappingValue {
        get { self.entries.first { $0.key == key }?.value ?? .undefined }
        set {
            if let position = self.entries.firstIndex(where: { $0.key == key }) {
                self.entries[position].value = newValue
            } else {
                self.entries.append((key: key, value: newValue))
            }
        }
    }

    package func has(_ key: String) -> Bool { self.entries.contains { $0.key == key } }

    /// Sets a value at a path of keys, creating objects for missing steps and replacing non-object steps.
    mutating func set(_ value: MappingValue, at path: ArraySlice<String>) {
        guard let first = path.first else { return }
        guard path.count > 1 else {
            self[first] = value
            return
        }
        var child: MappingObject
        if case .object(let existing) = self[first] { child = existing } else { child = MappingObject() }
        self[first] = .undefined  // Keeps `child` uniquely referenced while it is changed.
        child.set(value, at: path.dropFirst())
        self[first] = .object(child)
    }

    package static func == (lhs: MappingObject, rhs: MappingObject) -> Bool {
        lhs.entries.count == rhs.entries.count && lhs.entries.allSatisfy { rhs.has($0.key) && rhs[$0.key] == $0.value }
    }
}

/// JavaScript's number ↔ string conversions.
package enum JSNumber {
    /// `Number.prototype.toString()`: shortest round-trip digits, laid out by ECMAScript's rules.
    package static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return "0" }
        let negative = value < 0
        // Swift's description gives the same shortest digits JavaScript uses; re-lay them out.
        let (digits, exponent) = Self.decompose(abs(value))
        let k = digits.count
        let n = exponent
        var text: String
        if k <= n && n <= 21 {
            text = digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            text = String(digits.prefix(n)) + "." + String(digits.dropFirst(n))
        } else if -6 < n && n <= 0 {
            text = "0." + String(repeating: "0", count: -n) + digits
        } else {
            let sign = n - 1 < 0 ? "-" : "+"
            let mantissa = k == 1 ? digits : String(digits.prefix(1)) + "." + String(digits.dropFirst())
            text = mantissa + "e" + sign + String(abs(n - 1))
        }
        return negative ? "-" + text : text
    }

    /// The shortest decimal digits of a positive double and n such that value = 0.digits × 10^n.
    static func decompose(_ value: Double) -> (String, Int) {
        let description = "\(value)"  // "123.45", "1.5e-07", "1e+21"
        var mantissa = Substring(description)
        var exponent = 0
        if let e = description.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = description[..<e]
            exponent = Int(description[description.index(after: e)...]) ?? 0
        }
        var integerPart = mantissa
        var fractionPart: Substring = ""
        if let dot = mantissa.firstIndex(of: ".") {
            integerPart = mantissa[..<dot]
            fractionPart = mantissa[mantissa.index(after: dot)...]
        }
        var digits = String(integerPart) + String(fractionPart)
        var pointPosition = integerPart.count + exponent
        // Strip leading zeros (moving the point) and trailing zeros.
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (digits, pointPosition)
    }

    /// `Number(text)`: trimmed decimal, hex (0x), or "Infinity"; "" is 0; anything else NaN.
    package static func parse(_ text: String) -> Double {
        let trimmed = text.trimmingJSWhitespace()
        if trimmed.isEmpty { return 0 }
        if trimmed == "Infinity" || trimmed == "+Infinity" { return .infinity }
        if trimmed == "-Infinity" { return -.infinity }
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") {
            return UInt64(trimmed.dropFirst(2), radix: 16).map(Double.init) ?? .nan
        }
        let allowed = trimmed.allSatisfy { $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }
        guard allowed, let value = Double(trimmed) else { return .nan }
        return value
    }
}

extension String {
    /// Trims the whitespace JavaScript's `trim` removes (ASCII space, tab, newlines, and Unicode spaces).
    func trimmingJSWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let start = self.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = self.lastIndex(where: { !isSpace($0) })!  // A non-space exists, found above.
        return String(self[start...end])
    }
}
