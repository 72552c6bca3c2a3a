package import Catalog
package import CoreMetrics
package import Logging
package import ModelCache
package import RPCCall
package import RPCCore
import RPCMessages
package import SyncEngine

/// Everything the server serves, wired to the domain. `registry()` is what the transport runs.
package struct Services: Sendable {
    package static let version = "0.1.0"

    let admin: AdminService
    let destinations: DestinationService
    let warehouses: WarehouseService
    let sync: SyncService
    let enrich: EnrichService
    let health: HealthService
    /// Whether the server is ready for traffic; the server's monitor updates it, the Health RPC and /readyz read it.
    package let readiness = Readiness()
    let tokens: TokenService
    /// Checks every call's token and role.
    package let authority: TokenAuthority
    let audit: AuditLog

    /// - Parameters:
    ///   - limits: the RPC slice of the policy; `languages` is the mapping languages' (conditions, Liquid,
    ///     mapping-kit), handed to every destination plan.
    /// - Throws: when the catalog's tokens cannot be read.
    package init(
        catalog: Catalog, cache: ModelCache, engine: SyncEngine, scheduler: Scheduler, limits: Limits,
        languages: LanguageLimits = LanguageLimits(), defaultWarehouse: String,
        metricsFactory: (any MetricsFactory)? = nil,
        now: @escaping @Sendable () -> Int64 = { WallClock.wallMilliseconds() },
        logger: Logger = Logger(label: "enrich.services")
    ) throws {
        self.authority = try TokenAuthority(catalog: catalog, now: now)
        let audit = AuditLog(
            catalog: catalog, now: now, maxQueuedRefusals: limits.maxQueuedAuditRefusals, logger: logger)
        self.audit = audit
        self.tokens = TokenService(authority: self.authority, catalog: catalog, limits: limits, audit: audit)
        self.admin = AdminService(
            catalog: catalog, cache: cache, engine: engine, limits: limits, defaultWarehouse: defaultWarehouse,
            now: now,
            audit: audit
        )
        self.warehouses = WarehouseService(
            catalog: catalog, registry: engine.warehouses, limits: limits, now: now, audit: audit)
        self.sync = SyncService(
            engine: engine,
            catalogRuns: { model, limit in
                try catalog.runs(model: model, limit: limit).map(SyncRun.init)
            }, audit: audit, scheduler: scheduler, catalog: catalog, limits: limits, now: now)
        let registry = DestinationRegistry(
            catalog: catalog, warehouses: engine.warehouses, languages: languages, metricsFactory: metricsFactory)
        self.destinations = DestinationService(
            catalog: catalog, registry: registry, limits: limits, now: now, audit: audit)
        self.enrich = EnrichService(
            cache: cache, catalog: catalog, limits: limits, destinations: registry,
            destinationService: self.destinations
        )
        self.health = HealthService(cache: cache, version: Self.version, limits: limits, readiness: self.readiness)
    }

    /// The method table of every service, each method with its cost class and access (`Permissions`).
    package func router() -> Router {
        var router = Router(access: Permissions.access(for:))
        self.admin.register(into: &router)
        self.destinations.register(into: &router)
        self.warehouses.register(into: &router)
        self.sync.register(into: &router)
        self.enrich.register(into: &router)
        self.health.register(into: &router)
        self.tokens.register(into: &router)
        return router
    }

    /// Checks tokens for the call layer; refused writes go to the audit trail.
    package var authenticator: any CallAuthenticator {
        ServicesAuthenticator(authority: self.authority, audit: self.audit)
    }

    /// A destination and the outcome counts of the events this process enriched through it.
    package struct DestinationSummary: Sendable {
        package var name: String
        package var mappings: Int
        package var events: UInt64
        package var enriched: UInt64
        package var partiallyEnriched: UInt64
        package var notEnriched: UInt64
        package var unmatched: UInt64
    }

    /// Every destination with its outcome counts (status page).
    package func destinationStatistics() throws -> [DestinationSummary] {
        var all: [DestinationSummary] = []
        var after: String? = nil
        while true {
            let page = try self.destinations.catalog.listDestinations(after: after, limit: 500)
            for record in page {
                let stats = self.destinations.registry.stats(for: record.name)
                all.append(
                    DestinationSummary(
                        name: record.name, mappings: record.mappings.count, events: stats.events,
                        enriched: stats.enriched, partiallyEnriched: stats.partiallyEnriched,
                        notEnriched: stats.notEnriched, unmatched: stats.unmatched))
            }
            guard page.count == 500, let last = page.last else { return all }
            after = last.name
        }
    }

    /// Waits until refused attempts queued for the audit trail are written (tests).
    package func auditFlushed() async { await self.audit.refusals.flushed() }
}
