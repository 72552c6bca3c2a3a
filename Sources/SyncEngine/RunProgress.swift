import Catalog
import Synchronization

/// The live state of one run and the watchers following it. Updated from the scan thread, read by RPCs.
final class RunProgress: Sendable {
    private struct State {
        var run: SyncRunRecord
        var watchers: [Int: AsyncStream<SyncRunRecord>.Continuation] = [:]
        var nextWatcher = 0
        var cancelled = false
        var interrupted = false
    }

    private let state: Mutex<State>

    init(run: SyncRunRecord) { self.state = Mutex(State(run: run)) }

    var run: SyncRunRecord { self.state.withLock { $0.run } }

    var isCancelled: Bool { self.state.withLock { $0.cancelled } }

    func cancel() { self.state.withLock { $0.cancelled = true } }

    /// Whether the run was stopped because the server is stopping (it runs again at the next start).
    var isInterrupted: Bool { self.state.withLock { $0.interrupted } }

    /// Stops the run because the server is stopping.
    func interrupt() {
        self.state.withLock { state in
            state.cancelled = true
            state.interrupted = true
        }
    }

    /// Changes the run and tells every watcher; a finished run ends their streams.
    func update(_ change: (inout SyncRunRecord) -> Void) {
        let (run, watchers) = self.state.withLock { state in
            change(&state.run)
            return (state.run, Array(state.watchers.values))
        }
        for watcher in watchers {
            watcher.yield(run)
            if run.isFinished { watcher.finish() }
        }
    }

    /// A stream that starts with the current state and ends when the run finishes.
    func watch() -> AsyncStream<SyncRunRecord> {
        let (stream, continuation) = AsyncStream<SyncRunRecord>.makeStream(bufferingPolicy: .bufferingNewest(8))
        let run = self.state.withLock { state in
            if !state.run.isFinished {
                let id = state.nextWatcher
                state.nextWatcher += 1
                state.watchers[id] = continuation
                continuation.onTermination = { [weak self] _ in
                    _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
                }
            }
            return state.run
        }
        continuation.yield(run)
        if run.isFinished { continuation.finish() }
        return stream
    }
}
