public import Catalog
public import CoreMetrics
import Dispatch
public import Logging
public import ModelCache
public import Warehouses

/// Runs syncs: reads a model's source from its warehouse, builds a snapshot off the event loops, publishes it
/// whole and records the run. One run per model at a time; a failed run leaves the served snapshot alone.
public actor SyncEngine {
    public struct Limits: Sendable {
        /// Most columns a model may have (Segment's limit).
        public var maxColumns: Int
        /// Most rows a model may have; the run fails past it (Segment: 100M).
        public var maxRows: Int
        /// Largest row accepted; larger ones are left out and reported (Segment: 512 KiB).
        public var maxRowBytes: Int

        public init(maxColumns: Int = 512, maxRows: Int = 100_000_000, maxRowBytes: Int = SnapshotBuilder.defaultMaxRowBytes) {
            self.maxColumns = maxColumns
            self.maxRows = maxRows
            self.maxRowBytes = maxRowBytes
        }
    }

    private let catalog: Catalog
    private let cache: ModelCache
    /// The warehouses models read from; Admin RPCs change it while the server runs.
    public nonisolated let warehouses: WarehouseRegistry
    private let snapshotFiles: SnapshotFiles?
    private let metricsFactory: (any MetricsFactory)?
    private let limits: Limits
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private var running: [String: RunProgress] = [:]
    private var runsByID: [Int64: RunProgress] = [:]
    private var finishedTasks: [Task<Void, Never>] = []

    /// - Parameters:
    ///   - warehouses: warehouses by name; models name theirs.
    ///   - now: milliseconds since the epoch (injectable for tests).
    public init(
        catalog: Catalog, cache: ModelCache, warehouses: [String: any Warehouse], limits: Limits = Limits(),
        snapshotFiles: SnapshotFiles? = nil, metricsFactory: (any MetricsFactory)? = nil, logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64(WallClock.wallMilliseconds()) }
    ) {
        self.snapshotFiles = snapshotFiles
        self.metricsFactory = metricsFactory
        self.catalog = catalog
        self.cache = cache
        self.warehouses = WarehouseRegistry(warehouses)
        self.limits = limits
        self.logger = logger
        self.now = now
    }

    /// Connects to warehouse `name` off the cooperative pool: its version text, or why it cannot be reached.
    /// - Throws: `.unknownWarehouse`.
    public nonisolated func testWarehouse(_ name: String) async throws(SyncError) -> Result<String, WarehouseError> {
        guard let warehouse = self.warehouses[name] else { throw .unknownWarehouse(name) }
        return await Self.test(warehouse)
    }

    /// Connects to `warehouse` off the cooperative pool: its version text, or why it cannot be reached.
    public nonisolated static func test(_ warehouse: any Warehouse) async -> Result<String, WarehouseError> {
        await Self.offload {
            do throws(WarehouseError) { return .success(try warehouse.testConnection()) } catch { return .failure(error) }
        }
    }

    // MARK: - Models

    /// Reads a source's columns and checks them against a primary key and the limits.
    /// - Throws: `SyncError` naming what is wrong.
    public nonisolated func introspect(warehouse name: String, source: ModelSource, primaryKey: String) async throws(SyncError)
        -> [SourceColumn]
    {
        guard let warehouse = self.warehouses[name] else { throw .unknownWarehouse(name) }
        let limits = self.limits
        let result: Result<[SourceColumn], SyncError> = await Self.offload {
            do throws(WarehouseError) {
                return .success(try warehouse.describe(source))
            } catch {
                return .failure(.warehouse(error))
            }
        }
        let columns = try result.get()
        try Self.check(columns: columns, primaryKey: primaryKey, limits: limits)
        return columns
    }

    private static func check(columns: [SourceColumn], primaryKey: String, limits: Limits) throws(SyncError) {
        guard columns.count <= limits.maxColumns else {
            throw .tooManyColumns(count: columns.count, limit: limits.maxColumns)
        }
        guard let key = columns.first(where: { $0.name == primaryKey }) else {
            throw .primaryKeyNotAColumn(key: primaryKey, columns: columns.map(\.name))
        }
        guard key.type == .int64 || key.type == .string || key.type == .timestamp else {
            throw .unsupportedKeyType(key: primaryKey, type: key.type)
        }
    }

    /// Runs blocking work on a Dispatch thread, so neither the event loops nor the cooperative pool block on
    /// warehouse I/O.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    // MARK: - Runs

    /// Starts a sync of `model` and returns the run as it stands (in progress).
    /// - Throws: `.catalog(.modelNotFound)`, `.alreadyRunning`, `.unknownWarehouse`.
    public func trigger(model name: String) throws(SyncError) -> SyncRunRecord {
        let model: ModelRecord
        do { model = try self.catalog.model(named: name) } catch { throw .catalog(error) }
        if let progress = self.running[name] { throw .alreadyRunning(model: name, runID: progress.run.id ?? 0) }
        guard let warehouse = self.warehouses[model.warehouse] else { throw .unknownWarehouse(model.warehouse) }
        let run: SyncRunRecord
        do { run = try self.catalog.startRun(model: name, at: self.now()) } catch { throw .catalog(error) }
        let progress = RunProgress(run: run)
        self.running[name] = progress
        self.runsByID[run.id!] = progress  // startRun returns the inserted id.
        self.logger.info("sync started", metadata: ["model": "\(name)", "run": "\(run.id!)"])
        let task = Task { await self.execute(model: model, warehouse: warehouse, progress: progress) }
        self.finishedTasks.append(task)
        return run
    }

    /// The run with `id`: live if it is going, from the catalog otherwise.
    public func run(id: Int64) throws(SyncError) -> SyncRunRecord {
        if let progress = self.runsByID[id] { return progress.run }
        do { return try self.catalog.run(id: id) } catch { throw .catalog(error) }
    }

    /// A stream of the run's states until it finishes (one element when it already has).
    public func watch(id: Int64) throws(SyncError) -> AsyncStream<SyncRunRecord> {
        if let progress = self.runsByID[id] { return progress.watch() }
        let run: SyncRunRecord
        do { run = try self.catalog.run(id: id) } catch { throw .catalog(error) }
        return AsyncStream { continuation in
            continuation.yield(run)
            continuation.finish()
        }
    }

    /// Waits for every run started so far to finish. For tests and shutdown.
    public func waitForRuns() async {
        let tasks = self.finishedTasks
        self.finishedTasks.removeAll()
        for task in tasks { await task.value }
    }

    /// Sync durations and outcomes by model, and the served snapshot's rows and resident bytes.
    private func recordMetrics(run: SyncRunRecord) {
        guard let factory = self.metricsFactory else { return }
        let model = [("model", run.model)]
        CoreMetrics.Counter(label: "enrich_sync_runs_total", dimensions: model + [("status", run.status.rawValue)], factory: factory)
            .increment()
        CoreMetrics.Timer(label: "enrich_sync_duration", dimensions: model, factory: factory)
            .recordMilliseconds((run.finishedAtMilliseconds ?? run.startedAtMilliseconds) - run.startedAtMilliseconds)
        self.recordCacheMetrics(model: run.model)
    }

    func recordCacheMetrics(model: String) {
        guard let factory = self.metricsFactory, let snapshot = self.cache.snapshot(of: model) else { return }
        Gauge(label: "enrich_cache_rows", dimensions: [("model", model)], factory: factory).record(snapshot.rowCount)
        Gauge(label: "enrich_cache_bytes", dimensions: [("model", model)], factory: factory).record(snapshot.residentBytes)
    }

    /// Serves the persisted snapshots of these models, if any, before any sync runs. Unreadable files are
    /// skipped with a warning. Returns the models loaded.
    public func loadPersistedSnapshots(models: [String]) async -> [String] {
        guard let files = self.snapshotFiles else { return [] }
        var loaded: [String] = []
        for model in models {
            let result: Result<ModelSnapshot?, SnapshotFileError> = await Self.offload {
                do throws(SnapshotFileError) { return .success(try files.load(model: model)) } catch { return .failure(error) }
            }
            switch result {
            case .success(let snapshot?):
                self.cache.publish(snapshot)
                self.recordCacheMetrics(model: model)
                loaded.append(model)
            case .success(nil):
                break
            case .failure(let error):
                self.logger.warning("skipping persisted snapshot: \(error)")
            }
        }
        return loaded
    }

    /// Deletes a model's persisted snapshot (after the model is deleted).
    public func forgetSnapshot(model: String) { self.snapshotFiles?.remove(model: model) }

    /// Whether a run of `model` is going.
    public func isRunning(model: String) -> Bool { self.running[model] != nil }

    /// Asks running scans to stop; their runs end as failed.
    public func cancelAll() {
        for progress in self.running.values { progress.cancel() }
    }

    private func execute(model: ModelRecord, warehouse: any Warehouse, progress: RunProgress) async {
        let limits = self.limits
        let runID = UInt64(progress.run.id ?? 0)
        let outcome: Result<ExtractResult, SyncError> = await Self.offload {
            Self.extract(model: model, warehouse: warehouse, limits: limits, runID: runID, progress: progress)
        }
        switch outcome {
        case .success(let result):
            progress.update { $0.phase = .load }
            if result.columns != model.columns {
                do { try self.catalog.updateColumns(model: model.name, columns: result.columns) } catch {
                    self.logger.warning("cannot record columns of \(model.name): \(error)")
                }
            }
            let previous = self.cache.snapshot(of: model.name)
            let snapshot = result.snapshot
            let difference = await Self.offload { snapshot.diff(from: previous) }
            self.cache.publish(result.snapshot)
            if let files = self.snapshotFiles {
                // Persist off the actor; serving already uses the new snapshot, so a slow disk delays nothing.
                let snapshot = result.snapshot
                let saved: Result<Int, SnapshotFileError> = await Self.offload {
                    do throws(SnapshotFileError) { return .success(try files.save(snapshot)) } catch { return .failure(error) }
                }
                if case .failure(let error) = saved { self.logger.warning("cannot persist snapshot of \(model.name): \(error)") }
            }
            progress.update { run in
                run.rowsAdded = Int64(difference.added)
                run.rowsChanged = Int64(difference.changed)
                run.rowsRemoved = Int64(difference.removed)
                run.rowsFailed = Int64(result.rejected)
                run.issues = result.issues.map { RunIssue(rowNumber: $0.rowNumber, key: $0.key, reason: $0.reason) }
                run.phase = .done
                run.status = result.rejected > 0 ? .partialSuccess : .success
                run.finishedAtMilliseconds = self.now()
            }
        case .failure(let error):
            progress.update { run in
                run.status = .failed
                run.error = error.description
                run.finishedAtMilliseconds = self.now()
            }
        }
        let run = progress.run
        do { try self.catalog.saveRun(run) } catch { self.logger.error("cannot record run \(runID): \(error)") }
        self.recordMetrics(run: run)
        self.running[model.name] = nil
        self.logger.info(
            "sync finished",
            metadata: [
                "model": "\(model.name)", "run": "\(runID)", "status": "\(run.status.rawValue)",
                "added": "\(run.rowsAdded)", "changed": "\(run.rowsChanged)", "removed": "\(run.rowsRemoved)",
                "failed": "\(run.rowsFailed)",
                "ms": "\((run.finishedAtMilliseconds ?? 0) - run.startedAtMilliseconds)",
            ]
        )
    }

    struct ExtractResult: Sendable {
        var snapshot: ModelSnapshot
        var columns: [CatalogColumn]
        var rejected: Int
        var issues: [RowIssue]
    }

    /// The blocking part of a run: introspect, scan into a builder, build the snapshot.
    private static func extract(
        model: ModelRecord, warehouse: any Warehouse, limits: Limits, runID: UInt64, progress: RunProgress
    ) -> Result<ExtractResult, SyncError> {
        do throws(SyncError) {
            let source: ModelSource = model.sourceQuery.isEmpty ? .table(model.sourceTable) : .query(model.sourceQuery)
            let columns: [SourceColumn]
            let expected: Int?
            do {
                columns = try warehouse.describe(source)
                expected = try warehouse.estimatedRowCount(source)
            } catch { throw .warehouse(error) }
            try Self.check(columns: columns, primaryKey: model.primaryKey, limits: limits)
            progress.update { $0.rowsExpected = Int64(expected ?? 0) }
            var builder: SnapshotBuilder
            do {
                builder = try SnapshotBuilder(
                    schema: columns.map { ColumnSchema(name: $0.name, type: $0.type) }, primaryKey: model.primaryKey,
                    expectedRows: min(expected ?? 0, limits.maxRows), maxRows: limits.maxRows, maxRowBytes: limits.maxRowBytes
                )
            } catch { throw .snapshot(error) }
            do {
                try warehouse.scan(source, columns: columns, into: &builder) { rows in
                    progress.update { $0.rowsRead = Int64(rows) }
                    return !progress.isCancelled
                }
            } catch { throw .warehouse(error) }
            let snapshot: ModelSnapshot
            do { snapshot = try builder.build(model: model.name, version: runID) } catch { throw .snapshot(error) }
            return .success(ExtractResult(
                snapshot: snapshot,
                columns: columns.map(CatalogColumn.init),
                rejected: builder.rejectedRows, issues: builder.issues
            ))
        } catch {
            return .failure(error)
        }
    }
}

extension CatalogColumn {
    /// The catalog's record of an introspected column.
    public init(_ column: SourceColumn) {
        self.init(name: column.name, type: column.type.rawValue, sourceType: column.sourceType)
    }
}
