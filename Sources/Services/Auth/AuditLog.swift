import Catalog
import EventJSON
import Logging
import RPCCall
import RPCCore
import RPCMessages
import Synchronization

/// Records every admin write, and every refused attempt at one, in the catalog's audit trail: who (token id
/// and name), what (RPC, object, before and after without secrets), when, from where, and the outcome.
struct AuditLog: Sendable {
    let catalog: Catalog
    let now: @Sendable () -> Int64
    let refusals: RefusalRecorder
    let logger: Logger

    init(catalog: Catalog, now: @escaping @Sendable () -> Int64, maxQueuedRefusals: Int, logger: Logger) {
        self.catalog = catalog
        self.now = now
        self.logger = logger
        self.refusals = RefusalRecorder(catalog: catalog, now: now, maxQueued: maxQueuedRefusals, logger: logger)
    }

    /// The RPCs that change something: those the proto marks `@write`.
    static let writeMethods: Set<String> = Set(Methods.all.filter(\.isWrite).map(\.fullName))

    private func record(_ context: ServerContext, object: String, before: String, after: String, error: (any Error)?) {
        let who = (id: context.principal?.tokenID ?? "", name: context.principal?.tokenName ?? "")
        let status: (Int, String) =
            switch error {
            case nil: (0, "")
            case let error as RPCError: (Int(error.code.rawValue), error.message)
            case let error as any RPCErrorConvertible: (Int(error.rpcError.code.rawValue), error.rpcError.message)
            default: (Int(StatusCode.internalError.rawValue), "internal error")
            }
        let event = AuditRecord(
            atMilliseconds: self.now(), tokenID: who.id, tokenName: who.name, peer: context.peer,
            method: context.method.fullName, object: object, before: before, after: after,
            outcomeCode: status.0, outcomeMessage: status.1
        )
        // One log line per admin write, with its outcome and the request it answers.
        self.logger.notice(
            "\(event.method) \(object): \(status.0 == 0 ? "OK" : status.1)",
            metadata: ["request": "\(context.requestID)", "token": "\(who.name)", "peer": "\(context.peer)"])
        // The trail must not make a successful write fail, but a record it could not keep is said in the log.
        do { try self.catalog.recordAudit(event) } catch {
            self.logger.error("cannot record the audit event of \(event.method) on \(event.object): \(error)")
        }
    }

    /// A call refused before it ran (no token, a bad token, a role without the right). Called on an event loop:
    /// the record is queued for `refusals` to write, never written here.
    func refused(_ context: ServerContext, error: RPCError) {
        guard Self.writeMethods.contains(context.method.fullName) else { return }
        let who = (id: context.principal?.tokenID ?? "", name: context.principal?.tokenName ?? "")
        self.refusals.enqueue(
            AuditRecord(
                atMilliseconds: self.now(), tokenID: who.id, tokenName: who.name, peer: context.peer,
                method: context.method.fullName, object: "", before: "", after: "",
                outcomeCode: Int(error.code.rawValue), outcomeMessage: error.message
            ))
    }

    /// Runs a write and records it, whether it succeeds or fails. `before` reads the object's state first;
    /// `body` returns the result and the object's state after.
    ///
    /// The body runs with the call's deadline as the catalog's commit deadline: a transaction that would commit
    /// after it rolls back instead, so the answer is the truth — committed and OK, or not committed and
    /// DEADLINE_EXCEEDED — however late it arrives.
    func write<Result: Sendable>(
        _ context: ServerContext, object: String, before: () -> String,
        _ body: () async throws -> (Result, after: String)
    ) async throws -> Result {
        let previous = before()
        // Refusals queued before this write go into the trail before it, keeping the trail in causal order.
        self.refusals.writePending()
        do {
            let (result, after) = try await CommitDeadline.$current.withValue(context.deadline) { try await body() }
            self.record(context, object: object, before: previous, after: after, error: nil)
            return result
        } catch {
            self.record(context, object: object, before: previous, after: "", error: error)
            throw error
        }
    }

    // MARK: - Object states, without secrets

    static func json(_ model: ModelRecord?) -> String {
        guard let model else { return "" }
        return JSONWriter.string(
            .object(
                JSONObject([
                    ("name", .string(model.name)), ("warehouse", .string(model.warehouse)),
                    ("table", .string(model.sourceTable)),
                    ("query", .string(model.sourceQuery)), ("primary_key", .string(model.primaryKey)),
                    ("version", .int(model.version)),
                    ("columns", .array(model.columns.map { .string("\($0.name):\($0.type)") })),
                ])))
    }

