#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A validated JSON text as a flat list of nodes pointing into its bytes: what the enrich hot path reads an
/// event through instead of building a tree.
///
/// `parse` accepts exactly the texts `JSONParser` accepts (same grammar, escapes, surrogate rule, UTF-8
/// check and nesting limit) without allocating per value: the node buffer is reused from event to event.
/// A node's value is decoded only when asked for, by running `JSONParser` over the node's own bytes, so
/// decoding rules live in one place.
///
/// Layout: a container's members follow it in document order; an object's are key, value, key, value…; each
/// node records `next`, the index just past its subtree, so siblings are one step apart.
package struct JSONTape: Sendable {
    package enum Kind: UInt8, Sendable {
        case object, array, string, number, `true`, `false`, null
    }

    package struct Node: Sendable {
        package var kind: Kind
        /// A string holding an escape or a non-ASCII byte: compare it decoded, not byte for byte.
        package var needsDecoding: Bool
        /// The value's bytes, quotes and brackets included.
        package var start: Int32
        package var end: Int32
        /// Index of the node after this one's subtree.
        package var next: Int32
        /// Members (objects: key-value pairs) or elements (arrays).
        package var count: Int32
    }

    package private(set) var nodes: [Node] = []

    package init() {}

    /// Largest text a tape indexes (offsets are Int32).
    package static let maxBytes = Int(Int32.max)

    /// Indexes `bytes`, replacing what the tape held; false when `JSONParser` would refuse the text.
    package mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        self.nodes.removeAll(keepingCapacity: true)
        guard bytes.count <= Self.maxBytes else { return false }
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.value(into: &self.nodes, depth: 0) else { return false }
        scanner.skipWhitespace()
        return scanner.position == bytes.count
    }

    /// Calls `body` with a view of this tape over `bytes`, the text it parsed.
    @inline(__always)
    package func withView<Result>(
        _ bytes: UnsafeBufferPointer<UInt8>, _ body: (View) throws -> Result
    ) rethrows -> Result {
        try self.nodes.withUnsafeBufferPointer { try body(View(nodes: $0, bytes: bytes)) }
    }

    /// A parsed tape and its text, read through pointers: no reference counting on the hot path.
    package struct View {
        package let nodes: UnsafeBufferPointer<Node>
        package let bytes: UnsafeBufferPointer<UInt8>

        /// The value of object node `index` under `key`: the last member with that key, as `JSONParser` keeps
        /// the last of repeated keys.
        @inline(__always)
        package func member(_ key: JSONKey.Reference, of index: Int) -> Int? {
            var found: Int? = nil
            var position = index + 1
            let end = Int(self.nodes[index].next)
            while position < end {
                if self.string(position, equals: key) { found = position + 1 }
                position = Int(self.nodes[position + 1].next)
            }
            return found
        }

        /// Element `offset` of array node `index`, if it has one.
        package func element(_ offset: Int, of index: Int) -> Int? {
            guard offset >= 0, offset < Int(self.nodes[index].count) else { return nil }
            var position = index + 1
            for _ in 0..<offset { position = Int(self.nodes[position].next) }
            return position
        }

        /// Whether string node `index` holds `key`. Compared as Swift compares strings (canonical
        /// equivalence), byte for byte only where that is the same thing: both sides ASCII.
        @inline(__always)
        package func string(_ index: Int, equals key: JSONKey.Reference) -> Bool {
            let node = self.nodes[index]
            if !node.needsDecoding {
                let length = Int(node.end - node.start) - 2
                if length == key.utf8.count
                    && (length == 0
                        || memcmp(self.bytes.baseAddress! + Int(node.start) + 1, key.utf8.baseAddress!, length) == 0)
                {
                    return true
                }
                if key.isASCII { return false }
            }
            guard case .string(let text) = self.value(index) else { return false }
            return text == key.text
        }

        /// The bytes of string node `index` between its quotes.
        package func content(_ index: Int) -> UnsafeBufferPointer<UInt8> {
            let node = self.nodes[index]
            return UnsafeBufferPointer(rebasing: self.bytes[Int(node.start + 1)..<Int(node.end - 1)])
        }

        /// Node `index` decoded, by `JSONParser` over the node's bytes.
        package func value(_ index: Int) -> JSONValue {
            let node = self.nodes[index]
            // The tape accepted these bytes, so the parser does too; null is unreachable, not a fallback in use.
            return (try? JSONParser.parse(UnsafeBufferPointer(rebasing: self.bytes[Int(node.start)..<Int(node.end)])))
                ?? .null
        }
    }
}

