public import Catalog
public import CoreMetrics
public import ModelCache
public import RPCCore
import RPCMessages
public import SyncEngine

/// Everything the server serves, wired to the domain. `registry()` is what the transport runs.
public struct Services: Sendable {
    public static let version = "0.1.0"

    let admin: AdminService
    let destinations: DestinationService
    let warehouses: WarehouseService
    let sync: SyncService
    let enrich: EnrichService
    let health: HealthService
    let tokens: TokenService
    /// Checks every call's token and role.
    public let authority: TokenAuthority
    let audit: AuditLog

    /// - Throws: when the catalog's tokens cannot be read.
    public init(
        catalog: Catalog, cache: ModelCache, engine: SyncEngine, scheduler: Scheduler, limits: Limits, defaultWarehouse: String,
        metricsFactory: (any MetricsFactory)? = nil, now: @escaping @Sendable () -> Int64 = { WallClock.wallMilliseconds() }
    ) throws {
        self.authority = try TokenAuthority(catalog: catalog, now: now)
        let audit = AuditLog(catalog: catalog, authority: self.authority, now: now)
        self.audit = audit
        self.tokens = TokenService(authority: self.authority, catalog: catalog, limits: limits, audit: audit)
        self.admin = AdminService(
            catalog: catalog, cache: cache, engine: engine, limits: limits, defaultWarehouse: defaultWarehouse, now: now,
            audit: audit
        )
        self.warehouses = WarehouseService(catalog: catalog, registry: engine.warehouses, limits: limits, now: now, audit: audit)
        self.sync = SyncService(engine: engine, catalogRuns: { model, limit in
            try catalog.runs(model: model, limit: limit).map(SyncRun.init)
        }, audit: audit, scheduler: scheduler, catalog: catalog, now: now)
        let registry = DestinationRegistry(catalog: catalog, metricsFactory: metricsFactory)
        self.destinations = DestinationService(catalog: catalog, registry: registry, limits: limits, now: now, audit: audit)
        self.enrich = EnrichService(
            cache: cache, catalog: catalog, limits: limits, destinations: registry, destinationService: self.destinations
        )
        self.health = HealthService(cache: cache, version: Self.version)
    }

    /// The method table of every service.
    public func registry() -> ServiceRegistry {
        var registry = ServiceRegistry()
        self.admin.register(into: &registry)
        self.destinations.register(into: &registry)
        self.warehouses.register(into: &registry)
        self.sync.register(into: &registry)
        self.enrich.register(into: &registry)
        self.health.register(into: &registry)
        self.tokens.register(into: &registry)
        let authority = self.authority
        let audit = self.audit
        registry.authorizer = { context throws(RPCError) in
            do throws(RPCError) {
                try authority.authorize(context)
            } catch {
                audit.refused(context, error: error)
                throw error
            }
        }
        return registry
    }
}
