/// API tokens; see admin.proto.
public struct Token: Sendable, Hashable {
    public var id: String
    public var name: String
    public var role: String
    public var createdAtMilliseconds: Int64
    public var expiresAtMilliseconds: Int64
    public var revokedAtMilliseconds: Int64
    public init(id: String = "", name: String = "", role: String = "", createdAtMilliseconds: Int64 = 0, expiresAtMilliseconds: Int64 = 0, revokedAtMilliseconds: Int64 = 0) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAtMilliseconds = createdAtMilliseconds
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.revokedAtMilliseconds = revokedAtMilliseconds
    }
}

public struct CreateTokenRequest: Sendable, Hashable {
    public var name: String
    public var role: String
    public var ttlSeconds: UInt64
    public init(name: String = "", role: String = "", ttlSeconds: UInt64 = 0) {
        self.name = name
        self.role = role
        self.ttlSeconds = ttlSeconds
    }
}

public struct CreateTokenResponse: Sendable, Hashable {
    public var token: Token?
    public var secret: String
    public init(token: Token? = nil, secret: String = "") {
        self.token = token
        self.secret = secret
    }
}

public struct ListTokensRequest: Sendable, Hashable {
    public init() {
    }
}

public struct ListTokensResponse: Sendable, Hashable {
    public var tokens: [Token]
    public init(tokens: [Token] = []) {
        self.tokens = tokens
    }
}

public struct RevokeTokenRequest: Sendable, Hashable {
    public var id: String
    public init(id: String = "") {
        self.id = id
    }
}
