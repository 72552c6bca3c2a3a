package import Catalog
package import ModelCache
package import Warehouses

/// Why a sync (or a model definition) was refused or failed; messages are safe to show a client.
package enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    case catalog(CatalogError)
    case warehouse(WarehouseError)
    case snapshot(SnapshotError)
    /// A run of this model is still going.
    case alreadyRunning(model: String, runID: Int64)
    case unknownWarehouse(String)
    case tooManyColumns(count: Int, limit: Int)
    case primaryKeyNotAColumn(key: String, columns: [String])
    case unsupportedKeyType(key: String, type: DataType)
    case invalidModel(String)
    /// The run is over and cannot be cancelled.
    case runFinished(id: Int64, status: RunStatus)

    package var description: String {
        switch self {
        case .catalog(let error): error.description
        case .warehouse(let error): error.description
        case .snapshot(let error):
            switch error {
            case .unknownKeyColumn(let name): "primary key '\(name)' is not a column of the source"
            case .unsupportedKeyType(let column, let type):
                "primary key '\(column)' has type \(type.rawValue), which cannot be a key"
            case .tooManyRows(let limit): "the source has more than \(limit) rows, the model row limit"
            case .columnTooLarge(let column): "column '\(column)' holds more than 4 GiB of text"
            }
        case .alreadyRunning(let model, let id): "model '\(model)' is already syncing (run \(id))"
        case .unknownWarehouse(let name): "warehouse '\(name)' does not exist"
        case .tooManyColumns(let count, let limit): "the source has \(count) columns; a model may have at most \(limit)"
        case .primaryKeyNotAColumn(let key, let columns):
            "primary key '\(key)' is not a column of the source (columns: \(columns.joined(separator: ", ")))"
        case .unsupportedKeyType(let key, let type):
            "primary key '\(key)' has type \(type.rawValue); keys must be integers, strings or timestamps"
        case .invalidModel(let reason): reason
        case .runFinished(let id, let status): "run \(id) already finished (\(status.rawValue)); nothing to cancel"
        }
    }
}
