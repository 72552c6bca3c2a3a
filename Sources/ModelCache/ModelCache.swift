import Synchronization

/// The snapshots being served, one per model, swapped whole when a sync publishes.
///
/// Readers take the lock only to fetch a snapshot reference; they never hold it while using the snapshot, and
/// publishing never waits on readers.
public final class ModelCache: Sendable {
    private let snapshots = Mutex<[String: ModelSnapshot]>([:])

    public init() {}

    /// The snapshot of `model` being served, or nil when none was ever published.
    public func snapshot(of model: String) -> ModelSnapshot? { self.snapshots.withLock { $0[model] } }

    /// Serves `snapshot` from now on, replacing the model's previous one.
    public func publish(_ snapshot: ModelSnapshot) { self.snapshots.withLock { $0[snapshot.model] = snapshot } }

    /// Stops serving `model`.
    public func remove(model: String) { _ = self.snapshots.withLock { $0.removeValue(forKey: model) } }

    /// The models being served.
    public var models: [String] { self.snapshots.withLock { Array($0.keys) } }
}
