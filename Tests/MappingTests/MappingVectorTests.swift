import EventGenerators
import EventJSON
import Mapping
import Testing

@Suite("Mapping-kit: Segment's vectors")
struct MappingVectorTests {
    /// Checks one entry; returns a description of the mismatch, or nil when it passes.
    static func check(_ entry: JSONValue) -> String? {
        guard let mapping = entry["mapping"] else { return "no mapping" }
        if entry["expect_valid"]?.boolValue == true {
            do {
                _ = try CompiledMapping(mapping)
                return nil
            } catch {
                return "expected a valid mapping, got \(error)"
            }
        }
        let payload = entry["payload"] ?? .object(JSONObject())
        let outcome = Result { () throws(MappingError) in try CompiledMapping.transform(mapping, payload) }
        if entry["expect_error"]?.boolValue == true {
            guard case .failure(let error) = outcome else {
                return "expected an error, got \(JSONWriter.string((try? outcome.get()) ?? .null))"
            }
            switch (entry["error_phase"]?.stringValue, error) {
            case (nil, _), ("payload", .payload), ("validate", .validation), ("runtime", .runtime): break
            default: return "error in the wrong phase: \(error)"
            }
            if case .array(let expected)? = entry["error_messages"] ?? entry["error_messages_observed"] {
                let messages = expected.compactMap(\.stringValue)
                if messages != error.messages { return "messages \(error.messages), expected \(messages)" }
            }
            if let substring = entry["error_message"]?.stringValue,
                !error.messages.contains(where: { $0.contains(substring) })
            {
                return "no message contains \(substring): \(error.messages)"
            }
            if let pattern = entry["error_message_regex"]?.stringValue {
                guard let regex = try? Regex(pattern) else { return "bad regex \(pattern)" }
                if !error.messages.contains(where: { $0.contains(regex) }) {
                    return "no message matches \(pattern): \(error.messages)"
                }
            }
            return nil
        }
        switch outcome {
        case .failure(let error):
            return "unexpected error \(error)"
        case .success(let output):
            guard let expected = entry["expect"] else { return "entry has no expectation" }
            return output == expected
                ? nil : "got \(JSONWriter.string(output)), expected \(JSONWriter.string(expected))"
        }
    }

    @Test("mapping.json: every entry transforms, validates or fails as Segment's code does")
    func mapping() throws {
        let entries = try loadVectors("mapping.json")
        #expect(entries.count == 247)
        var failures: [String] = []
        for entry in entries {
            if let problem = Self.check(entry) { failures.append("\(entry["name"]?.stringValue ?? "?"): \(problem)") }
        }
        for failure in failures { Issue.record(Comment(rawValue: failure)) }
        #expect(entries.count - failures.count == 247)
    }
}
