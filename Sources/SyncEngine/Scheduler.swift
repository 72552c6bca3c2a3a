package import Catalog
package import EnrichPolicy
package import Logging
import ModelCache

/// Starts scheduled syncs when they are due. Time is passed in (`tick(now:)`), so tests drive it with any clock
/// and no sleeps; `run()` ticks once a second on the wall clock. Schedules and their next run times live in the
/// catalog, so a restarted server picks up where it left off.
package actor Scheduler {
    private let engine: SyncEngine
    private let catalog: Catalog
    private let logger: Logger
    /// The schedule interval bounds, from the sync slice of the policy.
    private let limits: SyncLimits

    package init(engine: SyncEngine, catalog: Catalog, limits: SyncLimits = SyncLimits(), logger: Logger) {
        self.engine = engine
        self.catalog = catalog
        self.limits = limits
        self.logger = logger
    }

    /// Sets a model's schedule and returns it with its next run.
    /// - Throws: `.invalidModel` for a bad schedule text, `.catalog(.modelNotFound)`.
    package func set(model: String, schedule text: String, now: Int64) throws(SyncError) -> ScheduleRecord {
        let schedule: Schedule
        do { schedule = try Schedule(parsing: text, limits: self.limits) } catch {
            throw .invalidModel("schedule: \(error)")
        }
        let record = ScheduleRecord(
            model: model, spec: schedule.description, nextRunMilliseconds: schedule.nextRun(after: now))
        do { try self.catalog.setSchedule(record) } catch { throw .catalog(error) }
        return record
    }

    /// Triggers every model due at `now` and moves its next run past `now`. A model still syncing is not
    /// started again (its turn is skipped, not queued). Returns the models started.
    @discardableResult
    package func tick(now: Int64) async -> [String] {
        let schedules: [ScheduleRecord]
        do { schedules = try self.catalog.schedules() } catch {
            self.logger.warning("cannot read schedules: \(error)")
            return []
        }
        var started: [String] = []
        for record in schedules {
            guard let due = record.nextRunMilliseconds, due <= now else { continue }
            let schedule: Schedule
            do { schedule = try Schedule(parsing: record.spec, limits: self.limits) } catch {
                // Stored before the limits changed: it stays until the model's schedule is set again.
                self.logger.warning(
                    "model \(record.model): schedule '\(record.spec)' is not valid under the current limits (\(error)); not run"
                )
                continue
            }
            do {
                _ = try await self.engine.trigger(model: record.model)
                started.append(record.model)
            } catch .alreadyRunning {
                self.logger.info("scheduled sync of \(record.model) skipped: the previous run is still going")
            } catch {
                self.logger.warning("scheduled sync of \(record.model) could not start: \(error)")
            }
            var next = record
            next.nextRunMilliseconds = schedule.nextRun(after: now)
            try? self.catalog.setSchedule(next)
        }
        return started
    }

    /// Ticks once a second until cancelled.
    package func run() async {
        while !Task.isCancelled {
            await self.tick(now: WallClock.wallMilliseconds())
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
