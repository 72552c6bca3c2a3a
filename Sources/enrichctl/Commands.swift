import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON
import ModelCache

#if canImport(Glibc)
    import Glibc
#endif

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the server is serving.",
        discussion: "Example:\n  enrichctl health --server 127.0.0.1:7443"
    )
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await withClient(self.connection) { client in
            let health = try await client.health()
            if self.connection.wantsJSON {
                printJSON(
                    .object(
                        JSONObject([
                            ("status", .string(health.status)), ("version", .string(health.version)),
                            ("models_loaded", .int(Int64(health.modelsLoaded))),
                        ])))
            } else {
                print(
                    Table.render(
                        ["status", "version", "models loaded"],
                        [[health.status, health.version, "\(health.modelsLoaded)"]]))
            }
        }
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, show, change and delete models.",
        subcommands: [Create.self, List.self, Get.self, Update.self, Delete.self]
    )

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a model's table or query and key; columns are introspected again.",
            discussion:
                "Example (refused if someone changed it since version 2):\n  enrichctl models update users --table users_v2 --primary-key id --expected-version 2"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name.") var name: String
        @Option(help: "Warehouse table to read.") var table: String?
        @Option(help: "SQL query to read instead of a table.") var query: String?
        @Option(help: "Primary-key column.") var primaryKey: String
        @Option(help: "Version you read; refused if it changed (0 skips the check).") var expectedVersion: UInt64 = 0

        func validate() throws {
            guard (self.table == nil) != (self.query == nil) else {
                throw ValidationError("give exactly one of --table and --query")
            }
        }

        func run() async throws {
            try await withClient(self.connection) { client in
                let model = try await client.updateModel(
                    UpdateModelRequest(
                        name: self.name, table: self.table ?? "", query: self.query ?? "", primaryKey: self.primaryKey,
                        expectedVersion: self.expectedVersion
                    ))
                if self.connection.wantsJSON { printJSON(model.json) } else { printModel(model) }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a model and its sync history (refused while a destination mapping uses it).",
            discussion: "Example:\n  enrichctl models delete old_users"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name.") var name: String

        func run() async throws {
            try await withClient(self.connection) { client in
                try await client.deleteModel(self.name)
                if self.connection.wantsJSON {
                    printJSON(.object(JSONObject([("deleted", .string(self.name))])))
                } else {
                    print("deleted \(self.name)")
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a model from a table or a SQL query; its columns are introspected.",
            discussion: """
                Examples:
                  enrichctl models create users --table users --primary-key id
                  enrichctl models create pro_users --query \\
                      "SELECT id, email FROM users WHERE plan = 'pro'" --primary-key id
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name: letters, digits, '_', '-', '.'; starts with a letter.") var name: String
        @Option(help: "Warehouse table to read.") var table: String?
        @Option(help: "SQL query to read instead of a table.") var query: String?
        @Option(help: "Primary-key column.") var primaryKey: String
        @Option(help: "Warehouse name (default: the embedded warehouse).") var warehouse: String?

        func validate() throws {
            guard (self.table == nil) != (self.query == nil) else {
                throw ValidationError("give exactly one of --table and --query")
            }
        }

        func run() async throws {
            try await withClient(self.connection) { client in
                let model = try await client.createModel(
                    CreateModelRequest(
                        name: self.name, warehouse: self.warehouse ?? "", table: self.table ?? "",
                        query: self.query ?? "",
                        primaryKey: self.primaryKey
                    ))
                if self.connection.wantsJSON { printJSON(model.json) } else { printModel(model) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List models.", discussion: "Example:\n  enrichctl models list --json")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Models per page (1-1000).") var pageSize: UInt32 = 100
        @Option(help: "Start after this model name (from a previous page).") var pageToken = ""
        @Option(help: "Only models whose name starts with this.") var prefix = ""

        func run() async throws {
            try await withClient(self.connection) { client in
                let page = try await client.listModels(
                    pageSize: self.pageSize, pageToken: self.pageToken, namePrefix: self.prefix)
                if self.connection.wantsJSON {
                    printJSON(
                        .object(
                            JSONObject([
                                ("models", .array(page.models.map(\.json))),
                                ("next_page_token", .string(page.nextPageToken)),
                            ])))
                    return
                }
                let now = WallClock.wallMilliseconds()
                print(
                    Table.render(
                        ["name", "warehouse", "source", "primary key", "cached rows", "age", "last sync"],
                        page.models.map {
                            [
                                $0.name, $0.warehouse, $0.table.isEmpty ? "query" : $0.table, $0.primaryKey,
                                "\($0.cachedRows)", $0.age(now: now),
                                $0.lastRunID == 0 ? "never" : "\($0.lastStatus) (run \($0.lastRunID))",
                            ]
                        }
                    ))
                if !page.nextPageToken.isEmpty { print("more: --page-token \(page.nextPageToken)") }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one model and its columns.", discussion: "Example:\n  enrichctl models get users")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Model name.") var name: String

        func run() async throws {
            try await withClient(self.connection) { client in
                let model = try await client.getModel(self.name)
                if self.connection.wantsJSON { printJSON(model.json) } else { printModel(model) }
            }
        }
    }
}

func printModel(_ model: Model) {
    print(
        Table.render(
            ["name", "warehouse", "source", "primary key", "cached rows"],
            [
                [
                    model.name, model.warehouse, model.table.isEmpty ? model.query : model.table, model.primaryKey,
                    "\(model.cachedRows)",
                ]
            ]
        ))
    if model.servedRunID > 0 {
        print(
            "serving run \(model.servedRunID), synced \(time(model.servedAtMilliseconds)) "
                + "(\(model.age(now: WallClock.wallMilliseconds())) ago)")
    }
    if model.lastRunID > 0 && model.lastRunID != model.servedRunID {
        print(
            "last run \(model.lastRunID): \(model.lastStatus)"
                + (model.lastRunError.isEmpty ? "" : ": \(model.lastRunError)"))
    }
    print()
    print(
        Table.render(["column", "type", "source type"], model.columns.map { [$0.name, $0.type.name, $0.sourceType] }))
}

struct Lookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look up rows by primary key.",
        discussion: """
            Examples:
              enrichctl lookup users 1 2 3 --columns email,plan
              enrichctl lookup products SKU-0000042 --json

            --json prints one object per key: {"key": "1", "found": true, "row": {"email": ...}} ("row" is \
            null when not found). Timestamps are ISO 8601 in UTC, as Enrich writes them.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Model name.") var model: String
    @Argument(help: "Primary keys.") var keys: [String]
    @Option(help: "Comma-separated columns (default: all).") var columns: String?

    func run() async throws {
        try await withClient(self.connection) { client in
            let columns = self.columns.map { $0.split(separator: ",").map(String.init) } ?? []
            let response = try await client.lookup(model: self.model, stringKeys: self.keys, columns: columns)
            if self.connection.wantsJSON {
                printJSON(
                    .array(
                        self.keys.indices.map { index in
                            // Columns sit under "row", so a column named "key" or "found" cannot collide.
                            let row: JSONValue =
                                response.found[index]
                                ? .object(JSONObject(response.columns.map { ($0.name, $0.json(at: index)) })) : .null
                            return .object(
                                JSONObject([
                                    ("key", .string(self.keys[index])), ("found", .bool(response.found[index])),
                                    ("row", row),
                                ]))
                        }))
                return
            }
            print(
                Table.render(
                    ["key", "found"] + response.columns.map(\.name),
                    self.keys.indices.map { index in
                        [self.keys[index], response.found[index] ? "yes" : "no"]
                            + response.columns.map { column in
                                response.found[index] ? JSONWriter.string(column.json(at: index)) : ""
                            }
                    }
                ))
        }
    }
}

struct EnrichCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrich",
        abstract: "Enrich JSON events with model columns.",
        discussion: """
            Examples:
              enrichctl enrich users --key-path userId --enrich plan=traits.plan \\
                  --enrich email=traits.email --event '{"type":"track","userId":"42"}'
              enrichctl enrich --destination braze --event-file events.ndjson --json
              cat events.ndjson | enrichctl enrich --destination braze --event-file - --json

            --event-file reads newline-delimited JSON (one event per line; blank lines skipped; "-" is stdin) \
            and sends it in batches of --batch-size; with --json the answer is NDJSON too, one line per event in \
            input order, so it can be piped on.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Model name (leave out with --destination).") var model: String?
    @Option(help: "Dotted path of the event property holding the primary key.") var keyPath: String?
    @Option(help: "column=dotted.key: copy a model column into the event (repeatable).") var enrich: [String] = []
    @Option(help: "Send the events through this destination's mappings instead.") var destination: String?
    @Option(help: "An event as a JSON object (repeatable).") var event: [String] = []
    @Option(help: "A file of events, one JSON object per line (NDJSON); - reads stdin.") var eventFile: String?
    @Option(help: "Events per Enrich call with --event-file (1-1000; the server's limit is 1,000).")
    var batchSize = 500

    func validate() throws {
        guard !self.event.isEmpty || self.eventFile != nil else {
            throw ValidationError("give at least one --event, or --event-file")
        }
        guard self.event.isEmpty || self.eventFile == nil else {
            throw ValidationError("give --event or --event-file, not both")
        }
        guard (1...1_000).contains(self.batchSize) else { throw ValidationError("--batch-size must be 1...1000") }
        if self.destination != nil {
            guard self.model == nil, self.keyPath == nil, self.enrich.isEmpty else {
                throw ValidationError("--destination replaces the model, --key-path and --enrich")
            }
        } else {
            guard self.model != nil, self.keyPath != nil else {
                throw ValidationError("give a model and --key-path, or --destination")
            }
        }
        for pair in self.enrich where !pair.contains("=") {
            throw ValidationError("--enrich takes column=key, got '\(pair)'")
        }
    }

    func run() async throws {
        try await withClient(self.connection) { client in
            let enrichments = self.enrich.map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return Enrichment(column: parts[0], key: parts[1])
            }
            func send(_ events: [[UInt8]]) async throws -> EnrichResponse {
                if let destination = self.destination {
                    return try await client.enrich(destination: destination, events: events)
                }
                return try await client.enrich(
                    model: self.model ?? "", keyPath: self.keyPath ?? "", enrichments: enrichments, events: events)
            }
            guard let path = self.eventFile else {
                let response = try await send(self.event.map { Array($0.utf8) })
                if self.connection.wantsJSON {
                    printJSON(.array(response.events.map(\.json)))
                } else {
                    self.printTable(response.events)
                }
                return
            }
            let lines = try LineReader(path: path)
            var batch: [[UInt8]] = []
            var batchLines: [Int] = []
            var answered: [EnrichedEvent] = []
            func flush() async throws {
                guard !batch.isEmpty else { return }
                let response = try await send(batch)
                batch.removeAll(keepingCapacity: true)
                if self.connection.wantsJSON {
                    // Each answer names its input line (the server's "event N" counts within one call).
                    for (event, line) in zip(response.events, batchLines) {
                        guard case .object(var object) = event.json else { continue }
                        object["line"] = .int(Int64(line))
                        printJSON(.object(object))
                    }
                } else {
                    answered += response.events
                }
                batchLines.removeAll(keepingCapacity: true)
            }
            var number = 0
            while let line = lines.next() {
                number += 1
                guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { continue }
                batch.append(line)
                batchLines.append(number)
                if batch.count == self.batchSize { try await flush() }
            }
            try await flush()
            if !self.connection.wantsJSON { self.printTable(answered) }
        }
    }

    func printTable(_ events: [EnrichedEvent]) {
        if self.destination != nil {
            print(
                Table.render(
                    ["outcome", "reason", "mapping", "output"],
                    events.flatMap { event in
                        event.mappings.isEmpty
                            ? [[event.outcome.name, event.error.isEmpty ? event.reason.name : event.error, "", ""]]
                            : event.mappings.map {
                                [
                                    event.outcome.name, event.reason.name, $0.mapping,
                                    String(decoding: $0.output, as: UTF8.self),
                                ]
                            }
                    }
                ))
            return
        }
        print(
            Table.render(
                ["outcome", "reason", "event"],
                events.map {
                    [
                        $0.outcome.name, $0.error.isEmpty ? $0.reason.name : $0.error,
                        String(decoding: $0.event, as: UTF8.self),
                    ]
                }
            ))
    }
}

extension EnrichedEvent {
    var json: JSONValue {
        var object = JSONObject([("outcome", .string(self.outcome.name))])
        if self.reason != .none { object["reason"] = .string(self.reason.name) }
        if !self.error.isEmpty { object["error"] = .string(self.error) }
        object["event"] = (try? JSONParser.parse(self.event)) ?? .string(String(decoding: self.event, as: UTF8.self))
        if !self.mappings.isEmpty { object["mappings"] = .array(self.mappings.map(\.json)) }
        return .object(object)
    }
}

/// Lines of a file or stdin ("-"), read as they come, without their newline.
final class LineReader {
    private let file: UnsafeMutablePointer<FILE>
    private let ownsFile: Bool
    /// getline's buffer, reused from line to line.
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    init(path: String) throws {
        if path == "-" {
            // A stream of its own on descriptor 0: the C `stdin` global is not concurrency-safe to touch.
            guard let file = fdopen(0, "r") else { throw ValidationError("cannot read stdin") }
            self.file = file
            self.ownsFile = false
        } else {
            self.file = try openLocalFile(path)
            self.ownsFile = true
        }
    }

    deinit {
        free(self.buffer)
        if self.ownsFile { fclose(self.file) }
    }

    func next() -> [UInt8]? {
        let count = getline(&self.buffer, &self.capacity, self.file)
        guard count >= 0, let buffer = self.buffer else { return nil }
        var bytes = Array(UnsafeRawBufferPointer(start: buffer, count: count))
        while bytes.last == UInt8(ascii: "\n") || bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }
}
