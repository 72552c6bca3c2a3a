import EventJSON
import InProcessTransport
import Mapping
import ModelCache
import NIOCore
import RPCCall
import RPCCore
import RPCMessages
import RPCTransport

#if canImport(Glibc)
    import Glibc
#endif

// Coverage-guided fuzzing of every parser a client's bytes reach (issue 13), as one binary with a target per
// parser. Built with `-sanitize=fuzzer,address -D FUZZING` (Scripts/fuzz.sh) it is a libFuzzer binary whose target
// is chosen by ENRICH_FUZZ_TARGET; built normally it replays files through the same code: `enrich-fuzz TARGET
// FILE-OR-DIRECTORY...`, which is how a crash found once stays fixed (Tests/Fuzz/regressions).
//
// A target traps (fatalError) on a broken invariant, not only on a crash: the tape must accept exactly what the
// parser accepts, a decoded message must survive a round trip, the hand-written request views must agree with
// protobuf-c, a condition must decide the same on the tape as on the tree.

enum Target: String, CaseIterable {
    case frames, envelope, protobuf, json, fql, liquid, mapping, conditions
}

enum Fuzz {
    static func run(_ target: Target, _ bytes: UnsafeRawBufferPointer) {
        switch target {
        case .frames: Self.frames(bytes)
        case .envelope: Envelopes.shared.run(bytes)
        case .protobuf: Self.protobuf(bytes)
        case .json: Self.json(bytes)
        case .fql: Self.fql(bytes)
        case .liquid: Self.liquid(bytes)
        case .mapping: Self.mapping(bytes)
        case .conditions: Self.conditions(bytes)
        }
    }

    // MARK: frames

    /// The frame decoder fed the bytes whole and in two pieces split at the first byte's value: both ways give the
    /// same frames, or the same error.
    static func frames(_ bytes: UnsafeRawBufferPointer) {
        let decoder = FrameDecoder(maxPayloadBytes: 1 << 16)
        func decodeAll(_ chunks: [UnsafeRawBufferPointer]) -> ([Frame], FramingError?) {
            var buffer = ByteBuffer()
            var frames: [Frame] = []
            for chunk in chunks {
                buffer.writeBytes(chunk)
                do {
                    while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
                } catch {
                    return (frames, error)
                }
            }
            return (frames, nil)
        }
        let whole = decodeAll([bytes])
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let pieces = decodeAll([
            UnsafeRawBufferPointer(rebasing: bytes[..<split]), UnsafeRawBufferPointer(rebasing: bytes[split...]),
        ])
        guard whole.0 == pieces.0, whole.1 == pieces.1 else { fatalError("frames differ when fed in two pieces") }
    }

    // MARK: protobuf

    /// A request message chosen by the first byte, decoded (wire check, then protobuf-c, then Swift values), encoded
    /// again and decoded again: the two decodes must be equal. The hot requests are also read by their views,
    /// which must agree with protobuf-c.
    static func protobuf(_ bytes: UnsafeRawBufferPointer) {
        guard let selector = bytes.first else { return }
        let body = UnsafeRawBufferPointer(rebasing: bytes[1...])
        var limits = WireLimits()
        limits.maxRepeatedEntries = 200
        switch selector % 8 {
        case 0:
            Self.roundTrip(LookupRequest.self, body, limits)
            Self.lookupViewAgrees(body, limits)
        case 1:
            Self.roundTrip(EnrichRequest.self, body, limits)
            Self.enrichViewAgrees(body, limits)
        case 2:
            Self.roundTrip(RequestHeader.self, body, limits)
            Self.headerViewAgrees(body, limits)
        case 3: Self.roundTrip(CreateDestinationRequest.self, body, limits)
        case 4: Self.roundTrip(CreateModelRequest.self, body, limits)
        case 5: Self.roundTrip(TestMappingRequest.self, body, limits)
        case 6: Self.roundTrip(CreateWarehouseRequest.self, body, limits)
        default: Self.roundTrip(Status.self, body, limits)
        }
    }

