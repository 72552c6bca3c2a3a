package import EventJSON
import Mapping
package import ModelCache

/// Enrich of a model's columns into events without a destination: the key read at a path, its row's cells
/// written at other paths. On the tape (`TapePlainEnrichment`): the values are spliced into the sender's bytes, so
/// nothing outside the enriched keys is rewritten. An event the tape refuses (not JSON, not an object, too large)
/// takes the tree path, which says why. One value per request, reused for every event of the batch.
package struct KeyedEnrichment {
    /// A column written at a path of the event.
    package struct Target {
        package var column: ColumnData
        package var path: JSONPath

        package init(column: ColumnData, path: JSONPath) {
            self.column = column
            self.path = path
        }
    }

    package let keyPath: JSONPath
    package let snapshot: ModelSnapshot
    package let targets: [Target]
    private let columns: [ColumnReference]
    private let maxEventBytes: Int
    private let plan: TapePlainEnrichment
    private var tape = JSONTape()
    private var scratch = TapeScratch()

    package init(keyPath: JSONPath, snapshot: ModelSnapshot, targets: [Target], maxEventBytes: Int) {
        self.keyPath = keyPath
        self.snapshot = snapshot
        self.targets = targets
        self.columns = targets.map { ColumnReference($0.column) }
        self.maxEventBytes = maxEventBytes
        self.plan = TapePlainEnrichment(keyPath: keyPath.components, targets: targets.map(\.path.components))
    }

    /// Enriches the event at `position` of the batch and writes its answer to `sink`.
    package mutating func enrich(_ bytes: UnsafeRawBufferPointer, position: Int, into sink: inout some EnrichmentSink) {
        if bytes.count <= self.maxEventBytes && self.enrichOnTape(bytes, into: &sink) { return }
        sink.append(self.enrichOnTree(bytes, position: position))
    }

    /// One event on the tree: parsed, looked up, written back whole (`JSONWriter`). The tape path's reference.
    package func enrichOnTree(_ bytes: UnsafeRawBufferPointer, position: Int) -> EventResult {
        var event: JSONValue
        switch EventParsing.object(bytes, position: position, maxEventBytes: self.maxEventBytes) {
        case .success(let value): event = value
        case .failure(let refusal): return refusal.result
        }
        let key: LookupKey
        switch event[path: self.keyPath] {
        case .string(let text): key = .string(text)
        case .int(let number): key = .int(number)
        case .double(let number) where number == number.rounded() && abs(number) < 9.2e18: key = .int(Int64(number))
        default: return EventResult(outcome: .notEnriched, reason: .noKey, event: Array(bytes))
        }
        guard let row = self.snapshot.row(for: key) else {
            return EventResult(outcome: .notEnriched, reason: .notFound, event: Array(bytes))
        }
        for target in self.targets { event.set(CellJSON.value(target.column, row: row), at: target.path) }
        return EventResult(outcome: .enriched, reason: .none, event: JSONWriter.bytes(event))
    }

    /// Enriches one event on the tape and writes its answer; false (nothing written) when the tape refuses it.
    private mutating func enrichOnTape(_ raw: UnsafeRawBufferPointer, into sink: inout some EnrichmentSink) -> Bool {
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        guard self.tape.parse(bytes), self.tape.nodes[0].kind == .object else { return false }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        self.scratch.startEvent()
        let snapshot = self.snapshot
        let plan = self.plan
        let columns = self.columns
        let (outcome, reason, output): (EnrichmentOutcome, EnrichmentMiss, Range<Int>?) = self.tape.withView(bytes) {
            view in
            let event = TapeEvent(view)
            guard let key = plan.key(in: event) else { return (.notEnriched, .noKey, nil) }
            let row: Int?
            switch key {
            case .utf8(let text):
                row =
                    snapshot.hasStringKeys
                    ? snapshot.row(forUTF8: UnsafeRawBufferPointer(text))
                    : snapshot.row(for: .string(String(decoding: text, as: UTF8.self)))
            case .string(let text): row = snapshot.row(for: .string(text))
            case .int(let number): row = snapshot.row(for: .int(number))
            }
            guard let row else { return (.notEnriched, .notFound, nil) }
            let spliced = plan.splice(event, scratch: &self.scratch) { target, output in
                CellJSON.write(columns[target], row: row, numbers: .exact, into: &output)
            }
            return (.enriched, .none, spliced)
        }
        let noMappings: (Int) -> MappingPart = { _ in preconditionFailure("no mappings") }
        if let output {
            self.scratch.outputs.withUnsafeBytes { outputs in
                sink.appendEvent(
                    outcome: outcome, reason: reason, event: UnsafeRawBufferPointer(rebasing: outputs[output]),
                    error: empty,
                    mappingCount: 0, mapping: noMappings
                )
            }
        } else {
            sink.appendEvent(
                outcome: outcome, reason: reason, event: raw, error: empty, mappingCount: 0, mapping: noMappings)
        }
        return true
    }
}
