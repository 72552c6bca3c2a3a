import EventJSON

/// Enrich of a model's columns into events without a destination (a key path and column → key pairs), on the
/// tape: the key is read from the event's bytes and the values are spliced into them, so every byte outside the
/// enriched keys is the sender's (big integers keep their digits, `1e400` stays `1e400`, a lone `\ud800` stays
/// escaped). Dotted paths have `JSONValue`'s semantics, not JavaScript's: object members by name, array elements
/// by decimal index; setting a key creates missing objects and replaces values that are not objects, later
/// enrichments replacing earlier ones — exactly what the tree path (`JSONValue.set`) does, so the two give the
/// same JSON (a differential test checks it).
package final class TapePlainEnrichment: Sendable {
    /// A key read from an event.
    package enum Key {
        /// A string key's UTF-8 straight from the event (no escapes in it).
        case utf8(UnsafeBufferPointer<UInt8>)
        /// A string key that had to be decoded.
        case string(String)
        case int(Int64)
    }

    let keyPath: [JSONKey.Reference]
    let keyIndexes: [Int?]
    let edits: EditTree
    /// What the references point into.
    private let keys: [JSONKey]
    package let targetCount: Int

    /// - Parameters:
    ///   - keyPath: the key's dotted path, split.
    ///   - targets: each enrichment's key path, split, in the order they are applied.
    package init(keyPath: [String], targets: [[String]]) {
        let keyObjects = keyPath.map(JSONKey.init)
        let targetObjects = targets.map { $0.map(JSONKey.init) }
        self.keys = keyObjects + targetObjects.flatMap { $0 }
        self.keyPath = keyObjects.map(\.reference)
        self.keyIndexes = keyPath.map { Int($0) }
        self.targetCount = targets.count
        self.edits = EditTree([Array(targets.indices)], keys: targetObjects.map { $0.map(\.reference) }) { _ in true }
    }

    /// The event's key, or nil when there is none (missing, or not a string or an integral number).
    package func key(in event: TapeEvent) -> Key? {
        let view = event.view
        var index = 0
        for (position, component) in self.keyPath.enumerated() {
            switch view.nodes[index].kind {
            case .object:
                guard let member = view.member(component, of: index) else { return nil }
                index = member
            case .array:
                guard let offset = self.keyIndexes[position], let element = view.element(offset, of: index) else {
                    return nil
                }
                index = element
            default:
                return nil
            }
        }
        let node = view.nodes[index]
        switch node.kind {
        case .string:
            if !node.needsDecoding { return .utf8(view.content(index)) }
            guard case .string(let text) = view.value(index) else { return nil }
            return .string(text)
        case .number:
            switch view.value(index) {
            case .int(let number): return .int(number)
            case .double(let number) where number == number.rounded() && abs(number) < 9.2e18:
                return .int(Int64(number))
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Appends the event with every target's value spliced in to `scratch.outputs`; `write(target, &bytes)`
    /// appends target number `target`'s value as JSON. Returns where the output is.
    package func splice(
        _ event: TapeEvent, scratch: inout TapeScratch, write: (Int, inout [UInt8]) -> Void
    ) -> Range<Int> {
        scratch.values.removeAll(keepingCapacity: true)
        scratch.spans.removeAll(keepingCapacity: true)
        for target in 0..<self.targetCount {
            let start = scratch.values.count
            write(target, &scratch.values)
            scratch.spans.append(start..<scratch.values.count)
        }
        return self.edits.applied(to: event, scratch: &scratch)
    }
}