    static func json(_ destination: DestinationRecord?) -> String {
        guard let destination else { return "" }
        return JSONWriter.string(
            .object(
                JSONObject([
                    ("name", .string(destination.name)), ("version", .int(destination.version)),
                    (
                        "mappings",
                        .array(
                            destination.mappings.map { mapping in
                                .object(
                                    JSONObject([
                                        ("name", .string(mapping.name)), ("condition", .string(mapping.condition)),
                                        (
                                            "models",
                                            .array(mapping.matches.map { .string("\($0.model)<-\($0.matchProperty)") })
                                        ),
                                        (
                                            "enrichments",
                                            .array(
                                                mapping.enrichments.map {
                                                    .string("\($0.model).\($0.column)->\($0.key)")
                                                })
                                        ),
                                        ("fields", (try? JSONParser.parse(mapping.fieldsJSON)) ?? .null),
                                    ]))
                            })
                    ),
                ])))
    }

    /// A warehouse's settings: whether a password is stored, never the password.
    static func json(_ warehouse: WarehouseRecord?) -> String {
        guard let warehouse else { return "" }
        return JSONWriter.string(
            .object(
                JSONObject([
                    ("name", .string(warehouse.name)), ("kind", .string(warehouse.kind)),
                    ("connection", .string(warehouse.connection)),
                    ("has_password", .bool(!warehouse.password.isEmpty)), ("version", .int(warehouse.version)),
                ])))
    }

    /// A token's public record: never the secret or its hash.
    static func json(_ token: TokenRecord?) -> String {
        guard let token else { return "" }
        return JSONWriter.string(
            .object(
                JSONObject([
                    ("id", .string(token.id)), ("name", .string(token.name)), ("role", .string(token.role)),
                    ("expires_at_ms", token.expiresAtMilliseconds.map { .int($0) } ?? .null),
                    ("revoked_at_ms", token.revokedAtMilliseconds.map { .int($0) } ?? .null),
                ])))
    }
}

/// Writes refused attempts into the audit trail off the event loops, at a bounded cost: records wait in a queue
/// of at most `maxQueued` (`ServerLimits.maxQueuedAuditRefusals`) and are written by one task; a flood past that (a client hammering writes with a bad
/// token) is counted and summarised in one record per batch instead of costing a catalog write per attempt.
final class RefusalRecorder: Sendable {
    let maxQueued: Int
    private let catalog: Catalog
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private struct State {
        var queue: [AuditRecord] = []
        var dropped = 0
        var writing = false
    }
    private let state = Mutex(State())
    /// Held while records are written, so batches reach the catalog in the order they were taken.
    private let writer = Mutex(())

    init(catalog: Catalog, now: @escaping @Sendable () -> Int64, maxQueued: Int, logger: Logger) {
        self.maxQueued = maxQueued
        self.catalog = catalog
        self.now = now
        self.logger = logger
    }

    /// Writes what is queued now, on the caller's thread (a pool task about to record a write).
    func writePending() {
        guard self.state.withLock({ !$0.queue.isEmpty || $0.dropped > 0 }) else { return }
        self.writer.withLock { _ in
            let (batch, dropped) = self.state.withLock { state in
                defer {
                    state.queue.removeAll()
                    state.dropped = 0
                }
                return (state.queue, state.dropped)
            }
            self.write(batch, dropped: dropped)
        }
    }

    func enqueue(_ record: AuditRecord) {
        let start: Bool = self.state.withLock { state in
            if state.queue.count < self.maxQueued { state.queue.append(record) } else { state.dropped += 1 }
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if start { Task { self.drain() } }
    }

    private func drain() {
        while true {
            let more: Bool = self.writer.withLock { _ in
                let next: (batch: [AuditRecord], dropped: Int)? = self.state.withLock { state in
                    guard !state.queue.isEmpty || state.dropped > 0 else {
                        state.writing = false
                        return nil
                    }
                    defer {
                        state.queue.removeAll()
                        state.dropped = 0
                    }
                    return (state.queue, state.dropped)
                }
                guard let (batch, dropped) = next else { return false }
                self.write(batch, dropped: dropped)
                return true
            }
            if !more { return }
        }
    }

    private func write(_ batch: [AuditRecord], dropped: Int) {
        for record in batch {
            // Said in the log as well, off the event loops, as many as the trail keeps one by one.
            self.logger.notice(
                "\(record.method) refused: \(record.outcomeMessage)",
                metadata: ["token": "\(record.tokenName)", "peer": "\(record.peer)"])
            do { try self.catalog.recordAudit(record) } catch {
                self.logger.error("cannot record a refused \(record.method) in the audit trail: \(error)")
            }
        }
        guard dropped > 0 else { return }
        self.logger.warning("\(dropped) further refused admin writes were not recorded one by one")
        _ = try? self.catalog.recordAudit(
            AuditRecord(
                atMilliseconds: self.now(), tokenID: "", tokenName: "", peer: "", method: "", object: "", before: "",
                after: "",
                outcomeCode: Int(StatusCode.resourceExhausted.rawValue),
                outcomeMessage:
                    "\(dropped) further refused attempts were not recorded one by one (more than \(self.maxQueued) waiting)"
            ))
    }

    /// Waits until every queued refusal is written (tests).
    func flushed() async {
        while self.state.withLock({ $0.writing }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}
