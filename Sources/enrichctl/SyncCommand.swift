import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON

#if canImport(Glibc)
    import Glibc
#endif

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run syncs and read their history.",
        subcommands: [Trigger.self, Status.self, Runs.self, Watch.self, ScheduleCommand.self, Schedules.self]
    )

    struct ScheduleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule",
            abstract: "Set when a model syncs by itself.",
            discussion: """
                Schedules: manual | every 15m … every 24h | daily HH:MM [time zone] | weekly mon,thu HH:MM [time zone] | \
                cron <5 fields, UTC>. Examples:
                  enrichctl sync schedule users "every 1h"
                  enrichctl sync schedule products "daily 02:30 Europe/Paris"
                  enrichctl sync schedule events "cron */30 * * * *"
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name.") var model: String
        @Argument(help: "The schedule, quoted.") var schedule: String

        func run() async throws {
            try await withClient(self.connection) { client in
                let set = try await client.setSchedule(model: self.model, schedule: self.schedule)
                print(
                    Table.render(
                        ["model", "schedule", "next run"], [[set.model, set.schedule, time(set.nextRunMilliseconds)]]))
            }
        }
    }

    struct Schedules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List schedules and their next runs.", discussion: "Example:\n  enrichctl sync schedules")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await withClient(self.connection) { client in
                let schedules = try await client.listSchedules()
                if self.connection.json {
                    printJSON(
                        .array(
                            schedules.map {
                                .object(
                                    JSONObject([
                                        ("model", .string($0.model)), ("schedule", .string($0.schedule)),
                                        ("next_run_ms", .int($0.nextRunMilliseconds)),
                                    ]))
                            }))
                    return
                }
                print(
                    Table.render(
                        ["model", "schedule", "next run"],
                        schedules.map { [$0.model, $0.schedule, time($0.nextRunMilliseconds)] }))
            }
        }
    }

    struct Trigger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a sync of a model.",
            discussion: """
                Examples:
                  enrichctl sync trigger products --watch   # progress, then a summary
                  enrichctl sync trigger products --json    # the run as started
                  enrichctl sync trigger products --full    # re-read every row

                A run normally reads only the rows whose checksum changed since the served snapshot (the checksums \
                live in the warehouse, in _enrich_state); --full forgets them and reads everything.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name.") var model: String
        @Flag(help: "Follow the run until it finishes.") var watch = false
        @Flag(help: "Full resync: read every row instead of only the changed ones.") var full = false

        func run() async throws {
            try await withClient(self.connection) { client in
                let run = try await client.triggerSync(model: self.model, fullResync: self.full)
                if self.watch {
                    try await follow(client: client, runID: run.id, json: self.connection.json)
                } else if self.connection.json {
                    printJSON(run.json)
                } else {
                    print("started run \(run.id) of \(run.model); follow it with: enrichctl sync watch \(run.id)")
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one run.", discussion: "Example:\n  enrichctl sync status 7")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Run id.") var id: UInt64

        func run() async throws {
            try await withClient(self.connection) { client in
                let run = try await client.syncRun(id: self.id)
                if self.connection.json {
                    printJSON(run.json)
                } else {
                    print(Table.render(SyncRun.tableHeaders, [run.tableRow]))
                }
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a model's runs, newest first.",
            discussion: "Example:\n  enrichctl sync runs users --limit 5")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name.") var model: String
        @Option(help: "Most runs to show (1-1000).") var limit: UInt32 = 20

        func run() async throws {
            try await withClient(self.connection) { client in
                let runs = try await client.listSyncRuns(model: self.model, limit: self.limit)
                if self.connection.json {
                    printJSON(.array(runs.map(\.json)))
                } else {
                    print(Table.render(SyncRun.tableHeaders, runs.map(\.tableRow)))
                }
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a run until it finishes.", discussion: "Example:\n  enrichctl sync watch 7")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Run id.") var id: UInt64

        func run() async throws {
            try await withClient(self.connection) { client in
                try await follow(client: client, runID: self.id, json: self.connection.json)
            }
        }
    }
}

/// Follows a run: a progress bar on a terminal (or a line per update otherwise), then a summary. Exits non-zero
/// when the run failed.
func follow(client: EnrichClient, runID: UInt64, json: Bool) async throws {
    let interactive = isatty(STDERR_FILENO) == 1
    let clock = ContinuousClock()
    let start = clock.now
    var last: SyncRun?
    for try await run in client.watchSync(id: runID) {
        last = run
        guard !json else { continue }
        let since = (clock.now - start).components  // one reading: seconds and fraction of the same instant
        let elapsed = Double(since.seconds) + Double(since.attoseconds) / 1e18
        let rate = elapsed > 0 ? Int(Double(run.rowsRead) / elapsed) : 0
        let fraction = run.rowsExpected > 0 ? min(1, Double(run.rowsRead) / Double(run.rowsExpected)) : 0
        let filled = Int(fraction * 30)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        let line =
            "[\(bar)] \(Int(fraction * 100))%  \(run.rowsRead)/\(run.rowsExpected) rows  \(rate) rows/s  \(run.phase.name)"
        if interactive {
            writeStandardError("\r\(line)   ")
        } else {
            writeStandardError(line + "\n")
        }
    }
    if interactive && !json { writeStandardError("\n") }
    guard let run = last else { return }
    if json { printJSON(run.json) } else { print(Table.render(SyncRun.tableHeaders, [run.tableRow])) }
    if run.status == .failed { throw ExitCode(1) }
}
