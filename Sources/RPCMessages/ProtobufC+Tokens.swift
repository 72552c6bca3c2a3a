import CProtos

// Bridges the token messages of admin.proto, to the pattern of ProtobufC+Admin.swift.

extension Token: ProtobufCBridged {
    static let protoName = "enrich.v1.Token"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__Token>) { enrich__v1__token__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__Token>? { enrich__v1__token__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__Token>) {
        self.init(
            id: readString(m.pointee.id),
            name: readString(m.pointee.name),
            role: readString(m.pointee.role),
            createdAtMilliseconds: m.pointee.created_at_ms,
            expiresAtMilliseconds: m.pointee.expires_at_ms,
            revokedAtMilliseconds: m.pointee.revoked_at_ms
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__Token>, _ arena: CArena) {
        m.pointee.id = arena.string(self.id)
        m.pointee.name = arena.string(self.name)
        m.pointee.role = arena.string(self.role)
        m.pointee.created_at_ms = self.createdAtMilliseconds
        m.pointee.expires_at_ms = self.expiresAtMilliseconds
        m.pointee.revoked_at_ms = self.revokedAtMilliseconds
    }
}

extension CreateTokenRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.CreateTokenRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__CreateTokenRequest>) { enrich__v1__create_token_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__CreateTokenRequest>? { enrich__v1__create_token_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__CreateTokenRequest>) {
        self.init(
            name: readString(m.pointee.name),
            role: readString(m.pointee.role),
            ttlSeconds: m.pointee.ttl_seconds
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__CreateTokenRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.role = arena.string(self.role)
        m.pointee.ttl_seconds = self.ttlSeconds
    }
}

extension CreateTokenResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.CreateTokenResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__CreateTokenResponse>) { enrich__v1__create_token_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__CreateTokenResponse>? { enrich__v1__create_token_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__CreateTokenResponse>) {
        self.init(
            token: m.pointee.token.map { Token(c: $0) },
            secret: readString(m.pointee.secret)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__CreateTokenResponse>, _ arena: CArena) {
        m.pointee.token = self.token.map { arena.message($0) }
        m.pointee.secret = arena.string(self.secret)
    }
}

extension ListTokensRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListTokensRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListTokensRequest>) { enrich__v1__list_tokens_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListTokensRequest>? { enrich__v1__list_tokens_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListTokensRequest>) { self.init() }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListTokensRequest>, _ arena: CArena) {}
}

extension ListTokensResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListTokensResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListTokensResponse>) { enrich__v1__list_tokens_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListTokensResponse>? { enrich__v1__list_tokens_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListTokensResponse>) {
        self.init(
            tokens: readMessages(m.pointee.n_tokens, m.pointee.tokens, as: Token.self)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListTokensResponse>, _ arena: CArena) {
        m.pointee.n_tokens = self.tokens.count
        m.pointee.tokens = arena.messages(self.tokens)
    }
}

extension RevokeTokenRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.RevokeTokenRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__RevokeTokenRequest>) { enrich__v1__revoke_token_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__RevokeTokenRequest>? { enrich__v1__revoke_token_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__RevokeTokenRequest>) {
        self.init(
            id: readString(m.pointee.id)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__RevokeTokenRequest>, _ arena: CArena) {
        m.pointee.id = arena.string(self.id)
    }
}
