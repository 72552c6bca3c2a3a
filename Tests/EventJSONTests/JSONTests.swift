import EventJSON
import Testing

@Suite("JSON")
struct JSONTests {
    @Test("Parses and writes back compactly, keeping key order and integer precision")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,false,null,-0.5,9007199254740993,"x\"y\\z\n\u00e9\ud83d\ude00"],"c":{}}"#
        let value = try JSONParser.parse(text)
        #expect(
            JSONWriter.string(value)
                == #"{"b":1,"a":[true,false,null,-0.5,9007199254740993,"x\"y\\z\n\#u{e9}\#u{1F600}"],"c":{}}"#)
    }

    @Test(
        "Refuses malformed input with the byte offset",
        arguments: [
            ("{", 1), ("[1,]", 3), (#"{"a" 1}"#, 5), ("tru", 0), ("01", 1), (#""\x""#, 3), ("1 2", 2), ("-", 1),
        ])
    func malformed(text: String, offset: Int) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch { #expect(error.offset == offset) }
    }

    @Test("Nesting is limited: the limit parses, one deeper is refused")
    func depthLimit() throws {
        let atLimit =
            String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        _ = try JSONParser.parse(atLimit)
        let past = "[" + atLimit + "]"
        #expect(throws: JSONParseError.self) { try JSONParser.parse(past) }
    }

    @Test("Paths read nested values and array elements, and set creates missing objects")
    func paths() throws {
        var value = try JSONParser.parse(#"{"properties":{"sku":"A-1","items":[{"id":7}]},"userId":3}"#)
        #expect(value[path: JSONPath("properties.sku")!] == .string("A-1"))
        #expect(value[path: JSONPath("properties.items.0.id")!] == .int(7))
        #expect(value[path: JSONPath("properties.missing")!] == nil)
        value.set(.string("pro"), at: JSONPath("traits.plan")!)
        value.set(.int(1), at: JSONPath("userId.nested")!)
        #expect(
            JSONWriter.string(value)
                == #"{"properties":{"sku":"A-1","items":[{"id":7}]},"userId":{"nested":1},"traits":{"plan":"pro"}}"#)
        #expect(JSONPath("a..b") == nil)
        #expect(JSONPath("") == nil)
    }

    @Test("Doubles print as JavaScript prints them")
    func doubles() {
        #expect(JSONWriter.format(1.0) == "1")
        #expect(JSONWriter.format(-2.5) == "-2.5")
        #expect(JSONWriter.format(.nan) == "null")
        #expect(JSONWriter.format(1e300) == "1e+300")
    }
}
