import RPCCall
import RPCCore
import RPCMessages

/// The roles a token can carry, as Segment names them for this feature, plus one for client traffic.
package enum Role: String, CaseIterable, Sendable {
    /// Everything, tokens included.
    case workspaceOwner = "workspace_owner"
    /// Manages warehouses, models, syncs and enrichments; reads destinations; can look up and enrich.
    case entitiesAdmin = "entities_admin"
    /// Reads models, sync runs and destinations; can dry-run mappings.
    case entitiesReadOnly = "entities_read_only"
    /// Manages destinations and their mappings; reads models.
    case sourceAdmin = "source_admin"
    /// Reads models and destinations (Unify's view of entities).
    case unifyReadOnly = "unify_read_only"
    /// Reads models and destinations and can dry-run mappings.
    case unifyAdmin = "unify_admin"
    /// Client traffic only: Lookup and Enrich, as a Segment source write key.
    case enrichOnly = "enrich_only"
}

extension Role {
    /// The role as one bit of a `RoleSet`, numbered by its place in `allCases`.
    // Every case is in allCases.
    var bit: RoleSet { RoleSet(rawValue: 1 << UInt64(Role.allCases.firstIndex(of: self)!)) }
}

/// Who may call a method, as its proto declares it (`@roles`, carried by the generated `Methods` table).
enum Permissions {
    /// Open methods (no roles declared) need no token; a method whose policy was not generated from the proto, or
    /// that names a role this server does not know, has no access rule, which the router treats as a programming
    /// error when it is registered.
    static func access(for method: MethodDescriptor) -> Access? {
        guard method.cost != nil else { return nil }
        guard let names = method.roles else { return .open }
        var roles: [Role] = []
        for name in names {
            guard let role = Role(rawValue: name) else { return nil }
            roles.append(role)
        }
        return .roles(RoleSet(roles.map(\.bit)))
    }
}
