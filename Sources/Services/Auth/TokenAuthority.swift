public import Catalog
public import RPCCore
import Synchronization

/// Checks bearer tokens and roles for every call. Valid tokens are cached by hash in memory, so the check on
/// the hot path is a hash of the token and a dictionary lookup; writes through this type refresh the cache.
public final class TokenAuthority: Sendable {
    private let catalog: Catalog
    private let now: @Sendable () -> Int64
    private let byHash: Mutex<[String: TokenRecord]>

    /// Loads every token from the catalog.
    public init(catalog: Catalog, now: @escaping @Sendable () -> Int64) throws {
        self.catalog = catalog
        self.now = now
        self.byHash = Mutex(Dictionary(uniqueKeysWithValues: try catalog.tokens().map { ($0.secretHash, $0) }))
    }

    /// Whether any token exists (a fresh install has none until bootstrap).
    public var hasTokens: Bool { self.byHash.withLock { !$0.isEmpty } }

    /// Makes a random secret: "enr_" and 48 hex digits (192 bits from the system's CSPRNG).
    static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return "enr_" + String((0..<48).map { _ in digits[Int(generator.next() % 16)] })
    }

    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return "tok_" + String((0..<12).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// Creates the first owner token when there is none: `secret` if given, a new random one otherwise.
    /// - Returns: the secret when a token was created, nil when tokens already existed.
    public func bootstrap(secret: String?) throws -> String? {
        guard !self.hasTokens else { return nil }
        let secret = secret ?? Self.makeSecret()
        _ = try self.create(name: "owner", role: .workspaceOwner, ttlSeconds: 0, secret: secret)
        return secret
    }

    /// Stores a new token and returns its record.
    func create(name: String, role: Role, ttlSeconds: UInt64, secret: String) throws -> TokenRecord {
        let now = self.now()
        let record = TokenRecord(
            id: Self.makeID(), name: name, role: role.rawValue, secretHash: SHA256.hex(secret), createdAtMilliseconds: now,
            expiresAtMilliseconds: ttlSeconds == 0 ? nil : now + Int64(clamping: ttlSeconds) * 1_000
        )
        try self.catalog.createToken(record)
        self.byHash.withLock { $0[record.secretHash] = record }
        return record
    }

    func revoke(id: String) throws -> TokenRecord {
        let record = try self.catalog.revokeToken(id: id, at: self.now())
        self.byHash.withLock { $0[record.secretHash] = record }
        return record
    }

    /// The token's record when it is valid now.
    /// - Throws: `RPCError(.unauthenticated)` naming what is wrong (missing, unknown, expired, revoked).
    func authenticate(_ bearer: String?) throws(RPCError) -> TokenRecord {
        guard let bearer, !bearer.isEmpty else {
            throw RPCError(.unauthenticated, "missing token: send \"authorization: Bearer <token>\"")
        }
        guard let record = self.byHash.withLock({ $0[SHA256.hex(bearer)] }) else {
            throw RPCError(.unauthenticated, "unknown token")
        }
        if record.revokedAtMilliseconds != nil { throw RPCError(.unauthenticated, "token \(record.id) was revoked") }
        if let expiry = record.expiresAtMilliseconds, expiry <= self.now() {
            throw RPCError(.unauthenticated, "token \(record.id) has expired")
        }
        return record
    }

    /// Who a bearer token belongs to, for the audit trail: its id and name, or empty strings when it is not a
    /// known token. Never fails.
    func identity(_ bearer: String?) -> (id: String, name: String) {
        guard let bearer, let record = self.byHash.withLock({ $0[SHA256.hex(bearer)] }) else { return ("", "") }
        return (record.id, record.name)
    }

    /// A token's record by id, from the catalog.
    func token(id: String) -> TokenRecord? { (try? self.catalog.tokens())?.first { $0.id == id } }

    /// The check the transport runs before every call.
    public func authorize(_ context: ServerContext) throws(RPCError) {
        let method = context.method.fullName
        if Permissions.open.contains(method) { return }
        let record = try self.authenticate(context.bearerToken)
        guard let allowed = Permissions.table[method] else {
            throw RPCError(.permissionDenied, "\(method) is not open to any role")
        }
        guard let role = Role(rawValue: record.role), allowed.contains(role) else {
            throw RPCError(.permissionDenied, "role \(record.role) may not call \(method)")
        }
    }
}
