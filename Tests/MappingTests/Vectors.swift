import EventJSON
import RPCTesting
import Testing

/// Loads a vector file from ../shared/vectors (relative to the project root, where `swift test` runs).
func loadVectors(_ name: String) throws -> [JSONValue] {
    let text = try #require(readTextFile("../shared/vectors/\(name)"), "../shared/vectors/\(name) is missing")
    guard case .array(let entries) = try JSONParser.parse(text) else {
        Issue.record("\(name) is not a JSON array")
        return []
    }
    return entries
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }
}
