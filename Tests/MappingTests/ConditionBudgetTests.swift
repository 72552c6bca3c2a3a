import EnrichPolicy
import EventGenerators
import EventJSON
import Testing

@testable import Mapping

@Suite("Condition string operators and budgets")
struct ConditionBudgetTests {
    /// The reference: every position, byte by byte.
    static func naiveContains(_ text: [UInt8], _ needle: [UInt8]) -> Bool {
        if needle.isEmpty { return true }
        guard text.count >= needle.count else { return false }
        for start in 0...(text.count - needle.count) where Array(text[start..<start + needle.count]) == needle {
            return true
        }
        return false
    }

    @Test(
        "contains agrees with a naive search on 20,000 random texts over small alphabets (repeats, overlaps, borders)")
    func containsMatchesNaive() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let alphabet = Array("ab\u{00E9}".utf8)  // two ASCII letters and a two-byte character's bytes
            let text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            }
            let needle = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            }
            let fast = text.withUnsafeBytes { t in needle.withUnsafeBytes { n in TextSearch.contains(t, n) } }
            #expect(fast == Self.naiveContains(text, needle), "\(text) \(needle)")
        }
    }

    @Test(
        "The worst case for naive search is answered: 4,000 'a's and a 'b' against 32 KiB of 'a's, then with the 'b' at the end"
    )
    func adversarialNeedle() {
        let needle = Array(repeating: UInt8(ascii: "a"), count: 4_000) + [UInt8(ascii: "b")]
        var text = Array(repeating: UInt8(ascii: "a"), count: 32 << 10)
        #expect(!text.withUnsafeBytes { t in needle.withUnsafeBytes { TextSearch.contains(t, $0) } })
        text += [UInt8(ascii: "b")]
        #expect(text.withUnsafeBytes { t in needle.withUnsafeBytes { TextSearch.contains(t, $0) } })
    }

    @Test("Operators compare code units as JavaScript does, not grapheme clusters as Swift's String does")
    func javaScriptSemantics() throws {
        // "e" + combining acute: JavaScript's "e\u0301".includes("e") and .startsWith("e") are true.
        let event = MappingValue(try JSONParser.parse(#"{"event":"e\u0301clair"}"#))
        #expect(try Subscription(#"event contains "e""#).matches(event))
        #expect(try Subscription(#"event = "e\#u{0301}clair""#).matches(event))
    }

    @Test(
        "Scan budget: a condition examining exactly N bytes is decided; one byte over is refused with the limit named")
    func scanBudget() throws {
        let text = String(repeating: "x", count: 1_000)
        let event = MappingValue(try JSONParser.parse(#"{"type":"track","properties":{"note":"\#(text)"}}"#))
        let condition = try Subscription(
            #"properties.note contains "y" or properties.note contains "z" or properties.note contains "x""#
        ).condition
        var exact = ConditionBudget(maxScanBytes: 3_000)
        #expect(try condition.matches(event, budget: &exact))
        var short = ConditionBudget(maxScanBytes: 2_999)
        #expect(throws: ConditionBudgetExceeded.scan(2_999)) { try condition.matches(event, budget: &short) }
    }

    @Test("Leaf budget: N leaves are evaluated, N+1 is refused")
    func leafBudget() throws {
        let event = MappingValue(try JSONParser.parse(#"{"type":"track"}"#))
        let condition = try Subscription(#"type = "a" or type = "b" or type = "track""#).condition
        var exact = ConditionBudget(maxLeaves: 3)
        #expect(try condition.matches(event, budget: &exact))
        var short = ConditionBudget(maxLeaves: 2)
        #expect(throws: ConditionBudgetExceeded.leaves(2)) { try condition.matches(event, budget: &short) }
    }

    @Test(
        "A mapping whose condition goes over budget reports it as the mapping's error, on the tree path and on the tape"
    )
    func mappingReportsBudget() throws {
        let definition = MappingDefinition(
            name: "heavy",
            condition: (0..<40).map { #"properties.note contains "needle\#($0)""# }.joined(separator: " or "),
            matches: [], enrichments: [], fields: nil
        )
        let mapping = try CompiledDestinationMapping(
            definition,
            limits: {
                var limits = LanguageLimits()
                limits.conditions.maxScanBytes = 64 << 10
                return limits
            }())
        let note = String(repeating: "y", count: 30_000)
        let bytes = Array(#"{"type":"track","properties":{"note":"\#(note)"}}"#.utf8)
        let tree = mapping.apply(to: MappingValue(try JSONParser.parse(bytes))) { _, _ in .noKey }
        #expect(!tree.conditionMatched)
        #expect(
            tree.error == "the condition examined more than 65536 bytes of text for this event (the per-event limit)")
        var tape = JSONTape()
        var scratch = TapeScratch()
        bytes.withUnsafeBufferPointer { buffer in
            let parsed = tape.parse(buffer)
            #expect(parsed)
            tape.withView(buffer) { view in
                let result = mapping.apply(to: TapeEvent(view), rows: NoRows(), scratch: &scratch)
                #expect(result.error == .scan(64 << 10))
            }
        }
    }

    struct NoRows: TapeRows {
        func row(match: Int, key: TapeKey) -> Int? { nil }
        func write(enrichment: Int, row: Int, into output: inout [UInt8]) {}
    }
}
