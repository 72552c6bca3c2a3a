package import Catalog
import EventJSON
import ModelCache
package import RPCCore
package import SyncEngine
package import Warehouses

// The one place that knows which status code each domain error becomes.

extension CatalogError: RPCErrorConvertible {
    package var rpcError: RPCError {
        switch self {
        case .modelNotFound, .runNotFound, .destinationNotFound, .tokenNotFound, .warehouseNotFound:
            RPCError(.notFound, self.description)
        case .modelAlreadyExists, .destinationAlreadyExists, .tokenAlreadyExists, .warehouseAlreadyExists:
            RPCError(.alreadyExists, self.description)
        case .versionConflict: RPCError(.aborted, self.description)
        case .modelInUse, .warehouseInUse: RPCError(.failedPrecondition, self.description)
        case .limitReached: RPCError(.resourceExhausted, self.description)
        case .storage: RPCError(.internalError, "catalog storage error")
        case .deadlineExceeded: RPCError(.deadlineExceeded, self.description)
        }
    }
}

extension WarehouseError: RPCErrorConvertible {
    package var rpcError: RPCError {
        switch self {
        case .unavailable: RPCError(.unavailable, self.description)
        case .sourceNotFound: RPCError(.notFound, self.description)
        case .invalidQuery, .invalidConfiguration: RPCError(.invalidArgument, self.description)
        case .readFailed: RPCError(.unavailable, self.description)
        case .cancelled: RPCError(.cancelled, self.description)
        case .stateNotWritable: RPCError(.failedPrecondition, self.description)
        }
    }
}

extension SyncError: RPCErrorConvertible {
    package var rpcError: RPCError {
        switch self {
        case .catalog(let error): error.rpcError
        case .warehouse(let error): error.rpcError
        case .snapshot: RPCError(.failedPrecondition, self.description)
        case .alreadyRunning: RPCError(.aborted, self.description)
        case .runFinished: RPCError(.failedPrecondition, self.description)
        case .unknownWarehouse: RPCError(.notFound, self.description)
        case .tooManyColumns, .primaryKeyNotAColumn, .unsupportedKeyType, .invalidModel:
            RPCError(.invalidArgument, self.description)
        }
    }
}
