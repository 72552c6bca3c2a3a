import Catalog
import RPCCore
import RPCMessages

/// Admin RPCs for API tokens: create (the secret is returned once), list (never the secret), revoke.
struct TokenService: Sendable {
    let authority: TokenAuthority
    let catalog: Catalog
    let limits: Limits

    func register(into registry: inout ServiceRegistry) {
        registry.unary(Methods.createToken) { (request: CreateTokenRequest, _) in
            try Validation.name(request.name, kind: "token", limit: self.limits.maxNameBytes)
            guard let role = Role(rawValue: request.role) else {
                throw RPCError(.invalidArgument, "unknown role '\(request.role)'; roles: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard request.ttlSeconds <= Self.maxTTLSeconds else {
                throw RPCError(.invalidArgument, "ttl_seconds \(request.ttlSeconds) exceeds \(Self.maxTTLSeconds) (10 years)")
            }
            let secret = TokenAuthority.makeSecret()
            let record = try self.authority.create(name: request.name, role: role, ttlSeconds: request.ttlSeconds, secret: secret)
            return CreateTokenResponse(token: Self.message(record), secret: secret)
        }
        registry.unary(Methods.listTokens) { (_: ListTokensRequest, _) in
            ListTokensResponse(tokens: try self.catalog.tokens().map(Self.message))
        }
        registry.unary(Methods.revokeToken) { (request: RevokeTokenRequest, _) in
            Self.message(try self.authority.revoke(id: request.id))
        }
    }

    /// Longest lifetime a token may be given.
    static let maxTTLSeconds: UInt64 = 10 * 365 * 86_400

    static func message(_ record: TokenRecord) -> Token {
        Token(
            id: record.id, name: record.name, role: record.role, createdAtMilliseconds: record.createdAtMilliseconds,
            expiresAtMilliseconds: record.expiresAtMilliseconds ?? 0, revokedAtMilliseconds: record.revokedAtMilliseconds ?? 0
        )
    }
}
