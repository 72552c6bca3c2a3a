import Catalog
import Logging
import ModelCache
import SyncEngine
import Testing
import Warehouses

@Suite("Schedules")
struct ScheduleTests {
    /// 2024-01-01T00:00:00Z, a Monday.
    static let monday: Int64 = 1_704_067_200_000

    @Test("Schedules parse and print back, and bad ones are refused with what is accepted")
    func parsing() throws {
        for text in [
            "manual", "every 15m", "every 2h", "every 1d", "daily 09:30 Europe/Paris", "weekly mon,thu 09:30 UTC",
            "cron */30 * * * *",
        ] {
            #expect(try Schedule(parsing: text).description == text)
        }
        #expect(try Schedule(parsing: "every 60m").description == "every 1h")
        for bad in [
            "every 14m", "every 25h", "daily 25:00", "daily 09:30 Mars/Olympus", "weekly fun 09:30", "cron * * *",
            "cron 60 * * * *", "hourly",
        ] {
            #expect(throws: ScheduleError.self) { try Schedule(parsing: bad) }
        }
    }

    @Test("Next runs: intervals, times of day in a time zone, weekdays and cron")
    func nextRuns() throws {
        let hour: Int64 = 3_600_000
        #expect(try Schedule(parsing: "every 15m").nextRun(after: Self.monday) == Self.monday + hour / 4)
        #expect(try Schedule(parsing: "manual").nextRun(after: Self.monday) == nil)
        // 09:30 in Paris in January is 08:30 UTC.
        #expect(
            try Schedule(parsing: "daily 09:30 Europe/Paris").nextRun(after: Self.monday) == Self.monday + 8 * hour
                + hour / 2)
        // From Monday 00:00, the next Thursday 09:30 UTC is 3 days and 9.5 hours away.
        #expect(
            try Schedule(parsing: "weekly thu 09:30 UTC").nextRun(after: Self.monday) == Self.monday + 81 * hour + hour
                / 2)
        #expect(try Schedule(parsing: "cron */30 * * * *").nextRun(after: Self.monday) == Self.monday + hour / 2)
        #expect(
            try Schedule(parsing: "cron 0 12 * * 0").nextRun(after: Self.monday) == Self.monday + 6 * 24 * hour + 12
                * hour)
        // 2024-02-29
        #expect(try Schedule(parsing: "cron 0 0 29 2 *").nextRun(after: Self.monday) == 1_709_164_800_000)
    }

    @Test("The scheduler starts due syncs, never doubles one still going, and keeps next runs across a restart")
    func scheduler() async throws {
        let fixture = try SyncFixture(setup: "CREATE TABLE t (k INTEGER PRIMARY KEY)")
        try DemoData.generate(path: fixture.warehousePath, sizes: .init(users: 30_000, products: 0))
        try fixture.addModel("users", table: "users", key: "id")
        let scheduler = Scheduler(engine: fixture.engine, catalog: fixture.catalog, logger: Logger(label: "t"))
        let set = try await scheduler.set(model: "users", schedule: "every 15m", now: Self.monday)
        #expect(set.nextRunMilliseconds == Self.monday + 900_000)
        #expect(await scheduler.tick(now: Self.monday + 899_999).isEmpty)
        #expect(await scheduler.tick(now: Self.monday + 900_000) == ["users"])
        // Due again while the first run is still going: skipped, and the next run moves on.
        #expect(await scheduler.tick(now: Self.monday + 1_800_000).isEmpty)
        #expect(try fixture.catalog.schedules().first?.nextRunMilliseconds == Self.monday + 2_700_000)
        await fixture.engine.waitForRuns()
        #expect(try fixture.catalog.runs(model: "users", limit: 10).count == 1)

        let restarted = Scheduler(engine: fixture.engine, catalog: fixture.catalog, logger: Logger(label: "t"))
        #expect(await restarted.tick(now: Self.monday + 2_700_000) == ["users"])
        await fixture.engine.waitForRuns()
        #expect(try fixture.catalog.runs(model: "users", limit: 10).count == 2)
        await #expect(throws: SyncError.catalog(.modelNotFound(name: "ghost"))) {
            try await restarted.set(model: "ghost", schedule: "every 1h", now: 0)
        }
    }
}
