import Catalog
import RPCCall
import RPCCore
import RPCMessages

/// Admin RPCs for API tokens: create (the secret is returned once), list (never the secret), revoke.
struct TokenService: Sendable {
    let authority: TokenAuthority
    let catalog: Catalog
    let limits: Limits
    let audit: AuditLog

    func register(into registry: inout Router) {
        registry.unary(Methods.createToken) { (request: CreateTokenRequest, context) in
            try await self.audit.write(context, object: "token \(request.name)", before: { "" }) {
                try Validation.name(request.name, kind: "token", limit: self.limits.maxNameBytes)
                guard let role = Role(rawValue: request.role) else {
                    throw RPCError(
                        .invalidArgument,
                        "unknown role '\(request.role)'; roles: \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                guard request.ttlSeconds <= self.limits.maxTokenLifetimeSeconds else {
                    throw RPCError(
                        .invalidArgument,
                        "ttl_seconds \(request.ttlSeconds) exceeds \(self.limits.maxTokenLifetimeSeconds) (10 years)")
                }
                let secret = TokenAuthority.makeSecret()
                let record = try self.authority.create(
                    name: request.name, role: role, ttlSeconds: request.ttlSeconds, secret: secret)
                return (CreateTokenResponse(token: Self.message(record), secret: secret), AuditLog.json(record))
            }
        }
        registry.unary(Methods.listTokens) { (_: ListTokensRequest, _) in
            ListTokensResponse(tokens: try self.catalog.tokens().map(Self.message))
        }
        registry.unary(Methods.revokeToken) { (request: RevokeTokenRequest, context) in
            try await self.audit.write(
                context, object: "token \(request.id)", before: { AuditLog.json(self.authority.token(id: request.id)) }
            ) {
                let record = try self.authority.revoke(id: request.id)
                return (Self.message(record), AuditLog.json(record))
            }
        }
        registry.unary(Methods.listAudit) { (request: ListAuditRequest, _) in
            let limit = request.limit == 0 ? 100 : Int(request.limit)
            guard limit <= self.limits.maxPageSize else {
                throw RPCError(.invalidArgument, "limit \(limit) exceeds \(self.limits.maxPageSize)")
            }
            let events = try self.catalog.auditEvents(
                AuditFilter(
                    method: request.method.isEmpty ? nil : request.method,
                    tokenID: request.tokenID.isEmpty ? nil : request.tokenID,
                    object: request.object.isEmpty ? nil : request.object,
                    sinceMilliseconds: request.sinceMilliseconds == 0 ? nil : request.sinceMilliseconds,
                    beforeID: request.beforeID == 0 ? nil : Int64(clamping: request.beforeID), limit: limit
                ))
            return ListAuditResponse(
                events: events.map { event in
                    AuditEvent(
                        id: UInt64(event.id ?? 0), atMilliseconds: event.atMilliseconds, tokenID: event.tokenID,
                        tokenName: event.tokenName, peer: event.peer, method: event.method, object: event.object,
                        beforeJSON: event.before, afterJSON: event.after, outcomeCode: UInt32(event.outcomeCode),
                        outcomeMessage: event.outcomeMessage
                    )
                })
        }
    }

    static func message(_ record: TokenRecord) -> Token {
        Token(
            id: record.id, name: record.name, role: record.role, createdAtMilliseconds: record.createdAtMilliseconds,
            expiresAtMilliseconds: record.expiresAtMilliseconds ?? 0,
            revokedAtMilliseconds: record.revokedAtMilliseconds ?? 0
        )
    }
}
