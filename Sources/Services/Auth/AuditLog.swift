import Catalog
import EventJSON
import RPCCore
import RPCMessages

/// Records every admin write, and every refused attempt at one, in the catalog's audit trail: who (token id
/// and name), what (RPC, object, before and after without secrets), when, from where, and the outcome.
struct AuditLog: Sendable {
    let catalog: Catalog
    let authority: TokenAuthority
    let now: @Sendable () -> Int64

    /// The RPCs that change something.
    static let writeMethods: Set<String> = [
        Methods.createModel, Methods.updateModel, Methods.deleteModel, Methods.triggerSync, Methods.setSchedule,
        Methods.createDestination,
        Methods.updateDestination, Methods.deleteDestination, Methods.createToken, Methods.revokeToken,
        Methods.createWarehouse, Methods.updateWarehouse, Methods.deleteWarehouse,
    ].reduce(into: Set<String>()) { $0.insert($1.fullName) }

    private func record(_ context: ServerContext, object: String, before: String, after: String, error: (any Error)?) {
        let who = self.authority.identity(context.bearerToken)
        let status: (Int, String) = switch error {
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
        // The trail must not make a successful write fail; a storage error here is already logged by GRDB's caller.
        _ = try? self.catalog.recordAudit(event)
    }

    /// A call refused before it ran (no token, a bad token, a role without the right).
    func refused(_ context: ServerContext, error: RPCError) {
        guard Self.writeMethods.contains(context.method.fullName) else { return }
        self.record(context, object: "", before: "", after: "", error: error)
    }

    /// Runs a write and records it, whether it succeeds or fails. `before` reads the object's state first;
    /// `body` returns the result and the object's state after.
    func write<Result: Sendable>(
        _ context: ServerContext, object: String, before: () -> String,
        _ body: () async throws -> (Result, after: String)
    ) async throws -> Result {
        let previous = before()
        do {
            let (result, after) = try await body()
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
        return JSONWriter.string(.object(JSONObject([
            ("name", .string(model.name)), ("warehouse", .string(model.warehouse)), ("table", .string(model.sourceTable)),
            ("query", .string(model.sourceQuery)), ("primary_key", .string(model.primaryKey)), ("version", .int(model.version)),
            ("columns", .array(model.columns.map { .string("\($0.name):\($0.type)") })),
        ])))
    }

    static func json(_ destination: DestinationRecord?) -> String {
        guard let destination else { return "" }
        return JSONWriter.string(.object(JSONObject([
            ("name", .string(destination.name)), ("version", .int(destination.version)),
            ("mappings", .array(destination.mappings.map { mapping in
                .object(JSONObject([
                    ("name", .string(mapping.name)), ("condition", .string(mapping.condition)),
                    ("models", .array(mapping.matches.map { .string("\($0.model)<-\($0.matchProperty)") })),
                    ("enrichments", .array(mapping.enrichments.map { .string("\($0.model).\($0.column)->\($0.key)") })),
                    ("fields", (try? JSONParser.parse(mapping.fieldsJSON)) ?? .null),
                ]))
            })),
        ])))
    }

    /// A warehouse's settings: whether a password is stored, never the password.
    static func json(_ warehouse: WarehouseRecord?) -> String {
        guard let warehouse else { return "" }
        return JSONWriter.string(.object(JSONObject([
            ("name", .string(warehouse.name)), ("kind", .string(warehouse.kind)), ("connection", .string(warehouse.connection)),
            ("has_password", .bool(!warehouse.password.isEmpty)), ("version", .int(warehouse.version)),
        ])))
    }

    /// A token's public record: never the secret or its hash.
    static func json(_ token: TokenRecord?) -> String {
        guard let token else { return "" }
        return JSONWriter.string(.object(JSONObject([
            ("id", .string(token.id)), ("name", .string(token.name)), ("role", .string(token.role)),
            ("expires_at_ms", token.expiresAtMilliseconds.map { .int($0) } ?? .null),
            ("revoked_at_ms", token.revokedAtMilliseconds.map { .int($0) } ?? .null),
        ])))
    }
}
