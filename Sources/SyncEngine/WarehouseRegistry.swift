import Synchronization
package import Warehouses

/// The warehouses models can read from, by name. Admin RPCs add, replace and remove them while syncs run: a
/// sync keeps the warehouse value it started with, so a change applies from the next run.
package final class WarehouseRegistry: Sendable {
    private let entries: Mutex<[String: any Warehouse]>

    package init(_ warehouses: [String: any Warehouse] = [:]) { self.entries = Mutex(warehouses) }

    package subscript(name: String) -> (any Warehouse)? { self.entries.withLock { $0[name] } }

    /// Adds or replaces `name`.
    package func set(_ name: String, _ warehouse: any Warehouse) { self.entries.withLock { $0[name] = warehouse } }

    package func remove(_ name: String) { _ = self.entries.withLock { $0.removeValue(forKey: name) } }

    /// Names and kinds, by name.
    package var kinds: [(name: String, kind: String)] {
        self.entries.withLock { entries in entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value.kind) } }
    }
}
