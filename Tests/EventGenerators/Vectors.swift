package import EventJSON
import RPCTesting
import Testing

/// Loads one of Segment's vectors from the repository's copy, Tests/Fixtures/segment (relative to the project root,
/// where `swift test` runs); `Scripts/refresh-vectors.sh` refreshes it from its source.
package func loadVectors(_ name: String) throws -> [JSONValue] {
    let text = try #require(readTextFile("Tests/Fixtures/segment/\(name)"), "Tests/Fixtures/segment/\(name) is missing")
    guard case .array(let entries) = try JSONParser.parse(text) else {
        Issue.record("\(name) is not a JSON array")
        return []
    }
    return entries
}

extension JSONValue {
    package subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }
}