/// An object key prepared once for tape lookups: its text, and its UTF-8 in memory the key owns. The hot path
/// holds `reference`, a plain value with no reference counting; the key must outlive its references, which
/// keeping the key beside them (as compiled mappings do) guarantees.
package final class JSONKey: @unchecked Sendable, Hashable, CustomStringConvertible {
    package let text: String
    private let storage: UnsafeMutableBufferPointer<UInt8>
    private let isASCII: Bool

    package init(_ text: String) {
        self.text = text
        let utf8 = Array(text.utf8)
        self.storage = .allocate(capacity: max(utf8.count, 1))
        _ = self.storage.initialize(from: utf8)
        self.isASCII = utf8.allSatisfy { $0 < 0x80 }
    }

    deinit { self.storage.deallocate() }

    /// What lookups read: pointer, length and ASCII-ness, copied freely.
    package var reference: Reference {
        Reference(
            utf8: UnsafeBufferPointer(rebasing: self.storage[0..<self.text.utf8.count]), isASCII: self.isASCII,
            owner: self)
    }

    package struct Reference: @unchecked Sendable {
        package let utf8: UnsafeBufferPointer<UInt8>
        package let isASCII: Bool
        unowned(unsafe) let owner: JSONKey

        package var text: String { self.owner.text }
    }

    package var description: String { self.text }

    /// Keys are the same key when their texts are equal as Swift strings, as object keys are compared.
    package static func == (lhs: JSONKey, rhs: JSONKey) -> Bool { lhs.text == rhs.text }
    package func hash(into hasher: inout Hasher) { hasher.combine(self.text) }
}

extension JSONTape {
    /// The recursive-descent scanner behind `parse`, mirroring `JSONParser` rule for rule.
    fileprivate struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        @inline(__always)
        var current: UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

        @inline(__always)
        mutating func skipWhitespace() {
            while self.position < self.bytes.count {
                let byte = self.bytes[self.position]
                guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
                self.position += 1
            }
        }

        mutating func value(into nodes: inout [Node], depth: Int) -> Bool {
            guard let byte = self.current else { return false }
            let start = Int32(self.position)
            let index = nodes.count
            nodes.append(Node(kind: .null, needsDecoding: false, start: start, end: start, next: 0, count: 0))
            var kind = Kind.null
            var needsDecoding = false
            var count: Int32 = 0
            switch byte {
            case UInt8(ascii: "{"):
                kind = .object
                guard depth + 1 <= JSONParser.maxDepth else { return false }
                var closed = self.opens(closing: UInt8(ascii: "}"))
                while !closed {
                    self.skipWhitespace()
                    guard self.current == UInt8(ascii: "\"") else { return false }
                    guard self.value(into: &nodes, depth: depth + 1) else { return false }  // the key
                    self.skipWhitespace()
                    guard self.current == UInt8(ascii: ":") else { return false }
                    self.position += 1
                    self.skipWhitespace()
                    guard self.value(into: &nodes, depth: depth + 1) else { return false }
                    count += 1
                    guard let end = self.separator(closing: UInt8(ascii: "}")) else { return false }
                    closed = end
                }
            case UInt8(ascii: "["):
                kind = .array
                guard depth + 1 <= JSONParser.maxDepth else { return false }
                var closed = self.opens(closing: UInt8(ascii: "]"))
                while !closed {
                    self.skipWhitespace()
                    guard self.value(into: &nodes, depth: depth + 1) else { return false }
                    count += 1
                    guard let end = self.separator(closing: UInt8(ascii: "]")) else { return false }
                    closed = end
                }
            case UInt8(ascii: "\""):
                kind = .string
                guard let decoding = self.string() else { return false }
                needsDecoding = decoding
            case UInt8(ascii: "t"):
                kind = .true
                guard self.literal("true") else { return false }
            case UInt8(ascii: "f"):
                kind = .false
                guard self.literal("false") else { return false }
            case UInt8(ascii: "n"):
                kind = .null
                guard self.literal("null") else { return false }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                kind = .number
                guard self.number() else { return false }
            default:
                return false
            }
            nodes[index] = Node(
                kind: kind, needsDecoding: needsDecoding, start: start, end: Int32(self.position),
                next: Int32(nodes.count), count: count
            )
            return true
        }

        /// Steps over an opening bracket; true when the container is empty (its closing bracket consumed too).
        mutating func opens(closing: UInt8) -> Bool {
            self.position += 1
            self.skipWhitespace()
            guard self.current == closing else { return false }
            self.position += 1
            return true
        }

