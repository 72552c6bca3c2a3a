import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON
import ModelCache

#if canImport(Glibc)
    import Glibc
#endif

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run syncs and read their history.",
        subcommands: [
            Trigger.self, Status.self, Runs.self, Watch.self, Cancel.self, Errors.self, ScheduleCommand.self,
            Schedules.self,
        ]
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
                if self.connection.wantsJSON {
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
                    try await follow(client: client, runID: run.id, json: self.connection.wantsJSON)
                } else if self.connection.wantsJSON {
                    printJSON(run.json)
                } else {
                    print("started run \(run.id) of \(run.model); follow it with: enrichctl sync watch \(run.id)")
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one run, with its whole error.", discussion: "Example:\n  enrichctl sync status 7")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Run id.") var id: UInt64

        func run() async throws {
            try await withClient(self.connection) { client in
                let run = try await client.syncRun(id: self.id)
                if self.connection.wantsJSON {
                    printJSON(run.json)
                } else {
                    print(run.details)
                }
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List runs, newest first: one model's, or every model's.",
            discussion: """
                Examples:
                  enrichctl sync runs                  # the latest 20 runs of every model
                  enrichctl sync runs users --limit 5
                """)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name (default: every model).") var model: String?
        @Option(help: "Most runs to show (1-1000).") var limit: UInt32 = 20

        func run() async throws {
            try await withClient(self.connection) { client in
                let runs = try await client.listSyncRuns(model: self.model ?? "", limit: self.limit)
                if self.connection.wantsJSON {
                    printJSON(.array(runs.map(\.json)))
                } else {
                    print(Table.render(SyncRun.tableHeaders, runs.map(\.tableRow)))
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a run in progress.",
            discussion: """
                The run ends FAILED and cancelled; the served snapshot and the sync state in the warehouse stay \
                as they were, so the next run reads what this one would have. Prints the run as it ended.

                Example:
                  enrichctl sync cancel 7
                """)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Run id.") var id: UInt64

        func run() async throws {
            try await withClient(self.connection) { client in
                let run = try await client.cancelSync(id: self.id)
                if self.connection.wantsJSON { printJSON(run.json) } else { print(run.details) }
            }
        }
    }

    struct Errors: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the rows a run left out, with key, reason and attempt.",
            discussion: """
                Rows are left out for a NULL or duplicate primary key, a value that does not convert, or a row \
                over the size limit. Each is retried on later syncs until it has failed 5 times or for 14 days \
                ("given up"); a given-up row that changes is tried afresh. The server keeps the first 1,000 per \
                run.

                Example:
                  enrichctl sync errors 7
                """)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Run id.") var id: UInt64

        func run() async throws {
            try await withClient(self.connection) { client in
                let response = try await client.runIssues(id: self.id)
                if self.connection.wantsJSON {
                    printJSON(
                        .object(
                            JSONObject([
                                ("run", .int(Int64(response.runID))), ("rows_failed", .int(Int64(response.rowsFailed))),
                                (
                                    "rows",
                                    .array(
                                        response.issues.map {
                                            .object(
                                                JSONObject([
                                                    ("row_number", .int(Int64($0.rowNumber))),
                                                    ("key", $0.keyPresent ? .string($0.key) : .null),
                                                    ("reason", .string($0.reason)),
                                                    ("attempt", .int(Int64($0.attempt))),
                                                    ("given_up", .bool($0.givenUp)),
                                                ]))
                                        })
                                ),
                            ])))
                    return
                }
                guard !response.issues.isEmpty else {
                    print("run \(response.runID) left no row out")
                    return
                }
                print(
                    Table.render(
                        ["row", "key", "attempt", "reason"],
                        response.issues.map {
                            [
                                "\($0.rowNumber)", $0.keyPresent ? $0.key : "(null)",
                                $0.attempt == 0 ? "-" : $0.givenUp ? "\($0.attempt), given up" : "\($0.attempt)",
                                $0.reason,
                            ]
                        }))
                if response.rowsFailed > UInt64(response.issues.count) {
                    print("(\(response.issues.count) of \(response.rowsFailed) rows shown; the server keeps the first)")
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
                try await follow(client: client, runID: self.id, json: self.connection.wantsJSON)
            }
        }
    }
}

/// Follows a run: a progress bar on a terminal (or a line per update otherwise), then a summary. Exits non-zero
/// when the run failed.
func follow(client: EnrichClient, runID: UInt64, json: Bool) async throws {
    let interactive = isatty(STDERR_FILENO) == 1
    var last: SyncRun?
    for try await run in client.watchSync(id: runID) {
        last = run
        guard !json else { continue }
        // Rows per second since the run started (by the server's clock), not since this watch began: a watch
        // that joins a run half-way would otherwise divide its rows by a fraction of a second.
        let end = run.finishedAtMilliseconds > 0 ? run.finishedAtMilliseconds : WallClock.wallMilliseconds()
        let elapsed = end - run.startedAtMilliseconds
        let rate = elapsed >= 500 ? "\(Int64(Double(run.rowsRead) * 1_000 / Double(elapsed))) rows/s" : "- rows/s"
        let fraction = run.rowsExpected > 0 ? min(1, Double(run.rowsRead) / Double(run.rowsExpected)) : 0
        let filled = Int(fraction * 30)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        let line =
            "[\(bar)] \(Int(fraction * 100))%  \(run.rowsRead)/\(run.rowsExpected) rows  \(rate)  \(run.phase.name)"
        if interactive {
            writeStandardError("\r\(line)   ")
        } else {
            writeStandardError(line + "\n")
        }
    }
    if interactive && !json { writeStandardError("\n") }
    guard let run = last else { return }
    if json { printJSON(run.json) } else { print(run.details) }
    if run.status == .failed { throw ExitCode(1) }
}
