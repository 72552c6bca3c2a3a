/// Ordered key/value pairs sent with a request or a status. Keys are compared case-sensitively.
public struct Metadata: Hashable, Sendable, Sequence {
    public private(set) var entries: [(key: String, value: String)] = []

    public init() {}

    /// Makes metadata from pairs, keeping their order.
    public init(_ pairs: [(String, String)]) {
        self.entries = pairs.map { (key: $0.0, value: $0.1) }
    }

    /// Appends a pair; an existing key keeps its earlier value too.
    public mutating func add(_ key: String, _ value: String) { self.entries.append((key: key, value: value)) }

    /// The first value under `key`, or nil.
    public subscript(key: String) -> String? { self.entries.first { $0.key == key }?.value }

    public var isEmpty: Bool { self.entries.isEmpty }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> { self.entries.makeIterator() }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in self.entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}
