/// What can go wrong with a catalog call; messages are safe to show a client.
package enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    case modelNotFound(name: String)
    case modelAlreadyExists(name: String)
    case runNotFound(id: Int64)
    case destinationNotFound(name: String)
    case tokenNotFound(id: String)
    /// A delete refused because other objects depend on this one; `by` names them.
    case modelInUse(name: String, by: [String])
    case tokenAlreadyExists(name: String)
    case destinationAlreadyExists(name: String)
    case warehouseNotFound(name: String)
    case warehouseAlreadyExists(name: String)
    /// A warehouse delete refused because models read from it.
    case warehouseInUse(name: String, models: [String])
    /// The catalog already holds as many of this kind of object as allowed.
    case limitReached(kind: String, limit: Int)
    /// An update named a version that is no longer current: someone else changed the object first.
    case versionConflict(name: String, expected: Int64, actual: Int64)
    /// The database failed underneath (disk full, corruption). The detail is for logs.
    case storage(String)
    /// A write under a `CommitDeadline` reached its commit after the deadline and was rolled back.
    case deadlineExceeded

    package var description: String {
        switch self {
        case .modelNotFound(let name): "model '\(name)' does not exist"
        case .modelAlreadyExists(let name): "model '\(name)' already exists"
        case .runNotFound(let id): "sync run \(id) does not exist"
        case .destinationNotFound(let name): "destination '\(name)' does not exist"
        case .tokenNotFound(let id): "token '\(id)' does not exist"
        case .modelInUse(let name, let users):
            "model '\(name)' is used by destination mappings \(users.joined(separator: ", ")); change or delete them first"
        case .tokenAlreadyExists(let name): "a token named '\(name)' already exists"
        case .destinationAlreadyExists(let name): "destination '\(name)' already exists"
        case .warehouseNotFound(let name): "warehouse '\(name)' does not exist"
        case .warehouseAlreadyExists(let name): "warehouse '\(name)' already exists"
        case .warehouseInUse(let name, let models):
            "warehouse '\(name)' is read by models \(models.joined(separator: ", ")); delete them or move them first"
        case .limitReached(let kind, let limit): "the catalog already holds the limit of \(limit) \(kind)s"
        case .versionConflict(let name, let expected, let actual):
            "'\(name)' is at version \(actual), not \(expected): it changed since you read it; read it again and retry"
        case .storage(let detail): "catalog storage error: \(detail)"
        case .deadlineExceeded: "the deadline passed before the change was committed; nothing was changed"
        }
    }
}

/// The deadline catalog writes must commit by, set by the caller for the task (the services set the call's).
package enum CommitDeadline {
    @TaskLocal package static var current: ContinuousClock.Instant?
}
