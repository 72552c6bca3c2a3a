/// What can go wrong with a catalog call; messages are safe to show a client.
public enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    case modelNotFound(name: String)
    case modelAlreadyExists(name: String)
    case runNotFound(id: Int64)
    /// The database failed underneath (disk full, corruption). The detail is for logs.
    case storage(String)

    public var description: String {
        switch self {
        case .modelNotFound(let name): "model '\(name)' does not exist"
        case .modelAlreadyExists(let name): "model '\(name)' already exists"
        case .runNotFound(let id): "sync run \(id) does not exist"
        case .storage(let detail): "catalog storage error: \(detail)"
        }
    }
}
