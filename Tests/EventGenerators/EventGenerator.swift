// Random events for differential tests (MappingTests, EnrichmentTests): seeded, so a failure names an event
// that can be made again.

/// A seeded generator, so a failure names an event that can be made again.
package struct SplitMix: RandomNumberGenerator {
    package var state: UInt64
    package init(state: UInt64) { self.state = state }
    package mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random JSON texts over a small vocabulary of the keys conditions and mappings read, written with the
/// spellings a tree would normalise away: spacing, escapes, raw Unicode, repeated keys, big integers.
package struct EventGenerator {
    package var random: SplitMix
    package init(random: SplitMix) { self.random = random }
    package static let keys = [
        "type", "event", "name", "userId", "properties", "traits", "context", "sku", "plan", "value", "a", "b", "0",
        "1", "length", "K", "\u{212A}", "caf\u{E9}", "cafe\u{301}",
    ]
    package static let strings = [
        "track", "Product Viewed", "", "SKU-1", "SKU-2", "x", "xabc", "pro", "7", "\u{1F600}", "caf\u{E9}",
    ]

    package mutating func pick<T>(_ options: [T]) -> T { options[Int(self.random.next() % UInt64(options.count))] }
    package mutating func chance(_ percent: UInt64) -> Bool { self.random.next() % 100 < percent }

    package mutating func space() -> String { self.chance(20) ? self.pick([" ", "\n", "\t ", "\r\n  "]) : "" }

    package mutating func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value > 0x7F && self.chance(30) {
                    for unit in String(scalar).utf16 {
                        out += "\\u" + String(unit, radix: 16, uppercase: self.chance(50)).leftPadded(4)
                    }
                } else if scalar.isASCII && self.chance(3) {
                    out += "\\u00" + String(scalar.value, radix: 16).leftPadded(2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    package mutating func value(depth: Int) -> String {
        switch self.random.next() % (depth > 3 ? 6 : 9) {
        case 0: return self.pick(["0", "1", "-3", "2.50", "1e2", "9007199254740993", "12345678901234567890", "0.1"])
        case 1: return self.pick(["true", "false", "null"])
        case 2, 3, 4, 5: return self.string(self.pick(Self.strings))
        case 6, 7: return self.object(depth: depth + 1)
        default:
            let count = Int(self.random.next() % 4)
            return "["
                + (0..<count).map { _ in self.space() + self.value(depth: depth + 1) + self.space() }.joined(
                    separator: ",") + "]"
        }
    }

    package mutating func object(depth: Int) -> String {
        let count = Int(self.random.next() % 5)
        var members: [String] = []
        for _ in 0..<count {
            members.append(
                self.space() + self.string(self.pick(Self.keys)) + self.space() + ":" + self.space()
                    + self.value(depth: depth) + self.space())
        }
        return "{" + members.joined(separator: ",") + self.space() + "}"
    }

    /// An event: usually with type, event and properties, sometimes with them of the wrong kind.
    package mutating func event() -> String {
        var members: [String] = []
        for key in ["type", "event", "userId", "properties", "traits", "context"] where self.chance(70) {
            var value =
                key == "properties" || key == "traits"
                ? (self.chance(85) ? self.object(depth: 1) : self.value(depth: 1)) : self.value(depth: 1)
            if key == "properties" && value.hasPrefix("{") && self.chance(70) {  // usually a key to match on
                let sku = self.space() + "\"sku\":" + self.string(self.pick(["SKU-1", "SKU-2", "SKU-3", "SKU-11"]))
                value =
                    "{" + sku
                    + (value == "{}" || value.dropFirst().allSatisfy({ $0.isWhitespace || $0 == "}" }) ? "" : ",")
                    + value.dropFirst()
            }
            members.append(self.space() + self.string(key) + ":" + self.space() + value)
        }
        if self.chance(10) { members.append("\"properties\":" + self.object(depth: 1)) }  // a repeated key
        members.shuffle(using: &self.random)
        return self.space() + "{" + members.joined(separator: ",") + "}" + self.space()
    }
}

extension String {
    package func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - self.count)) + self }
}
