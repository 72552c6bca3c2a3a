/// A JSON value that keeps object key order and tells integers from other numbers.
///
/// Integers that fit in Int64 (written without fraction or exponent) stay `.int`, so ids survive a round trip
/// exactly; every other number is `.double`.
package enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value at a dotted path ("properties.sku"), or nil when a step is missing or not an object.
    /// Array elements are reached with a numeric step ("products.0.id").
    package subscript(path path: JSONPath) -> JSONValue? {
        var current = self
        for component in path.components {
            switch current {
            case .object(let object):
                guard let next = object[component] else { return nil }
                current = next
            case .array(let array):
                guard let position = Int(component), array.indices.contains(position) else { return nil }
                current = array[position]
            default:
                return nil
            }
        }
        return current
    }

    /// Sets the value at a dotted path, creating objects for missing steps and replacing non-object steps.
    package mutating func set(_ value: JSONValue, at path: JSONPath) {
        self.set(value, components: path.components[...])
    }

    private mutating func set(_ value: JSONValue, components: ArraySlice<String>) {
        guard let first = components.first else {
            self = value
            return
        }
        var object: JSONObject
        if case .object(let existing) = self { object = existing } else { object = JSONObject() }
        self = .null  // Drop our reference so the object below is uniquely referenced and mutates in place.
        object.modifyValue(forKey: first) { $0.set(value, components: components.dropFirst()) }
        self = .object(object)
    }

    package var isNull: Bool { if case .null = self { true } else { false } }
}

extension JSONValue: Equatable {
    /// Structural equality; object key order does not matter, and 1 equals 1.0.
    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): Double(a) == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }
}

/// An object whose keys keep their insertion order. Lookups are linear, which beats hashing for the few
/// keys an event object has.
package struct JSONObject: Sendable, Equatable, Sequence {
    package private(set) var entries: [(key: String, value: JSONValue)] = []

    package init() {}

    package init(_ entries: [(String, JSONValue)]) {
        for (key, value) in entries { self[key] = value }
    }

    package var count: Int { self.entries.count }
    package var keys: [String] { self.entries.map(\.key) }

    package subscript(key: String) -> JSONValue? {
        get { self.entries.first { $0.key == key }?.value }
        set {
            if let position = self.entries.firstIndex(where: { $0.key == key }) {
                if let newValue { self.entries[position].value = newValue } else { self.entries.remove(at: position) }
            } else if let newValue {
                self.entries.append((key: key, value: newValue))
            }
        }
    }

    /// Changes the value under `key` in place (null when absent, appended at the end), keeping key order.
    package mutating func modifyValue(forKey key: String, _ body: (inout JSONValue) -> Void) {
        guard let position = self.entries.firstIndex(where: { $0.key == key }) else {
            var value = JSONValue.null
            body(&value)
            self.entries.append((key: key, value: value))
            return
        }
        var value = self.entries[position].value
        self.entries[position].value = .null  // Keeps `value` uniquely referenced while `body` mutates it.
        body(&value)
        self.entries[position].value = value
    }

    @discardableResult
    package mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let position = self.entries.firstIndex(where: { $0.key == key }) else { return nil }
        return self.entries.remove(at: position).value
    }

    package func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        self.entries.makeIterator()
    }

    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.entries.allSatisfy { entry in rhs[entry.key] == entry.value }
    }
}

/// A dotted path into an event, parsed once and reused.
package struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    package let components: [String]

    /// Parses "a.b.c"; empty components are refused.
    package init?(_ text: String) {
        let components = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.components = components
    }

    package var description: String { self.components.joined(separator: ".") }
}
