import Catalog
import CoreMetrics
package import Logging
package import ModelCache
import NIOCore
import NIOPosix
import Prometheus
import RPCCore
import RPCTransport
import Services
package import SyncEngine
import Synchronization
import SystemCrypto
import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

/// The whole server: catalog, cache, sync engine and services behind the RPC transport.
package final class EnrichServer: Sendable {
    package let configuration: ServerConfiguration
    package let cache: ModelCache
    package let engine: SyncEngine
    private let catalog: Catalog
    private let group: MultiThreadedEventLoopGroup
    private let server: RPCServer
    private let logger: Logger
    private let pruner = Mutex<Task<Void, Never>?>(nil)
    /// The metrics every part records into; rendered at `/metrics`.
    let metricsRegistry = PrometheusCollectorRegistry()
    private let httpEndpoint = Mutex<HTTPEndpoint?>(nil)
    private let monitor = Mutex<Task<Void, Never>?>(nil)
    /// What the HTTP port serves.
    private let pages: ServerPages
    private let schedulerTask = Mutex<Task<Void, Never>?>(nil)
    private let interruptedModels: [String]
    /// Starts scheduled syncs.
    package let scheduler: Scheduler
    private let services: Services
    private let metricsFactory: (any MetricsFactory)?
    /// Held while the server runs (released when the process exits).
    private let lock: DataDirectoryLock

    /// Opens the catalog, loads TLS material and builds the services; nothing listens yet.
    /// - Throws: `ServerError` naming the file or setting that is wrong.
    package init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // Everything that can be checked is checked before anything is written: the TLS material first.
        var tls: TLSContext? = nil
        if let files = configuration.tls {
            do {
                tls = try TLSContext(
                    configuration: .server(
                        certificateChain: .file(files.certificateChain), privateKey: .file(files.privateKey),
                        requiringClientCertificatesFrom: files.clientCA.map { .file($0) }
                    ))
            } catch {
                throw ServerError("\(error)")
            }
        }
        try Self.makeDirectory(configuration.dataDirectory)
        // One server per data directory: a second one stops here, naming the first one's pid.
        self.lock = try DataDirectoryLock(directory: configuration.dataDirectory)
        try DataDirectory.restrict(configuration.dataDirectory, logger: logger)
        let keyring = try SecretKeys.load(configuration: configuration, logger: logger)
        do {
            self.catalog = try Catalog(path: configuration.resolvedCatalogPath, sealer: keyring)
            let resealed = try self.catalog.resealSecrets()
            if resealed > 0 {
                logger.notice("sealed \(resealed) stored warehouse password(s) with secret key \(keyring.currentID)")
            }
        } catch {
            throw ServerError("cannot open the catalog: \(error)")
        }
        let interrupted = try self.catalog.failInterruptedRuns(at: WallClock.wallMilliseconds())
        if !interrupted.isEmpty {
            logger.warning(
                "marked interrupted sync runs of \(interrupted.joined(separator: ", ")) as failed; they will be retried"
            )
        }
        self.interruptedModels = interrupted
        self.cache = ModelCache()
        var warehouses: [String: any Warehouse] = [
            ServerConfiguration.embeddedWarehouse: SQLiteWarehouse(path: configuration.resolvedWarehousePath)
        ]
        for (name, connection) in configuration.postgresWarehouses {
            do { try PostgresWarehouse.validate(connectionString: connection) } catch {
                throw ServerError("warehouse '\(name)': \(error)")
            }
            warehouses[name] = PostgresWarehouse(connectionString: connection)
        }
        // Warehouses connected over Admin RPCs; one the flags also name is ambiguous, so the start stops.
        for record in try self.catalog.warehouses() {
            guard warehouses[record.name] == nil else {
                throw ServerError(
                    "warehouse '\(record.name)' is in the catalog and also set when starting; drop one of them")
            }
            do {
                warehouses[record.name] = try WarehouseKind(rawValue: record.kind)?.make(
                    connection: record.connection, password: record.password)
            } catch {
                logger.error("warehouse '\(record.name)' cannot be loaded: \(error); its models will fail to sync")
            }
        }
        var prometheus = PrometheusMetricsFactory(registry: self.metricsRegistry)
        // 25 µs to 10 s: a batch-1 Lookup takes well under a millisecond, a sync can take seconds.
        prometheus.defaultDurationHistogramBuckets = [
            .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
            .seconds(10),
        ]
        let factory: (any MetricsFactory)? = configuration.metricsPort == nil ? nil : prometheus
        self.engine = SyncEngine(
            catalog: self.catalog, cache: self.cache, warehouses: warehouses, limits: configuration.policy.sync,
            snapshotFiles: SnapshotFiles(
                directory: "\(configuration.dataDirectory)/snapshots",
                maxFileBytes: configuration.policy.sync.maxSnapshotFileBytes
            ),
            metricsFactory: factory,
            logger: logger
        )
        self.scheduler = Scheduler(
            engine: self.engine, catalog: self.catalog, limits: configuration.policy.sync, logger: logger)
        let services = try Services(
            catalog: self.catalog, cache: self.cache, engine: self.engine, scheduler: self.scheduler,
            limits: configuration.policy.server, languages: configuration.policy.languages,
            defaultWarehouse: ServerConfiguration.embeddedWarehouse, metricsFactory: factory,
            now: configuration.wallClock, logger: logger
        )
        // A fresh install is never open: the first start creates an owner token.
        if let secret = try services.authority.bootstrap(secret: configuration.bootstrapToken) {
            if configuration.bootstrapToken == nil {
                try Self.writeSecret(secret, to: configuration.resolvedOwnerTokenPath)
                logger.notice(
                    "created the first owner token; it is in \(configuration.resolvedOwnerTokenPath) (mode 0600)")
            } else {
                logger.notice("created the first owner token from the bootstrap token given")
            }
        }
        // System.coreCount reads cgroup limits, and some containers report nonsense there (0 or less was seen
        // here); never start with fewer than one event loop.
        let threads = configuration.eventLoopThreads ?? System.coreCount
        if threads < 1 { logger.warning("core count reported as \(threads); using one event loop") }
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let router = services.router()
        self.services = services
        self.pages = ServerPages(
            registry: self.metricsRegistry, readiness: services.readiness, catalog: self.catalog, cache: self.cache,
            services: services, group: self.group, now: configuration.wallClock)
        self.metricsFactory = factory
        self.server = RPCServer(
            configuration: .init(
                host: configuration.host, port: configuration.port, tls: tls, limits: configuration.policy.server,
                metrics: factory.map { RPCMetrics(factory: $0, router: router) }
            ),
            router: router, authenticator: services.authenticator, group: self.group, logger: logger
        )
    }

    private static func writeSecret(_ secret: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw ServerError("cannot write the owner token to '\(path)': error \(errno)") }
        defer { close(descriptor) }
        let line = Array((secret + "\n").utf8)
        guard write(descriptor, line, line.count) == line.count else {
            throw ServerError("cannot write the owner token to '\(path)': error \(errno)")
        }
    }

    private static func makeDirectory(_ path: String) throws {
        var components: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            components.append(String(part))
            let prefix = components.joined(separator: "/")
            if prefix.isEmpty { continue }
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw ServerError("cannot create data directory '\(prefix)': error \(errno)")
            }
        }
    }

    /// The HTTP port (`/metrics`, `/healthz`, `/readyz`, the status page), once started (nil when off).
    package var metricsPort: Int? { self.httpEndpoint.withLock { $0?.port } }

    /// Where the server listens.
    package struct BoundAddress: Sendable, CustomStringConvertible {
        package var host: String
        package var port: Int
        package var description: String { "\(self.host):\(self.port)" }
    }

    /// Starts listening.
    /// - Returns: the bound address (the real port when configured with 0).
    @discardableResult
    package func start() async throws -> BoundAddress {
        self.startAuditPruning()
        // Serve the last good data at once, before any warehouse is asked for anything.
        let clock = ContinuousClock()
        let started = clock.now
        let models = ((try? self.catalog.listModels(after: nil, limit: Int.max)) ?? []).map(\.name)
        let loaded = await self.engine.loadPersistedSnapshots(models: models)
        if !loaded.isEmpty {
            self.logger.info(
                "serving \(loaded.count) persisted snapshot(s) after \(clock.now - started): \(loaded.joined(separator: ", "))"
            )
        }
        // Runs cut short by the last stop are retried once, then the schedules take over.
        for model in self.interruptedModels { _ = try? await self.engine.trigger(model: model) }
        let scheduler = self.scheduler
        self.schedulerTask.withLock { $0 = Task { await scheduler.run() } }
        self.startMonitor()
        if let metricsPort = self.configuration.metricsPort {
            let host = self.configuration.resolvedHTTPHost
            do {
                let endpoint = try await HTTPEndpoint.start(
                    host: host, port: metricsPort, pages: self.pages, group: self.group)
                self.httpEndpoint.withLock { $0 = endpoint }
                self.logger.info("status page, /metrics, /healthz and /readyz at http://\(host):\(endpoint.port)/")
            } catch {
                throw ServerError("cannot serve HTTP on \(host):\(metricsPort): \(error)")
            }
        }
        do {
            let address = try await self.server.start()
            return BoundAddress(host: address.ipAddress ?? self.configuration.host, port: address.port ?? 0)
        } catch {
            throw ServerError("cannot listen on \(self.configuration.host):\(self.configuration.port): \(error)")
        }
    }

    /// Prunes audit events past the retention now and then every hour, until the server stops.
    private func startAuditPruning() {
        let catalog = self.catalog
        let retention = self.configuration.auditRetention
        let logger = self.logger
        let task = Task {
            while !Task.isCancelled {
                let (seconds, _) = retention.components
                let cutoff = WallClock.wallMilliseconds() - seconds * 1_000
                do {
                    let pruned = try catalog.pruneAudit(before: cutoff)
                    if pruned > 0 { logger.info("pruned \(pruned) audit event(s) older than the retention") }
                } catch {
                    logger.warning("cannot prune the audit trail: \(error)")
                }
                try? await Task.sleep(for: .seconds(3_600))
            }
        }
        self.pruner.withLock { $0 = task }
    }

    /// Stops gracefully: stops accepting and starting syncs, tells every connection the server is going away,
    /// lets calls in flight finish for up to `ServerConfiguration.limits.drainGracePeriod` (answering what is
    /// left UNAVAILABLE), interrupts running syncs (they run again at the next start), then shuts the event loops
    /// down.
    package func stop() async {
        // Not ready first, so balancers stop sending before connections are told to go.
        self.services.readiness.setDraining()
        self.monitor.withLock { $0?.cancel() }
        self.schedulerTask.withLock { $0?.cancel() }
        self.pruner.withLock { $0?.cancel() }
        let left = await self.server.drain(grace: self.configuration.policy.server.drainGracePeriod)
        if left > 0 { self.logger.warning("\(left) connection(s) were still busy at the end of the grace period") }
        await self.engine.interruptAll()
        await self.engine.waitForRuns()
        await self.services.auditFlushed()
        if let endpoint = self.httpEndpoint.withLock({ $0 }) { await endpoint.stop() }
        try? await self.group.shutdownGracefully()
        self.lock.release()
    }

    /// Checks readiness once a second (off the event loops) and records each model's data age and version.
    private func startMonitor() {
        let pages = self.pages
        let readiness = self.services.readiness
        let cache = self.cache
        let catalog = self.catalog
        let factory = self.metricsFactory
        let now = self.configuration.wallClock
        let task = Task.detached {
            var gauges: [String: (age: CoreMetrics.Gauge, version: CoreMetrics.Gauge)] = [:]
            while !Task.isCancelled {
                readiness.update(reasons: pages.check(), at: now())
                if let factory {
                    for model in cache.models {
                        guard let snapshot = cache.snapshot(of: model) else { continue }
                        let pair =
                            gauges[model]
                            ?? (
                                CoreMetrics.Gauge(
                                    label: "enrich_model_age_seconds", dimensions: [("model", model)], factory: factory),
                                CoreMetrics.Gauge(
                                    label: "enrich_model_version", dimensions: [("model", model)], factory: factory)
                            )
                        gauges[model] = pair
                        pair.version.record(Int64(snapshot.version))
                        if let run = try? catalog.run(id: Int64(snapshot.version)) {
                            pair.age.record(
                                Double(now() - (run.finishedAtMilliseconds ?? run.startedAtMilliseconds)) / 1_000)
                        }
                    }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        self.monitor.withLock { $0 = task }
    }

    /// Whether the server is ready for traffic, as /readyz and the Health RPC say (`reasons` empty: ready).
    package var readinessReasons: [String] { self.services.readiness.report.reasons }

    /// Calls in flight are answered and connections closed; for tests of the drain.
    package var openConnections: Int { self.server.connectionCount }
}
