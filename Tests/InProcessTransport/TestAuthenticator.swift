package import RPCCall
package import RPCCore
import Synchronization

/// An authenticator for tests: a fixed table from token to caller, and a generation the test can bump.
package final class TestAuthenticator: CallAuthenticator {
    private let tokens: Mutex<[String: AuthenticatedToken]>
    private let changes = Atomic<UInt64>(0)
    private let lookups = Atomic<Int>(0)
    private let refusals = Mutex<[String]>([])

    /// `tokens`: secret → role bit. Each gets a principal named after its secret.
    package init(tokens: [String: RoleSet] = [:]) {
        self.tokens = Mutex(
            tokens.reduce(into: [:]) { table, entry in
                table[entry.key] = AuthenticatedToken(
                    principal: Principal(
                        tokenID: "tok_\(entry.key)", tokenName: entry.key, role: "role\(entry.value.rawValue)",
                        roleBit: entry.value),
                    expiresAtMilliseconds: nil
                )
            })
    }

    package var generation: UInt64 { self.changes.load(ordering: .acquiring) }

    /// How many times a token was looked up here (connection caches skip this).
    package var lookupCount: Int { self.lookups.load(ordering: .relaxed) }

    /// Refused writes reported for the audit trail, as "method: message".
    package var refused: [String] { self.refusals.withLock { $0 } }

    package func authenticate(token: UnsafeRawBufferPointer) throws(RPCError) -> AuthenticatedToken {
        self.lookups.add(1, ordering: .relaxed)
        guard !token.isEmpty else { throw RPCError(.unauthenticated, "missing token") }
        let text = String(decoding: token, as: UTF8.self)
        guard let accepted = self.tokens.withLock({ $0[text] }) else {
            throw RPCError(.unauthenticated, "unknown token")
        }
        return accepted
    }

    /// Removes a token, as a revocation does.
    package func revoke(_ token: String) {
        _ = self.tokens.withLock { $0.removeValue(forKey: token) }
        self.changes.add(1, ordering: .releasing)
    }

    package func refused(_ context: ServerContext, error: RPCError) {
        self.refusals.withLock { $0.append("\(context.method.fullName): \(error.message)") }
    }

    package func nowMilliseconds() -> Int64 { 0 }
}
