import EventGenerators
import EventJSON
import Mapping
import Testing

@Suite("Conditions: Segment's vectors")
struct ConditionVectorTests {
    @Test("conditions.json: every entry parses or fails, and matches, as Segment's code does")
    func conditions() throws {
        let entries = try loadVectors("conditions.json")
        #expect(entries.count == 113)
        var passed = 0
        for entry in entries {
            let name = entry["name"]?.stringValue ?? "?"
            let text = try #require(entry["condition"]?.stringValue)
            let parsed = Result { () throws(ConditionParseError) in try Subscription(text) }
            if entry["expect_error"]?.boolValue == true {
                guard case .failure = parsed else {
                    Issue.record("\(name): expected a parse error for \(text)")
                    continue
                }
            } else {
                guard case .success(let subscription) = parsed else {
                    Issue.record("\(name): unexpected parse error \(parsed) for \(text)")
                    continue
                }
                let event = entry["event"].map(MappingValue.init) ?? .undefined
                let expected = entry["expect"]?.boolValue == true
                guard subscription.matches(event) == expected else {
                    Issue.record(
                        "\(name): \(text) should be \(expected) for \(entry["event"].map(JSONWriter.string) ?? "undefined")"
                    )
                    continue
                }
            }
            passed += 1
        }
        #expect(passed == 113)
    }

    @Test("conditions_parse.json: parsing gives Segment's AST, and generating gives Segment's text")
    func parseAndGenerate() throws {
        let entries = try loadVectors("conditions_parse.json")
        #expect(entries.count == 55)
        var passed = 0
        for entry in entries {
            let name = entry["name"]?.stringValue ?? "?"
            let text = try #require(entry["condition"]?.stringValue)
            if entry["direction"]?.stringValue == "generate" {
                let astJSON = try #require(entry["ast"])
                let ast = try #require(Condition(json: astJSON), "\(name): unreadable AST")
                guard ast.fql == text else {
                    Issue.record("\(name): generated \(ast.fql), expected \(text)")
                    continue
                }
                let reparsed = try Subscription(text).condition.json
                guard reparsed == entry["reparsed_ast"] else {
                    Issue.record("\(name): reparsed \(JSONWriter.string(reparsed))")
                    continue
                }
            } else {
                let condition = try Subscription(text).condition
                guard condition.json == entry["ast"] else {
                    Issue.record(
                        "\(name): parsed \(JSONWriter.string(condition.json)), expected \(entry["ast"].map(JSONWriter.string) ?? "")"
                    )
                    continue
                }
                if entry["generate_roundtrip"]?.boolValue == true, condition.fql != text {
                    Issue.record("\(name): round trip gave \(condition.fql)")
                    continue
                }
            }
            passed += 1
        }
        #expect(passed == 55)
    }

    @Test("conditions_catalog.json: every real-world subscription parses to Segment's AST (or fails where it does)")
    func catalog() throws {
        let entries = try loadVectors("conditions_catalog.json")
        #expect(entries.count == 182)
        var passed = 0
        for entry in entries {
            let text = try #require(entry["condition"]?.stringValue)
            let expected = try #require(entry["ast"])
            let parsed = Result { () throws(ConditionParseError) in try Subscription(text) }
            switch parsed {
            case .success(let subscription):
                guard expected["error"] == nil, subscription.condition.json == expected else {
                    Issue.record(
                        "\(text): parsed \(JSONWriter.string(subscription.condition.json)), expected \(JSONWriter.string(expected))"
                    )
                    continue
                }
            case .failure(let error):
                guard expected["error"] != nil else {
                    Issue.record("\(text): unexpected error \(error)")
                    continue
                }
            }
            passed += 1
        }
        #expect(passed == 182)
    }
}
