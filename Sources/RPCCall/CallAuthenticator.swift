public import RPCCore

/// Checks tokens for the call layer. Implemented by the services (TokenAuthority), which own the token store.
///
/// Each connection keeps an `AuthCache`: the last token it accepted, with the authenticator's generation at the
/// time. A call carrying the same token while the generation is unchanged costs a byte comparison and a clock
/// read, no hash and no lock; a revocation bumps the generation, so the next call on every connection looks again.
public protocol CallAuthenticator: Sendable {
    /// Changes whenever a token is created, revoked or reloaded.
    var generation: UInt64 { get }
    /// The caller behind `token` (the bytes after "Bearer "), or why there is none.
    /// - Throws: `RPCError(.unauthenticated)` naming what is wrong (missing, malformed, unknown, expired,
    ///   revoked).
    func authenticate(token: UnsafeRawBufferPointer) throws(RPCError) -> AuthenticatedToken
    /// Told of every write refused before it ran, for the audit trail.
    func refused(_ context: ServerContext, error: RPCError)
    /// Milliseconds since the epoch, for token expiry (tests move it).
    func nowMilliseconds() -> Int64
}

/// A token the authenticator accepted: who it is and until when.
public struct AuthenticatedToken: Sendable {
    public let principal: Principal
    /// When the token stops being valid (milliseconds since the epoch), or nil when it does not expire.
    public let expiresAtMilliseconds: Int64?

    public init(principal: Principal, expiresAtMilliseconds: Int64?) {
        self.principal = principal
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }
}

/// One connection's memory of the last token it accepted.
struct AuthCache {
    var token: [UInt8] = []
    var generation: UInt64 = .max
    var accepted: AuthenticatedToken?

    /// The cached token when `token` is the same bytes, nothing changed since, and it has not expired.
    func hit(_ token: UnsafeRawBufferPointer, generation: UInt64, now: () -> Int64) -> AuthenticatedToken? {
        guard let accepted = self.accepted, generation == self.generation, token.count == self.token.count,
            self.token.withUnsafeBytes({ $0.elementsEqual(token) })
        else { return nil }
        if let expiry = accepted.expiresAtMilliseconds, expiry <= now() { return nil }
        return accepted
    }
}
