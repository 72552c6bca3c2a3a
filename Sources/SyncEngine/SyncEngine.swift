package import Catalog
package import CoreMetrics
import Dispatch
package import EnrichPolicy
package import Logging
package import ModelCache
package import Warehouses

/// Runs syncs: reads a model's source from its warehouse, builds a snapshot off the event loops, publishes it
/// whole and records the run. One run per model at a time; a failed run leaves the served snapshot alone.
package actor SyncEngine {
    /// The sync slice of the policy (EnrichPolicy's `SyncLimits`: columns, rows, row size, retries, issues,
    /// snapshot files).
    package typealias Limits = SyncLimits

    private let catalog: Catalog
    private let cache: ModelCache
    /// The warehouses models read from; Admin RPCs change it while the server runs.
    package nonisolated let warehouses: WarehouseRegistry
    private let snapshotFiles: SnapshotFiles?
    private let metricsFactory: (any MetricsFactory)?
    private let limits: Limits
    private let logger: Logger
    private let now: @Sendable () -> Int64
    /// How this server's models are named in warehouse state: "model@installation".
    private let installation: String
    private var running: [String: RunProgress] = [:]
    private var runsByID: [Int64: RunProgress] = [:]
    /// The task of each run going, removed when it ends (so the table does not grow with the server's life).
    private var tasks: [Int64: Task<Void, Never>] = [:]

    /// - Parameters:
    ///   - warehouses: warehouses by name; models name theirs.
    ///   - now: milliseconds since the epoch (injectable for tests).
    package init(
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
        self.installation = (try? catalog.installationID()) ?? "unknown"
    }

    /// Connects to warehouse `name` off the cooperative pool: its version text, or why it cannot be reached.
    /// - Throws: `.unknownWarehouse`.
    package nonisolated func testWarehouse(_ name: String) async throws(SyncError) -> Result<String, WarehouseError> {
        guard let warehouse = self.warehouses[name] else { throw .unknownWarehouse(name) }
        return await Self.test(warehouse)
    }

    /// Connects to `warehouse` off the cooperative pool: its version text, or why it cannot be reached.
    package nonisolated static func test(_ warehouse: any Warehouse) async -> Result<String, WarehouseError> {
        await Self.offload {
            do throws(WarehouseError) { return .success(try warehouse.testConnection()) } catch {
                return .failure(error)
            }
        }
    }

    // MARK: - Models

    /// Reads a source's columns and checks them against a primary key and the limits.
    /// - Throws: `SyncError` naming what is wrong.
    package nonisolated func introspect(
        warehouse name: String, source: ModelSource, primaryKey: String
    ) async throws(SyncError)
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

    /// Runs blocking work on a thread of its own, so neither the event loops nor the cooperative pool block on
    /// warehouse I/O. Not Dispatch's global queue: on Linux it runs about one item per core, so two syncs
    /// waiting on a warehouse lock could starve the work that would release it.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            BlockingThread.run { continuation.resume(returning: work()) }
        }
    }

    // MARK: - Runs

    /// Starts a sync of `model` and returns the run as it stands (in progress).
    /// - Throws: `.catalog(.modelNotFound)`, `.alreadyRunning`, `.unknownWarehouse`.
    /// With `full`, the run forgets the row checksums kept in the warehouse and reads every row (a full
    /// resync); otherwise it reads only rows that changed since the served snapshot, when the state allows.
    package func trigger(model name: String, full: Bool = false) throws(SyncError) -> SyncRunRecord {
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
        let stateKey = "\(name)@\(self.installation)"
        // The run outlives the call that started it: it must not inherit that call's commit deadline.
        let task = CommitDeadline.$current.withValue(nil) {
            Task {
                await self.execute(
                    model: model, stateKey: stateKey, warehouse: warehouse, progress: progress, full: full)
            }
        }
        self.tasks[run.id!] = task  // startRun returns the inserted id.
        return run
    }

    /// The run with `id`: live if it is going, from the catalog otherwise.
    package func run(id: Int64) throws(SyncError) -> SyncRunRecord {
        if let progress = self.runsByID[id] { return progress.run }
        do { return try self.catalog.run(id: id) } catch { throw .catalog(error) }
    }

    /// A stream of the run's states until it finishes (one element when it already has).
    package func watch(id: Int64) throws(SyncError) -> AsyncStream<SyncRunRecord> {
        if let progress = self.runsByID[id] { return progress.watch() }
        let run: SyncRunRecord
        do { run = try self.catalog.run(id: id) } catch { throw .catalog(error) }
        return AsyncStream { continuation in
            continuation.yield(run)
            continuation.finish()
        }
    }

    /// Waits for every run started so far to finish. For tests and shutdown.
    package func waitForRuns() async {
        while let task = self.tasks.values.first { await task.value }
    }

    /// Sync durations and outcomes by model, and the served snapshot's rows and resident bytes.
    private func recordMetrics(run: SyncRunRecord) {
        guard let factory = self.metricsFactory else { return }
        let model = [("model", run.model)]
        CoreMetrics.Counter(
            label: "enrich_sync_runs_total", dimensions: model + [("status", run.status.rawValue)], factory: factory
        )
        .increment()
        CoreMetrics.Timer(label: "enrich_sync_duration_seconds", dimensions: model, factory: factory)
            .recordMilliseconds((run.finishedAtMilliseconds ?? run.startedAtMilliseconds) - run.startedAtMilliseconds)
        self.recordCacheMetrics(model: run.model)
    }

    func recordCacheMetrics(model: String) {
        guard let factory = self.metricsFactory, let snapshot = self.cache.snapshot(of: model) else { return }
        Gauge(label: "enrich_cache_rows", dimensions: [("model", model)], factory: factory).record(snapshot.rowCount)
        Gauge(label: "enrich_cache_bytes", dimensions: [("model", model)], factory: factory).record(
            snapshot.residentBytes)
    }

    /// Serves the persisted snapshots of these models, if any, before any sync runs. Unreadable files are
    /// skipped with a warning. Returns the models loaded.
    package func loadPersistedSnapshots(models: [String]) async -> [String] {
        guard let files = self.snapshotFiles else { return [] }
        var loaded: [String] = []
        for model in models {
            let result: Result<ModelSnapshot?, SnapshotFileError> = await Self.offload {
                do throws(SnapshotFileError) {
                    let snapshot = try files.load(model: model)
                    snapshot?.backWithHugePages()
                    return .success(snapshot)
                } catch {
                    return .failure(error)
                }
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

    /// Deletes a model's persisted snapshot and the sync state kept for it in `warehouse` (after the model is
    /// deleted). A warehouse that cannot be reached keeps its state; a model made later under the same name
    /// starts with a full read anyway, since no snapshot of it is served.
    package func forget(model: String, warehouse name: String?) async {
        self.snapshotFiles?.remove(model: model)
        guard let name, let warehouse = self.warehouses[name] else { return }
        let key = "\(model)@\(self.installation)"
        let result: Result<Void, WarehouseError> = await Self.offload {
            do throws(WarehouseError) { return .success(try warehouse.forgetState(model: key)) } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = result {
            self.logger.warning("cannot remove the sync state of \(model) from \(name): \(error)")
        }
    }

    /// Whether a run of `model` is going.
    package func isRunning(model: String) -> Bool { self.running[model] != nil }

    /// Stops run `id` and returns it as it ended: failed and cancelled, with no sync state written and the
    /// served snapshot unchanged (a run past the point of publishing finishes as it would have).
    /// - Throws: `.runNotFound`, or `.runFinished` when the run is over.
    package func cancel(runID id: Int64) async throws(SyncError) -> SyncRunRecord {
        guard let progress = self.runsByID[id], !progress.run.isFinished else {
            let run: SyncRunRecord
            do { run = try self.catalog.run(id: id) } catch { throw .catalog(error) }
            throw .runFinished(id: id, status: run.status)
        }
        progress.cancel()
        self.logger.notice("sync cancelled", metadata: ["model": "\(progress.run.model)", "run": "\(id)"])
        await self.tasks[id]?.value
        return progress.run
    }

    /// Asks running scans to stop; their runs end as failed and write no sync state.
    package func cancelAll() {
        for progress in self.running.values { progress.cancel() }
    }

    /// Asks running scans to stop because the server is stopping; their runs end failed and interrupted, and
    /// run again at the next start.
    package func interruptAll() {
        for progress in self.running.values { progress.interrupt() }
    }

    private func execute(
        model: ModelRecord, stateKey: String, warehouse: any Warehouse, progress: RunProgress, full: Bool
    ) async {
        let limits = self.limits
        let runID = UInt64(progress.run.id ?? 0)
        let previous = self.cache.snapshot(of: model.name)
        var outcome: Result<ExtractResult, SyncError> = await Self.offload {
            Self.extract(
                model: model, stateKey: stateKey, warehouse: warehouse, limits: limits, runID: runID,
                progress: progress,
                previous: previous, full: full
            )
        }
        let clock = ContinuousClock()
        var timings: [(String, Int64)] = []
        // Cancelled after the scan, before anything is published: the run ends as cancelled all the same.
        if case .success = outcome, progress.isCancelled { outcome = .failure(.warehouse(.cancelled)) }
        switch outcome {
        case .success(let result):
            timings = result.timings
            progress.update { $0.phase = .load }
            if result.columns != model.columns {
                do { try self.catalog.updateColumns(model: model.name, columns: result.columns) } catch {
                    self.logger.warning("cannot record columns of \(model.name): \(error)")
                }
            }
            self.cache.publish(result.snapshot)
            // Persisting the snapshot and writing the warehouse state run side by side. Either order is crash
            // safe: until both are done, the persisted snapshot's version and the checkpoint disagree, and the
            // next run reads everything. If the state cannot be written, the next run also reads everything.
            let commit = StateCommit(
                checkpoint: StateCheckpoint(
                    snapshotVersion: runID, rows: result.snapshot.rowCount, columns: result.fingerprint),
                readAll: !result.incremental, accepted: result.accepted, removed: result.removedKeys,
                rejected: result.rejectedRows,
                nowMilliseconds: self.now(), retry: self.limits.retry
            )
            let session = result.session
            let snapshot = result.snapshot
            let files = self.snapshotFiles
            async let saving: (Result<Int, SnapshotFileError>?, Int64) = {
                let start = clock.now
                guard let files else { return (nil, 0) }
                let saved: Result<Int, SnapshotFileError> = await Self.offload {
                    do throws(SnapshotFileError) { return .success(try files.save(snapshot)) } catch {
                        return .failure(error)
                    }
                }
                return (saved, Self.milliseconds(clock.now - start))
            }()
            async let committing: (Result<[FailedRowState], WarehouseError>, Int64) = {
                let start = clock.now
                let committed: Result<[FailedRowState], WarehouseError> = await Self.offload {
                    do throws(WarehouseError) { return .success(try session.session.commit(commit)) } catch {
                        return .failure(error)
                    }
                }
                return (committed, Self.milliseconds(clock.now - start))
            }()
            let (saved, saveMilliseconds) = await saving
            let (committed, stateMilliseconds) = await committing
            var saveProblem: String?
            if case .failure(let error)? = saved {
                // Served, but not on disk: a restart would serve the previous file. The run says so.
                saveProblem =
                    "the new snapshot is served but could not be saved to disk (\(error)); "
                    + "a restart serves the previous one until a sync saves again"
                self.logger.error("\(model.name): \(saveProblem!)", metadata: ["run": "\(runID)"])
            }
            timings.append(("save_ms", saveMilliseconds))
            timings.append(("state_ms", stateMilliseconds))
            var stateWarning: String?
            var failures: [String: FailedRowState] = [:]
            switch committed {
            case .success(let states):
                failures = Dictionary(states.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            case .failure(let error):
                stateWarning =
                    "the snapshot is served, but the sync state could not be saved in the warehouse (\(error)); the next run reads every row"
                self.logger.warning("\(model.name): \(stateWarning!)")
            }
            progress.update { run in
                run.rowsAdded = Int64(result.difference.added)
                run.rowsChanged = Int64(result.difference.changed)
                run.rowsRemoved = Int64(result.difference.removed)
                run.rowsFailed = Int64(result.rejectedRows.count)
                run.issues = result.issues.map { issue in
                    let state = issue.key.flatMap { failures[$0] }
                    return RunIssueRecord(
                        rowNumber: issue.rowNumber, key: issue.key,
                        reason: Self.annotate(issue, state, maxAttempts: self.limits.retry.maxAttempts),
                        attempt: state?.attempts, givenUp: state?.givenUp
                    )
                }
                run.phase = .done
                run.status = result.rejectedRows.isEmpty && saveProblem == nil ? .success : .partialSuccess
                run.error = [saveProblem, stateWarning].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
                run.finishedAtMilliseconds = self.now()
            }
        case .failure(let error):
            let interrupted = progress.isInterrupted
            let cancelled = progress.isCancelled && !interrupted
            progress.update { run in
                run.status = .failed
                run.error =
                    interrupted
                    ? "interrupted: the server stopped during the run; it runs again at the next start"
                    : cancelled
                        ? "cancelled before it finished; the served snapshot and the sync state are unchanged"
                        : error.description
                run.interrupted = interrupted
                run.cancelled = cancelled
                run.finishedAtMilliseconds = self.now()
            }
        }
        let run = progress.run
        do { try self.catalog.saveRun(run) } catch {
            self.logger.error("cannot record the outcome of run \(runID) of \(model.name) in the catalog: \(error)")
        }
        self.recordMetrics(run: run)
        self.running[model.name] = nil
        self.runsByID[Int64(runID)] = nil  // The catalog has it now.
        self.tasks[Int64(runID)] = nil
        var phases: Logger.Metadata = [:]
        for (phase, value) in timings { phases[phase] = "\(value)" }
        if run.status == .failed {
            // A failed run is one line with its cause, at error level, whatever the log level filters out.
            self.logger.error(
                "sync of \(model.name) failed: \(run.error ?? "no cause recorded")",
                metadata: ["model": "\(model.name)", "run": "\(runID)"])
        }
        self.logger.info(
            "sync finished",
            metadata: phases.merging([
                "model": "\(model.name)", "run": "\(runID)", "status": "\(run.status.rawValue)",
                "added": "\(run.rowsAdded)", "changed": "\(run.rowsChanged)", "removed": "\(run.rowsRemoved)",
                "failed": "\(run.rowsFailed)", "read": "\(run.rowsRead)",
                "ms": "\((run.finishedAtMilliseconds ?? 0) - run.startedAtMilliseconds)",
            ]) { first, _ in first }
        )
    }

    /// A row issue's reason with where its retries stand.
    static func annotate(_ issue: RowIssue, _ state: FailedRowState?, maxAttempts: Int) -> String {
        guard let state else { return issue.reason }
        if state.givenUp {
            return "\(issue.reason) (given up after \(state.attempts) attempts; retried only if the row changes)"
        }
        return "\(issue.reason) (attempt \(state.attempts) of \(maxAttempts); retried on the next sync)"
    }

    /// Hands a warehouse session from the Dispatch thread that opened it to the one that commits it; only one
    /// thread uses it at a time.
    final class SessionBox: @unchecked Sendable {
        let session: any SyncSession
        init(_ session: any SyncSession) { self.session = session }
    }

    struct ExtractResult: Sendable {
        var snapshot: ModelSnapshot
        var columns: [CatalogColumn]
        var fingerprint: String
        var incremental: Bool
        var difference: (added: Int, changed: Int, removed: Int)
        var issues: [RowIssue]
        var accepted: [RowChecksum]
        var rejectedRows: [RejectedRow]
        var removedKeys: [String]
        var session: SessionBox
        /// Milliseconds per phase, for the log.
        var timings: [(String, Int64)]
    }

    /// The blocking part of a run: open a warehouse session, read the rows that changed since the served
    /// snapshot (or all of them), and build the new snapshot: the changes applied to the old one, or fresh.
    private static func extract(
        model: ModelRecord, stateKey: String, warehouse: any Warehouse, limits: Limits, runID: UInt64,
        progress: RunProgress,
        previous: ModelSnapshot?, full: Bool
    ) -> Result<ExtractResult, SyncError> {
        var timings: [(String, Int64)] = []
        let clock = ContinuousClock()
        var mark = clock.now
        func lap(_ phase: String) {
            let now = clock.now
            timings.append((phase, Self.milliseconds(now - mark)))
            mark = now
        }
        do throws(SyncError) {
            let source: ModelSource = model.sourceQuery.isEmpty ? .table(model.sourceTable) : .query(model.sourceQuery)
            let session: any SyncSession
            let columns: [SourceColumn]
            let expected: Int?
            let checkpoint: StateCheckpoint?
            do {
                session = try warehouse.openSyncSession(model: stateKey, source: source)
                columns = try session.describe()
                expected = try session.estimatedRowCount()
                checkpoint = try session.checkpoint()
            } catch { throw .warehouse(error) }
            lap("open_ms")
            try Self.check(columns: columns, primaryKey: model.primaryKey, limits: limits)
            let schema = columns.map { ColumnSchema(name: $0.name, type: $0.type) }
            let fingerprint = columns.map { "\($0.name):\($0.type.rawValue)" }.joined(separator: ",")
            // Only changes are read when the state describes exactly the snapshot being served.
            let incremental =
                !full && previous != nil && previous?.schema == schema
                && checkpoint?.snapshotVersion == previous?.version && checkpoint?.columns == fingerprint
            progress.update { $0.rowsExpected = incremental ? 0 : Int64(expected ?? 0) }
            var sink: StateCapturingSink
            do {
                sink = StateCapturingSink(
                    builder: try SnapshotBuilder(
                        schema: schema, primaryKey: model.primaryKey,
                        expectedRows: incremental ? 0 : min(expected ?? 0, limits.maxRows), maxRows: limits.maxRows,
                        maxRowBytes: limits.maxRowBytes, maxRecordedIssues: limits.maxRecordedIssues
                    ), maxRecordedIssues: limits.maxRecordedIssues)
            } catch { throw .snapshot(error) }
            let removed: [String]
            do {
                if !incremental { try session.resetRows() }
                try session.scan(columns: columns, primaryKey: model.primaryKey, changedOnly: incremental, into: &sink)
                { rows in
                    progress.update { $0.rowsRead = Int64(rows) }
                    return !progress.isCancelled
                }
                lap("read_ms")
                removed = incremental ? try session.removedKeys() : []
                lap("removed_ms")
            } catch { throw .warehouse(error) }
            let delta: ModelSnapshot
            do { delta = try sink.builder.build(model: model.name, version: runID) } catch { throw .snapshot(error) }
            var snapshot = delta
            if incremental, let previous {
                var dropping = [Bool](repeating: false, count: previous.rowCount)
                let touched = sink.accepted.lazy.map(\.key) + sink.rejected.lazy.compactMap(\.key) + removed
                for key in touched { if let row = Self.row(in: previous, keyText: key) { dropping[row] = true } }
                do {
                    snapshot = try previous.merging(delta, dropping: dropping, version: runID, maxRows: limits.maxRows)
                } catch {
                    throw .snapshot(error)
                }
            }
            lap("build_ms")
            let difference = snapshot.diff(from: previous)
            lap("diff_ms")
            // Before publishing: readers then find the cache on 2 MiB pages from their first lookup.
            let pages = snapshot.backWithHugePages()
            lap("huge_pages_ms")
            timings.append(("huge_page_mib", Int64(pages.bytes >> 20)))
            return .success(
                ExtractResult(
                    snapshot: snapshot, columns: columns.map(CatalogColumn.init), fingerprint: fingerprint,
                    incremental: incremental,
                    difference: difference, issues: sink.issues,
                    accepted: sink.accepted, rejectedRows: sink.rejected, removedKeys: removed,
                    session: SessionBox(session),
                    timings: timings
                ))
        } catch {
            return .failure(error)
        }
    }

    /// Whole milliseconds of `duration`, for the phase timings in the log.
    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The row of `snapshot` whose key the warehouse rendered as `text`: a time is parsed, other keys go
    /// through the snapshot's own text lookup (decimal text for an integer key).
    static func row(in snapshot: ModelSnapshot, keyText text: String) -> Int? {
        guard snapshot.schema[snapshot.keyColumn].type == .timestamp else { return snapshot.row(for: .string(text)) }
        return Timestamp.parseMicroseconds(text).flatMap { snapshot.row(forInt: $0) }
    }
}

/// Feeds a state-session scan into a snapshot builder: column 0 (the key as text) and column 1 (the row's
/// checksum) are kept aside per row, the rest go to the builder, and each row ends up accepted or rejected.
struct StateCapturingSink: RowSink {
    var builder: SnapshotBuilder
    private var key: String?
    private var checksum: Int64 = 0
    private(set) var accepted: [RowChecksum] = []
    private(set) var rejected: [RejectedRow] = []
    /// The first rejected rows with their keys (the builder cannot know a key when a cell before it failed).
    private(set) var issues: [RowIssue] = []

    private let maxRecordedIssues: Int

    init(builder: SnapshotBuilder, maxRecordedIssues: Int) {
        self.builder = builder
        self.maxRecordedIssues = maxRecordedIssues
    }

    private mutating func reject(_ reason: String) {
        self.rejected.append(RejectedRow(key: self.key, checksum: self.checksum, reason: reason))
        if self.issues.count < self.maxRecordedIssues {
            self.issues.append(RowIssue(rowNumber: self.builder.scannedRows, key: self.key, reason: reason))
        }
    }

    mutating func appendNull(_ column: Int) {
        switch column {
        case 0: self.key = nil
        case 1: self.checksum = 0
        default: self.builder.appendNull(column - 2)
        }
    }

    mutating func appendInt64(_ column: Int, _ value: Int64) {
        if column == 1 { self.checksum = value } else { self.builder.appendInt64(column - 2, value) }
    }

    mutating func appendDouble(_ column: Int, _ value: Double) { self.builder.appendDouble(column - 2, value) }
    mutating func appendBool(_ column: Int, _ value: Bool) { self.builder.appendBool(column - 2, value) }
    mutating func appendTimestamp(_ column: Int, _ microseconds: Int64) {
        self.builder.appendTimestamp(column - 2, microseconds)
    }

    mutating func appendString(_ column: Int, _ utf8: UnsafeRawBufferPointer) {
        if column == 0 {
            self.key = String(decoding: utf8, as: UTF8.self)
        } else {
            self.builder.appendString(column - 2, utf8)
        }
    }

    mutating func endRow() {
        let before = self.builder.rejectedRows
        self.builder.endRow()
        if self.builder.rejectedRows > before {
            self.reject(self.builder.lastRejection)
        } else if let key = self.key {
            self.accepted.append(RowChecksum(key: key, checksum: self.checksum))
        }
        self.key = nil
        self.checksum = 0
    }

    mutating func rejectRow(reason: String) {
        self.builder.rejectRow(reason: reason)
        self.reject(reason)
        self.key = nil
        self.checksum = 0
    }
}

extension CatalogColumn {
    /// The catalog's record of an introspected column.
    package init(_ column: SourceColumn) {
        self.init(name: column.name, type: column.type.rawValue, sourceType: column.sourceType)
    }
}

extension String {
    /// nil for the empty string.
    var nilIfEmpty: String? { self.isEmpty ? nil : self }
}
