package import Catalog
import RPCCall
import RPCCore
import Synchronization
import SystemCrypto

/// Checks bearer tokens for the call layer and keeps them: valid tokens are cached in memory by the hex SHA-256
/// of their secret (computed with libcrypto), so a check is a hash and a dictionary lookup; connections cache
/// the last token they accepted on top of that (`CallAuthenticator`), and every change here bumps `generation`
/// so those caches look again.
package final class TokenAuthority: Sendable {
    private let catalog: Catalog
    private let now: @Sendable () -> Int64
    private let byHash: Mutex<[String: TokenRecord]>
    private let changes = Atomic<UInt64>(0)

    /// Loads every token from the catalog.
    package init(catalog: Catalog, now: @escaping @Sendable () -> Int64) throws {
        self.catalog = catalog
        self.now = now
        self.byHash = Mutex(Dictionary(uniqueKeysWithValues: try catalog.tokens().map { ($0.secretHash, $0) }))
    }

    /// Whether any token exists (a fresh install has none until bootstrap).
    package var hasTokens: Bool { self.byHash.withLock { !$0.isEmpty } }

    /// Changes whenever a token is created or revoked.
    package var generation: UInt64 { self.changes.load(ordering: .acquiring) }

    /// The hex SHA-256 of a secret, as the catalog stores it.
    static func hash(_ secret: UnsafeRawBufferPointer) -> String { SystemCrypto.hex(SystemCrypto.sha256(secret)) }

    static func hash(_ secret: String) -> String { SystemCrypto.hex(SystemCrypto.sha256(secret)) }

    /// Makes a random secret: "enr_" and 48 hex digits (192 bits from the system's CSPRNG).
    static func makeSecret() -> String { "enr_" + SystemCrypto.hex(SystemCrypto.randomBytes(24)) }

    static func makeID() -> String { "tok_" + SystemCrypto.hex(SystemCrypto.randomBytes(6)) }

    /// Creates the first owner token when there is none: `secret` if given, a new random one otherwise.
    /// - Returns: the secret when a token was created, nil when tokens already existed.
    package func bootstrap(secret: String?) throws -> String? {
        guard !self.hasTokens else { return nil }
        let secret = secret ?? Self.makeSecret()
        _ = try self.create(name: "owner", role: .workspaceOwner, ttlSeconds: 0, secret: secret)
        return secret
    }

    /// Stores a new token and returns its record.
    func create(name: String, role: Role, ttlSeconds: UInt64, secret: String) throws -> TokenRecord {
        let now = self.now()
        let record = TokenRecord(
            id: Self.makeID(), name: name, role: role.rawValue, secretHash: Self.hash(secret),
            createdAtMilliseconds: now,
            expiresAtMilliseconds: ttlSeconds == 0 ? nil : now + Int64(clamping: ttlSeconds) * 1_000
        )
        try self.catalog.createToken(record)
        self.byHash.withLock { $0[record.secretHash] = record }
        self.changes.add(1, ordering: .releasing)
        return record
    }

    func revoke(id: String) throws -> TokenRecord {
        let record = try self.catalog.revokeToken(id: id, at: self.now())
        self.byHash.withLock { $0[record.secretHash] = record }
        self.changes.add(1, ordering: .releasing)
        return record
    }

    /// The token's record when it is valid now.
    /// - Throws: `RPCError(.unauthenticated)` naming what is wrong (missing, malformed, unknown, expired, revoked).
    func record(forToken token: UnsafeRawBufferPointer) throws(RPCError) -> TokenRecord {
        guard !token.isEmpty else {
            throw RPCError(.unauthenticated, "missing token: send \"authorization: Bearer <token>\"")
        }
        // Tokens are printable ASCII; a control byte (a NUL once let "token\0garbage" through) is refused outright.
        guard token.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw RPCError(.unauthenticated, "malformed token: it contains a control, space or non-ASCII byte")
        }
        guard let record = self.byHash.withLock({ $0[Self.hash(token)] }) else {
            throw RPCError(.unauthenticated, "unknown token")
        }
        if record.revokedAtMilliseconds != nil { throw RPCError(.unauthenticated, "token \(record.id) was revoked") }
        if let expiry = record.expiresAtMilliseconds, expiry <= self.now() {
            throw RPCError(.unauthenticated, "token \(record.id) has expired")
        }
        return record
    }

    /// A token's record by id, from the catalog.
    func token(id: String) -> TokenRecord? { (try? self.catalog.tokens())?.first { $0.id == id } }

    func nowMilliseconds() -> Int64 { self.now() }
}

/// The call layer's authenticator: tokens from `TokenAuthority`, refusals of writes into the audit trail.
struct ServicesAuthenticator: CallAuthenticator {
    let authority: TokenAuthority
    let audit: AuditLog

    var generation: UInt64 { self.authority.generation }

    func authenticate(token: UnsafeRawBufferPointer) throws(RPCError) -> AuthenticatedToken {
        let record = try self.authority.record(forToken: token)
        guard let role = Role(rawValue: record.role) else {
            throw RPCError(
                .permissionDenied, "token \(record.id) has role '\(record.role)', which this server does not know")
        }
        return AuthenticatedToken(
            principal: Principal(tokenID: record.id, tokenName: record.name, role: record.role, roleBit: role.bit),
            expiresAtMilliseconds: record.expiresAtMilliseconds
        )
    }

    func refused(_ context: ServerContext, error: RPCError) { self.audit.refused(context, error: error) }

    func nowMilliseconds() -> Int64 { self.authority.nowMilliseconds() }
}
