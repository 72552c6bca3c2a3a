import DequeModule
import Synchronization

/// Runs the calls that cannot be bounded tightly enough for an event loop (catalog and warehouse work, Liquid
/// rendering): at most `maxRunning` at once, at most `maxQueued` waiting, and nothing beyond that — a full pool
/// refuses, and the call layer answers RESOURCE_EXHAUSTED, instead of letting a queue grow without bound.
public final class WorkPool: Sendable {
    public let maxRunning: Int
    public let maxQueued: Int

    private struct State {
        var running = 0
        var queue = Deque<@Sendable () async -> Void>()
    }

    private let state = Mutex(State())

    public init(maxRunning: Int, maxQueued: Int) {
        precondition(maxRunning > 0 && maxQueued >= 0, "a work pool needs at least one runner")
        self.maxRunning = maxRunning
        self.maxQueued = maxQueued
    }

    /// Calls running and waiting now.
    public var load: (running: Int, queued: Int) { self.state.withLock { ($0.running, $0.queue.count) } }

    /// Starts `work` now, or queues it behind the running calls.
    /// - Returns: false, doing nothing, when the queue is full.
    public func submit(_ work: @escaping @Sendable () async -> Void) -> Bool {
        let start: Bool? = self.state.withLock { state in
            if state.running < self.maxRunning {
                state.running += 1
                return true
            }
            guard state.queue.count < self.maxQueued else { return nil }
            state.queue.append(work)
            return false
        }
        guard let start else { return false }
        if start { self.run(work) }
        return true
    }

    private func run(_ work: @escaping @Sendable () async -> Void) {
        Task {
            var next: (@Sendable () async -> Void)? = work
            // One task drains the queue while there is work, so a burst costs one task per runner, not per call.
            while let current = next {
                await current()
                next = self.state.withLock { state in
                    if let queued = state.queue.popFirst() { return queued }
                    state.running -= 1
                    return nil
                }
            }
        }
    }
}