    static func roundTrip<M: RPCMessage & Equatable>(
        _ type: M.Type, _ body: UnsafeRawBufferPointer, _ limits: WireLimits
    ) {
        guard let first = try? M(serializedBytes: body, limits: limits) else { return }
        let again = first.serializedBytes()
        guard let second = try? M(serializedBytes: again, limits: WireLimits()) else {
            fatalError("\(M.self) decoded, then failed to decode its own encoding")
        }
        guard first == second else { fatalError("\(M.self) changed in a round trip") }
    }

    static func lookupViewAgrees(_ body: UnsafeRawBufferPointer, _ limits: WireLimits) {
        let decoded = try? LookupRequest(serializedBytes: body, limits: limits)
        let view = try? LookupRequestView.decode(body, maxKeys: 400, maxColumns: 200, limits: limits)
        // protobuf-c accepts unknown wire types the view refuses only in malformed input; when both read it, they
        // must read the same.
        guard let decoded, let view else { return }
        let keys = view.stringKeys.map { $0.string(in: body) }
        guard decoded.model == view.model.string(in: body),
            decoded.columns == view.columns.map({ $0.string(in: body) }),
            decoded.intKeys == view.intKeys
        else { fatalError("LookupRequestView disagrees with protobuf-c") }
        // The view refuses control bytes in keys that protobuf-c keeps; where both kept them they match.
        guard decoded.stringKeys == keys else { fatalError("LookupRequestView keys disagree with protobuf-c") }
    }

    static func enrichViewAgrees(_ body: UnsafeRawBufferPointer, _ limits: WireLimits) {
        let decoded = try? EnrichRequest(serializedBytes: body, limits: limits)
        let view = try? EnrichRequestView.decode(body, maxEvents: 200, maxEnrichments: 200, limits: limits)
        guard let decoded, let view else { return }
        guard decoded.model == view.model.string(in: body), decoded.keyPath == view.keyPath.string(in: body),
            decoded.destination == view.destination.string(in: body),
            decoded.events == view.events.map({ Array($0.bytes(in: body)) }),
            decoded.enrichments.map(\.column) == view.enrichments.map({ $0.column.string(in: body) }),
            decoded.enrichments.map(\.key) == view.enrichments.map({ $0.key.string(in: body) })
        else { fatalError("EnrichRequestView disagrees with protobuf-c") }
    }

    static func headerViewAgrees(_ body: UnsafeRawBufferPointer, _ limits: WireLimits) {
        let decoded = try? RequestHeader(serializedBytes: body, limits: limits)
        let view = try? RequestHeaderView.decode(body, maxMetadataEntries: 200, limits: limits)
        guard let decoded, let view else { return }
        guard decoded.method == view.method.string(in: body),
            decoded.authorization == view.authorization.string(in: body),
            decoded.timeoutMilliseconds == view.timeoutMilliseconds, decoded.metadata == view.metadata(in: body)
        else { fatalError("RequestHeaderView disagrees with protobuf-c") }
    }

    // MARK: json

    /// The tape accepts exactly what the parser accepts, and reads the same value at the root.
    static func json(_ bytes: UnsafeRawBufferPointer) {
        let buffer = bytes.assumingMemoryBound(to: UInt8.self)
        let parsed = try? JSONParser.parse(buffer)
        var tape = JSONTape()
        let accepted = tape.parse(buffer)
        guard accepted == (parsed != nil) else {
            fatalError(
                "the tape \(accepted ? "accepts" : "refuses") what the parser \(parsed != nil ? "accepts" : "refuses")")
        }
        guard accepted, let parsed else { return }
        let root = tape.withView(buffer) { $0.value(0) }
        guard root == parsed || (root.containsNaN || parsed.containsNaN) else {
            fatalError("the tape reads another value")
        }
        // Writing it back must parse to the same value.
        let written = JSONWriter.bytes(parsed)
        guard let reparsed = try? JSONParser.parse(written), reparsed == parsed || parsed.containsNonFinite else {
            fatalError("JSONWriter wrote what JSONParser does not read back")
        }
    }

    // MARK: fql

