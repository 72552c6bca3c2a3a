/// Serialises a `JSONValue` to compact UTF-8, in the object's key order.
package enum JSONWriter {
    package static func bytes(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        Self.write(value, into: &output)
        return output
    }

    package static func string(_ value: JSONValue) -> String { String(decoding: Self.bytes(value), as: UTF8.self) }

    package static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number): output.append(contentsOf: Self.format(number).utf8)
        case .string(let text): Self.writeString(text, into: &output)
        case .array(let array):
            output.append(UInt8(ascii: "["))
            for (position, element) in array.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                Self.write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (position, entry) in object.entries.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(entry.key, into: &output)
                output.append(UInt8(ascii: ":"))
                Self.write(entry.value, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Formats a double the way JavaScript's JSON.stringify does for the common cases: integral values without
    /// ".0", and null for NaN and infinities (which JSON cannot carry).
    package static func format(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == number.rounded(), abs(number) < 1e21 {
            if abs(number) < 9.007_199_254_740_992e15 { return String(Int64(number)) }
        }
        return number.description  // what "\(number)" gives, without an interpolation buffer
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ text: String, into output: inout [UInt8]) {
        var text = text
        text.withUTF8 { Self.writeString(utf8: UnsafeRawBufferPointer($0), into: &output) }
    }

    /// Writes UTF-8 bytes as a JSON string, escaped as `write(.string(...))` escapes them. The caller has
    /// checked the bytes are valid UTF-8 (`UTF8Text.isValid`).
    package static func writeString(utf8 bytes: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var clean = 0  // bytes[clean..<index] need no escape and are copied in one go.
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[clean..<index]))
            clean = index + 1
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            default:
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                output.append(Self.hexDigits[Int(byte >> 4)])
                output.append(Self.hexDigits[Int(byte & 0xF)])
            }
        }
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[clean...]))
        output.append(UInt8(ascii: "\""))
    }
}
