import Synchronization

/// The snapshots being served, one per model, swapped whole when a sync publishes.
///
/// Readers take the lock only to fetch a snapshot reference; they never hold it while using the snapshot, and
/// publishing never waits on readers.
package final class ModelCache: Sendable {
    private let snapshots = Mutex<[String: ModelSnapshot]>([:])

    package init() {}

    /// The snapshot of `model` being served, or nil when none was ever published.
    package func snapshot(of model: String) -> ModelSnapshot? { self.snapshots.withLock { $0[model] } }

    /// Serves `snapshot` from now on, replacing the model's previous one.
    package func publish(_ snapshot: ModelSnapshot) { self.snapshots.withLock { $0[snapshot.model] = snapshot } }

    /// Stops serving `model`.
    package func remove(model: String) { _ = self.snapshots.withLock { $0.removeValue(forKey: model) } }

    /// The models being served.
    package var models: [String] { self.snapshots.withLock { Array($0.keys) } }
}