    /// A condition parses or fails with a message; one that parses renders to text that parses again, and
    /// evaluates within its budget on a sample event.
    static func fql(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let subscription = try? Subscription(text) else { return }
        var budget = ConditionBudget()
        _ = try? subscription.condition.matches(Samples.event, budget: &budget)
        _ = subscription.condition.json
        let rendered = subscription.condition.fql
        _ = try? Subscription(rendered)
    }

    // MARK: liquid

    static func liquid(_ bytes: UnsafeRawBufferPointer) {
        let template = String(decoding: bytes, as: UTF8.self)
        let mapping = JSONValue.object(JSONObject([("out", .object(JSONObject([("@liquid", .string(template))])))]))
        guard let compiled = try? CompiledMapping(mapping) else { return }
        _ = try? compiled.apply(to: Samples.payload)
    }

    // MARK: mapping

    /// A mapping-kit mapping (JSON text) validated, then applied to a sample payload.
    static func mapping(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONParser.parse(bytes.assumingMemoryBound(to: UInt8.self)), case .object = json else {
            return
        }
        guard let compiled = try? CompiledMapping(json) else { return }
        _ = try? compiled.apply(to: Samples.payload)
        _ = try? CompiledDestinationMapping(
            MappingDefinition(name: "m", condition: "", matches: [], enrichments: [], fields: json))
    }

    // MARK: conditions

    /// "condition\nevent": the condition decides the same on the tape as on the tree (or both go over budget).
    static func conditions(_ bytes: UnsafeRawBufferPointer) {
        guard let newline = bytes.firstIndex(of: 0x0A) else { return }
        let condition = String(decoding: bytes[..<newline], as: UTF8.self)
        let event = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
        guard
            let mapping = try? CompiledDestinationMapping(
                MappingDefinition(
                    name: "m", condition: condition, matches: [], enrichments: [], fields: nil
                ))
        else { return }
        let buffer = event.assumingMemoryBound(to: UInt8.self)
        guard let parsed = try? JSONParser.parse(buffer), case .object = parsed else { return }
        let tree = mapping.apply(to: MappingValue(parsed)) { _, _ in .noKey }
        var tape = JSONTape()
        guard tape.parse(buffer) else { fatalError("the tape refuses what the parser accepts") }
        var scratch = TapeScratch()
        let onTape = tape.withView(buffer) { view in
            mapping.apply(to: TapeEvent(view), rows: NoRows(), scratch: &scratch)
        }
        guard tree.conditionMatched == onTape.conditionMatched, (tree.error != nil) == (onTape.error != nil) else {
            fatalError("the condition decides differently on the tape")
        }
    }

    struct NoRows: TapeRows {
        func row(match: Int, key: TapeKey) -> Int? { nil }
        func write(enrichment: Int, row: Int, into output: inout [UInt8]) {}
    }
}

enum Samples {
    static let text =
        #"{"type":"track","event":"Order Completed","userId":"u1","properties":{"sku":"SKU-1","price":9.5,"tags":["a","b"],"nested":{"deep":[1,{"x":null}]}},"traits":{"plan":"pro","email":"a@b.c"},"context":{"ip":"1.2.3.4"}}"#
    static let json = try! JSONParser.parse(text)  // A constant that parses.
    static let event = MappingValue(json)
    static let payload = json
}

extension JSONValue {
    /// NaN never equals itself, so round trips through it compare unequal; it cannot come from JSON text but
    /// can from overflow arithmetic in tests.
    var containsNaN: Bool {
        switch self {
        case .double(let value): value.isNaN
        case .array(let elements): elements.contains { $0.containsNaN }
        case .object(let object): object.entries.contains { $0.value.containsNaN }
        default: false
        }
    }

    /// `1e400` parses to infinity, which JSON cannot write (it becomes null).
    var containsNonFinite: Bool {
        switch self {
        case .double(let value): !value.isFinite
        case .array(let elements): elements.contains { $0.containsNonFinite }
        case .object(let object): object.entries.contains { $0.value.containsNonFinite }
        default: false
        }
    }
}
