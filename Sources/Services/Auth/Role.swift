import RPCCall
import RPCCore
import RPCMessages

/// The roles a token can carry, as Segment names them for this feature, plus one for client traffic.
public enum Role: String, CaseIterable, Sendable {
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
    var bit: RoleSet { RoleSet(rawValue: 1 << UInt64(Role.allCases.firstIndex(of: self)!)) }  // Every case is in allCases.
}

/// One table from methods to the roles allowed to call them. Methods not listed need no token (Health).
enum Permissions {
    /// Who may call `method`: open methods need no token; a method in neither list has no access rule, which
    /// the router treats as a programming error when it is registered.
    static func access(for method: MethodDescriptor) -> Access? {
        if Self.open.contains(method.fullName) { return .open }
        guard let roles = Self.table[method.fullName] else { return nil }
        return .roles(RoleSet(roles.map(\.bit)))
    }

    static let table: [String: Set<Role>] = {
        let owner: Set<Role> = [.workspaceOwner]
        let readEntities: Set<Role> = [.workspaceOwner, .entitiesAdmin, .entitiesReadOnly, .sourceAdmin, .unifyReadOnly, .unifyAdmin]
        let manageEntities: Set<Role> = [.workspaceOwner, .entitiesAdmin]
        let readDestinations: Set<Role> = [.workspaceOwner, .entitiesAdmin, .entitiesReadOnly, .sourceAdmin, .unifyReadOnly, .unifyAdmin]
        let manageDestinations: Set<Role> = [.workspaceOwner, .sourceAdmin]
        let dryRun: Set<Role> = [.workspaceOwner, .entitiesAdmin, .entitiesReadOnly, .sourceAdmin, .unifyAdmin]
        let traffic: Set<Role> = [.workspaceOwner, .entitiesAdmin, .enrichOnly]
        return [
            Methods.createModel.fullName: manageEntities,
            Methods.updateModel.fullName: manageEntities,
            Methods.deleteModel.fullName: manageEntities,
            Methods.listAudit.fullName: owner,
            Methods.getModel.fullName: readEntities,
            Methods.listModels.fullName: readEntities,
            Methods.listWarehouses.fullName: readEntities,
            Methods.getWarehouse.fullName: readEntities,
            Methods.createWarehouse.fullName: manageEntities,
            Methods.updateWarehouse.fullName: manageEntities,
            Methods.deleteWarehouse.fullName: manageEntities,
            Methods.triggerSync.fullName: manageEntities,
            Methods.setSchedule.fullName: manageEntities,
            Methods.listSchedules.fullName: readEntities,
            Methods.getSyncRun.fullName: readEntities,
            Methods.listSyncRuns.fullName: readEntities,
            Methods.watchSync.fullName: readEntities,
            Methods.createDestination.fullName: manageDestinations,
            Methods.getDestination.fullName: readDestinations,
            Methods.listDestinations.fullName: readDestinations,
            Methods.updateDestination.fullName: manageDestinations,
            Methods.deleteDestination.fullName: manageDestinations,
            Methods.testMapping.fullName: dryRun,
            Methods.lookup.fullName: traffic,
            Methods.enrich.fullName: traffic,
            Methods.createToken.fullName: owner,
            Methods.listTokens.fullName: owner,
            Methods.revokeToken.fullName: owner,
        ]
    }()

    /// Methods anyone may call without a token.
    static let open: Set<String> = [Methods.healthCheck.fullName]
}
