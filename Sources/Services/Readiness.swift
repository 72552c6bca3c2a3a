import Synchronization

/// Whether the server is ready for traffic, and why not: what the HTTP `/readyz` answers and the Health RPC
/// reports. Worked out off the event loops (`EnrichServer`'s monitor, once a second: the catalog reads, every model
/// with a schedule has a snapshot loaded) and read by both without blocking; draining turns it off at once.
package final class Readiness: Sendable {
    package struct Report: Sendable, Equatable {
        package var ready: Bool { self.reasons.isEmpty }
        package var reasons: [String]
        /// Milliseconds since the epoch of the last check (0: none yet).
        package var checkedAtMilliseconds: Int64
    }

    private struct State {
        var reasons: [String] = ["starting: models are not checked yet"]
        var checkedAt: Int64 = 0
        var draining = false
    }

    private let state = Mutex(State())

    package init() {}

    /// Records a check: `reasons` empty means ready (unless draining).
    package func update(reasons: [String], at milliseconds: Int64) {
        self.state.withLock { state in
            state.reasons = reasons
            state.checkedAt = milliseconds
        }
    }

    /// The server is stopping: not ready from now on, whatever the checks say.
    package func setDraining() { self.state.withLock { $0.draining = true } }

    package var report: Report {
        self.state.withLock { state in
            Report(
                reasons: (state.draining ? ["draining: the server is stopping"] : []) + state.reasons,
                checkedAtMilliseconds: state.checkedAt)
        }
    }
}