        /// After a member: true at the closing bracket, false after a comma, nil at anything else.
        mutating func separator(closing: UInt8) -> Bool? {
            self.skipWhitespace()
            guard let separator = self.current else { return nil }
            self.position += 1
            if separator == closing { return true }
            return separator == UInt8(ascii: ",") ? false : nil
        }

        mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard self.position + count <= self.bytes.count else { return false }
            for offset in 0..<count where self.bytes[self.position + offset] != text.utf8Start[offset] { return false }
            self.position += count
            return true
        }

        @inline(__always)
        mutating func digits() -> Int {
            let start = self.position
            while let byte = self.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { self.position += 1 }
            return self.position - start
        }

        mutating func number() -> Bool {
            if self.current == UInt8(ascii: "-") { self.position += 1 }
            guard let first = self.current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return false }
            if first == UInt8(ascii: "0") { self.position += 1 } else { _ = self.digits() }
            if self.current == UInt8(ascii: ".") {
                self.position += 1
                guard self.digits() > 0 else { return false }
            }
            if self.current == UInt8(ascii: "e") || self.current == UInt8(ascii: "E") {
                self.position += 1
                if self.current == UInt8(ascii: "+") || self.current == UInt8(ascii: "-") { self.position += 1 }
                guard self.digits() > 0 else { return false }
            }
            return true
        }

        mutating func hex4() -> UInt32? {
            guard self.position + 4 <= self.bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = JSONParser.hexDigit(self.bytes[self.position]) else { return nil }
                value = value << 4 | digit
                self.position += 1
            }
            return value
        }

        /// Moves past whole 8-byte words of plain string content: ASCII from 0x20, no quote, no backslash (SWAR:
        /// a word has a zero byte after XOR with a repeated byte exactly when it holds that byte).
        @inline(__always)
        mutating func skipPlainASCII() {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            @inline(__always) func hasZero(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
            let base = UnsafeRawPointer(self.bytes.baseAddress!)
            while self.position + 8 <= self.bytes.count {
                let word = base.loadUnaligned(fromByteOffset: self.position, as: UInt64.self)
                // Any byte >= 0x80, or < 0x20 (subtracting 0x20 from each byte borrows into its high bit), or a
                // quote, or a backslash: let the byte loop handle this word.
                if word & highs != 0 || (word &- 0x2020_2020_2020_2020) & ~word & highs != 0
                    || hasZero(word ^ (0x22 &* ones)) || hasZero(word ^ (0x5C &* ones))
                {
                    return
                }
                self.position += 8
            }
        }

        /// Scans a string from its opening quote; nil when invalid, else whether it must be decoded to compare.
        /// The raw runs between escapes are checked as UTF-8 one by one, which is what checking the decoded
        /// whole comes to: an escape always yields complete characters, so it can neither finish nor break a
        /// raw sequence.
        mutating func string() -> Bool? {
            self.position += 1
            var needsDecoding = false
            var run = self.position
            var runIsASCII = true  // only runs with a byte past 0x7F need the UTF-8 check
            while true {
                // ASCII without quotes, backslashes or controls: the common case, eight bytes per step while
                // none of the eight is special, then one byte at a time.
                self.skipPlainASCII()
                while self.position < self.bytes.count {
                    let byte = self.bytes[self.position]
                    guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else {
                        break
                    }
                    self.position += 1
                }
                guard let byte = self.current else { return nil }
                switch byte {
                case UInt8(ascii: "\""):
                    guard runIsASCII || UTF8Text.isValid(UnsafeBufferPointer(rebasing: self.bytes[run..<self.position]))
                    else { return nil }
                    self.position += 1
                    return needsDecoding
                case UInt8(ascii: "\\"):
                    needsDecoding = true
                    guard runIsASCII || UTF8Text.isValid(UnsafeBufferPointer(rebasing: self.bytes[run..<self.position]))
                    else { return nil }
                    self.position += 1
                    guard let escape = self.current else { return nil }
                    self.position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        break
                    case UInt8(ascii: "u"):
                        guard let code = self.hex4() else { return nil }
                        if code >= 0xD800 && code < 0xDC00, self.position + 1 < self.bytes.count,
                            self.bytes[self.position] == UInt8(ascii: "\\"),
                            self.bytes[self.position + 1] == UInt8(ascii: "u")
                        {
                            self.position += 2
                            guard let low = self.hex4(), low >= 0xDC00 && low < 0xE000 else { return nil }
                        }
                    default:
                        return nil
                    }
                    run = self.position
                    runIsASCII = true
                case 0x80...:
                    needsDecoding = true
                    runIsASCII = false
                    self.position += 1
                default:
                    return nil  // a control character
                }
            }
        }

    }
}
