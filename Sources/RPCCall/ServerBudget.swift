public import RPCCore
import Synchronization

/// The bytes of requests in flight across the whole server, against `Limits.maxServerInFlightBytes`.
///
/// A connection counts a request's payload from the moment it is read until its call ends. While the server is
/// over its limit no connection reads more; each that stopped for that reason leaves a wake-up here, run (on its
/// own executor) once releases bring the total back under the limit.
public final class ServerBudget: Sendable {
    public let limit: Int
    private struct State {
        var inFlight = 0
        var waiters: [UInt64: @Sendable () -> Void] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let state = Mutex(State())

    public init(limit: Int) { self.limit = limit }

    /// Bytes in flight now.
    public var inFlight: Int { self.state.withLock { $0.inFlight } }

    /// Whether the server is over its limit.
    var isOver: Bool { self.state.withLock { $0.inFlight > self.limit } }

    /// Counts `bytes` of request data the server now holds.
    public func reserve(_ bytes: Int) {
        self.state.withLock { $0.inFlight += bytes }
    }

    /// Stops counting `bytes`; wakes the connections that waited for room once the total is under the limit.
    public func release(_ bytes: Int) {
        let wake: [@Sendable () -> Void] = self.state.withLock { state in
            state.inFlight -= bytes
            guard state.inFlight <= self.limit, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in wake { waiter() }
    }

    /// Leaves a wake-up for when the server is back under its limit; runs it at once if it already is.
    /// - Returns: a token to withdraw the wake-up with.
    func waitForRoom(_ wake: @escaping @Sendable () -> Void) -> UInt64 {
        let (token, now): (UInt64, Bool) = self.state.withLock { state in
            state.nextWaiter += 1
            if state.inFlight <= self.limit { return (state.nextWaiter, true) }
            state.waiters[state.nextWaiter] = wake
            return (state.nextWaiter, false)
        }
        if now { wake() }
        return token
    }

    func withdraw(_ token: UInt64) {
        _ = self.state.withLock { $0.waiters.removeValue(forKey: token) }
    }
}

/// Where the call layer reports calls, for metrics. Called on the connection's executor; keep it cheap.
public protocol CallMetrics: Sendable {
    func callStarted(method: Int)
    func callFinished(method: Int, code: StatusCode, nanoseconds: Int64)
    /// The longest a single inline slice held an event loop, reported when it sets a new record.
    func inlineSlice(nanoseconds: Int64)
}
