import EnrichPolicy
import EventGenerators
import EventJSON
import Testing

@testable import Mapping

/// Liquid and mapping-kit with their budgets: every value and every render bounded, tested at N and N+1, and the
/// templates that used to exhaust memory answered with an error for their event.
@Suite("Language budgets")
struct LanguageBudgetTests {
    static func render(_ template: String, _ scope: String = "{}") throws -> String {
        try LiquidTemplate(parsing: template, limits: LiquidLimits()).render(MappingValue(try JSONParser.parse(scope)))
    }

    @Test(
        "Regression: doubling a variable with assign and append (959 characters, once 2.7 GB and an abort) is refused at the value limit"
    )
    func doublingAssign() throws {
        var template = #"{% assign a = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" %}"#
        while template.count + 30 <= 959 { template += "{% assign a = a | append: a %}" }
        template += "{{ a }}"
        #expect(template.count <= LiquidLimits().maxTemplateCharacters)
        #expect(throws: LiquidError("liquid value of 126976 bytes exceeds the limit of 100000")) {
            try Self.render(template)
        }
    }

    @Test("A Liquid value of exactly 100,000 bytes is made; 100,001 is refused")
    func valueLimit() throws {
        // "x" * 10 = 10 bytes; `append` up to the limit, then one more byte.
        let exact =
            #"{% assign a = "xxxxxxxxxx" | append: "xxxxxxxxxx" %}{% assign b = a | append: a | append: a | append: a | append: a %}{% assign c = b | append: b | append: b | append: b | append: b | append: b | append: b | append: b | append: b | append: b %}{% assign d = c | append: c | append: c | append: c | append: c | append: c | append: c | append: c | append: c | append: c %}{% assign e = d | append: d | append: d | append: d | append: d | append: d | append: d | append: d | append: d | append: d %}{{ e | size }}"#
        #expect(try Self.render(exact) == "100000")
        let over = exact.replacingOccurrences("{{ e | size }}", with: #"{% assign f = e | append: "x" %}"#)
        #expect(throws: LiquidError("liquid value of 100001 bytes exceeds the limit of 100000")) {
            try Self.render(over)
        }
    }

    @Test("join and replace are sized before they are built: a long separator or replacement is refused, not allocated")
    func sizedBeforeBuilding() throws {
        let text = String(repeating: "a", count: 40_000)
        #expect(throws: LiquidError("liquid value of 199996 bytes exceeds the limit of 100000")) {
            try Self.render(#"{{ t | split: "" | join: "----" }}"#, #"{"t":"\#(text)"}"#)
        }
        #expect(throws: LiquidError("liquid value of 120000 bytes exceeds the limit of 100000")) {
            try Self.render(#"{{ t | replace: "a", "bbb" }}"#, #"{"t":"\#(text)"}"#)
        }
        #expect(try Self.render(#"{{ t | replace: "a", "b" | size }}"#, #"{"t":"\#(text)"}"#) == "40000")
    }

    @Test("Text produced in all by one render: 1,000,000 bytes are made, more is refused")
    func producedLimit() throws {
        // Each value of 90,000 bytes is under the value limit; twelve of them are over the render's budget.
        let scope = #"{"s":"\#(String(repeating: "z", count: 90_000))"}"#
        let eleven = (0..<11).map { "{% assign v\($0) = s | append: \"\" %}" }.joined()
        #expect(try Self.render(eleven + "ok", scope) == "ok")  // 11 x 90,000 = 990,000
        let twelve = (0..<12).map { "{% assign v\($0) = s | append: \"\" %}" }.joined()
        #expect(throws: LiquidError("liquid template produced more than 1000000 bytes of text")) {
            try Self.render(twelve + "ok", scope)
        }
    }

    @Test(
        "Mapping-kit: a value of 256 KiB is made, a larger one is refused; the mapping's text in all is bounded per event"
    )
    func mappingKitBudgets() throws {
        let text = String(repeating: "w", count: 32_768)
        let payload = try JSONParser.parse(#"{"t":"\#(text)"}"#)
        let eight = String(repeating: "{{t}}", count: 8)  // 262,144 bytes: exactly the limit
        let fits = try CompiledMapping(try JSONParser.parse(#"{"out":{"@template":"\#(eight)"}}"#)).apply(to: payload)
        if case .object(let object) = fits, case .string(let out)? = object["out"] {
            #expect(out.utf8.count == 262_144)
        } else {
            Issue.record("no output")
        }
        let nine = String(repeating: "{{t}}", count: 9)
        #expect(throws: MappingError.runtime("@template made a value of 294912 bytes; the limit is 262144")) {
            _ = try CompiledMapping(try JSONParser.parse(#"{"out":{"@template":"\#(nine)"}}"#)).apply(to: payload)
        }
        // Five values of 256 KiB are over the 1 MiB an event's mapping may make.
        let many = (0..<5).map { #""o\#($0)":{"@template":"\#(eight)"}"# }.joined(separator: ",")
        #expect(throws: MappingError.runtime("the mapping made more than 1048576 bytes of text for this event")) {
            _ = try CompiledMapping(try JSONParser.parse("{\(many)}")).apply(to: payload)
        }
    }

    @Test(
        "@replace of a one-character pattern on 32 KiB with $` in the replacement stops at the value limit (it was quadratic)"
    )
    func replaceWithContext() throws {
        let payload = try JSONParser.parse(#"{"t":"\#(String(repeating: "a", count: 32_000))"}"#)
        let mapping = try JSONParser.parse(
            #"{"out":{"@replace":{"value":{"@path":"$.t"},"pattern":"a","replacement":"$`"}}}"#)
        #expect(throws: MappingError.self) { _ = try CompiledMapping(mapping).apply(to: payload) }
        let plain = try JSONParser.parse(
            #"{"out":{"@replace":{"value":{"@path":"$.t"},"pattern":"a","replacement":"bb"}}}"#)
        if case .object(let object) = try CompiledMapping(plain).apply(to: payload),
            case .string(let out)? = object["out"]
        {
            #expect(out.utf8.count == 64_000)
        } else {
            Issue.record("no output")
        }
    }

    @Test(
        "A destination mapping whose Liquid template does not parse is refused when it is written, with the parser's message"
    )
    func templatesCheckedAtWrite() throws {
        let fields = try JSONParser.parse(#"{"greeting":{"@liquid":"{% if user %}hello"}}"#)
        #expect(
            throws: DestinationError.invalidFields(
                mapping: "m",
                [
                    #"@liquid template "{% if user %}hello": tag {% else / elsif / endif %} expected but the template ended."#
                ])
        ) {
            _ = try CompiledDestinationMapping(
                MappingDefinition(name: "m", condition: "", matches: [], enrichments: [], fields: fields))
        }
        // mapping-kit on its own still fails it only when it runs, as Segment does.
        _ = try CompiledMapping(fields)
    }
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
