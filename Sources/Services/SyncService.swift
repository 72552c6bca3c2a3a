import Catalog
import RPCCall
import RPCCore
import RPCMessages
import SyncEngine

/// Sync RPCs: trigger a run, read one, list a model's runs, and stream a run's progress.
struct SyncService: Sendable {
    let engine: SyncEngine
    let catalogRuns: @Sendable (String, Int) throws -> [SyncRun]
    let audit: AuditLog
    let scheduler: Scheduler
    let catalog: Catalog
    let limits: Limits
    let now: @Sendable () -> Int64

    static func message(_ record: ScheduleRecord) -> ModelSchedule {
        ModelSchedule(model: record.model, schedule: record.spec, nextRunMilliseconds: record.nextRunMilliseconds ?? 0)
    }

    func register(into registry: inout Router) {
        registry.unary(Methods.triggerSync) { (request: TriggerSyncRequest, context) in
            try await self.audit.write(context, object: "model \(request.model)", before: { "" }) {
                guard !request.model.isEmpty else { throw RPCError(.invalidArgument, "model name is empty") }
                let run = SyncRun(try await self.engine.trigger(model: request.model, full: request.fullResync))
                return (run, "{\"sync_run\":\(run.id),\"full_resync\":\(request.fullResync)}")
            }
        }
        registry.unary(Methods.getSyncRun) { (request: GetSyncRunRequest, _) in
            guard request.id > 0, request.id <= UInt64(Int64.max) else {
                throw RPCError(.invalidArgument, "run id must be a positive integer")
            }
            return SyncRun(try await self.engine.run(id: Int64(request.id)))
        }
        registry.unary(Methods.cancelSync) { (request: CancelSyncRequest, context) in
            try await self.audit.write(context, object: "sync run \(request.id)", before: { "" }) {
                guard request.id > 0, request.id <= UInt64(Int64.max) else {
                    throw RPCError(.invalidArgument, "run id must be a positive integer")
                }
                let run = SyncRun(try await self.engine.cancel(runID: Int64(request.id)))
                return (run, "{\"sync_run\":\(run.id),\"status\":\"\(run.status.name)\"}")
            }
        }
        registry.unary(Methods.listRunIssues) { (request: ListRunIssuesRequest, _) in
            guard request.id > 0, request.id <= UInt64(Int64.max) else {
                throw RPCError(.invalidArgument, "run id must be a positive integer")
            }
            let run = try await self.engine.run(id: Int64(request.id))
            return ListRunIssuesResponse(
                runID: request.id, rowsFailed: UInt64(max(0, run.rowsFailed)), issues: run.issues.map(RunIssue.init))
        }
        registry.unary(Methods.listSyncRuns) { (request: ListSyncRunsRequest, _) in
            let limit = request.limit == 0 ? 20 : Int(request.limit)
            guard limit <= self.limits.maxListedRuns else {
                throw RPCError(.invalidArgument, "limit \(limit) exceeds \(self.limits.maxListedRuns)")
            }
            return ListSyncRunsResponse(runs: try self.catalogRuns(request.model, limit))
        }
        registry.unary(Methods.setSchedule) { (request: SetScheduleRequest, context) in
            try await self.audit.write(
                context, object: "model \(request.model)",
                before: {
                    (try? self.catalog.schedules())?.first { $0.model == request.model }.map {
                        "{\"schedule\":\"\($0.spec)\"}"
                    } ?? ""
                }
            ) {
                let record = try await self.scheduler.set(
                    model: request.model, schedule: request.schedule, now: self.now())
                return (Self.message(record), "{\"schedule\":\"\(record.spec)\"}")
            }
        }
        registry.unary(Methods.listSchedules) { (_: ListSchedulesRequest, _) in
            ListSchedulesResponse(schedules: try self.catalog.schedules().map(Self.message))
        }
        registry.serverStreaming(Methods.watchSync) { (request: WatchSyncRequest, _, writer: StreamWriter<SyncRun>) in
            guard request.id > 0, request.id <= UInt64(Int64.max) else {
                throw RPCError(.invalidArgument, "run id must be a positive integer")
            }
            for await run in try await self.engine.watch(id: Int64(request.id)) {
                try await writer.write(SyncRun(run))
            }
        }
    }
}
