import EventJSON

/// JavaScript's JSON.stringify and JSON.parse over `MappingValue`.
enum JSText {
    /// JSON.stringify: undefined (and functions) vanish from objects and become null in arrays; a top-level
    /// undefined gives nil. Numbers use JavaScript's formatting; NaN and infinities become null.
    static func stringify(_ value: MappingValue) -> String? {
        guard value != .undefined else { return nil }
        var output = ""
        Self.write(value, into: &output)
        return output
    }

    private static func write(_ value: MappingValue, into output: inout String) {
        switch value {
        case .undefined, .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .number(let number): output += number.isFinite ? JSNumber.format(number) : "null"
        case .string(let text): Self.quote(text, into: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                Self.write(element, into: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            var first = true
            for (key, member) in object.entries where member != .undefined {
                if !first { output += "," }
                first = false
                Self.quote(key, into: &output)
                output += ":"
                Self.write(member, into: &output)
            }
            output += "}"
        }
    }

    static func quote(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    /// JSON.parse; nil when the text is not JSON.
    static func parse(_ text: String) -> MappingValue? {
        guard let json = try? JSONParser.parse(text) else { return nil }
        return MappingValue(json)
    }
}
