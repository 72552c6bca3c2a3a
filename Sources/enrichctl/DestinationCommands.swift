import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON

#if canImport(Glibc)
    import Glibc
#endif

struct Destinations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, show, update and delete destinations and their Segment mappings.",
        discussion: """
            A mappings file is JSON:
              {"mappings": [{
                 "name": "orders",
                 "condition": "type = \\"track\\" and event = \\"Order Completed\\"",
                 "matches": [{"model": "products", "match_property": "properties.sku"}],
                 "enrichments": [{"model": "products", "column": "brand", "key": "properties.brand"}],
                 "fields": {"name": {"@path": "$.__segment_entities.products.name"}}
              }]}
            Conditions are Segment FQL and fields are Segment mapping-kit, pasted as they are.
            """,
        subcommands: [Create.self, Get.self, List.self, Update.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a destination from a mappings file.",
            discussion: "Example:\n  enrichctl destinations create braze --file braze-mappings.json"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Destination name.") var name: String
        @Option(help: "JSON file with the mappings (see `enrichctl destinations --help`).") var file: String

        func run() async throws {
            let mappings = try reportingFailures { try readMappings(self.file) }
            try await withClient(self.connection) { client in
                printDestination(
                    try await client.createDestination(CreateDestinationRequest(name: self.name, mappings: mappings)),
                    json: self.connection.wantsJSON)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a destination, its mappings and its outcome counts.",
            discussion: "Example:\n  enrichctl destinations get braze")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Destination name.") var name: String

        func run() async throws {
            try await withClient(self.connection) { client in
                printDestination(try await client.getDestination(self.name), json: self.connection.wantsJSON)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List destinations.", discussion: "Example:\n  enrichctl destinations list")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Destinations per page (1-1000).") var pageSize: UInt32 = 100
        @Option(help: "Start after this name.") var pageToken = ""
        @Option(help: "Only destinations whose name starts with this.") var prefix = ""

        func run() async throws {
            try await withClient(self.connection) { client in
                let page = try await client.listDestinations(
                    pageSize: self.pageSize, pageToken: self.pageToken, namePrefix: self.prefix)
                if self.connection.wantsJSON {
                    printJSON(
                        .object(
                            JSONObject([
                                ("destinations", .array(page.destinations.map(\.json))),
                                ("next_page_token", .string(page.nextPageToken)),
                            ])))
                    return
                }
                print(
                    Table.render(
                        ["name", "mappings", "version", "events", "enriched", "partially", "not enriched"],
                        page.destinations.map { d in
                            let s = d.stats ?? DestinationStats()
                            return [
                                d.name, "\(d.mappings.count)", "\(d.version)", "\(s.events)", "\(s.enriched)",
                                "\(s.partiallyEnriched)", "\(s.notEnriched)",
                            ]
                        }))
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a destination's mappings.",
            discussion:
                "Example (fails if someone changed it since version 3):\n  enrichctl destinations update braze --file braze-mappings.json --expected-version 3"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Destination name.") var name: String
        @Option(help: "JSON file with the mappings.") var file: String
        @Option(help: "Version you read; the update is refused if it changed (0 skips the check).") var expectedVersion:
            UInt64 = 0

        func run() async throws {
            let mappings = try reportingFailures { try readMappings(self.file) }
            try await withClient(self.connection) { client in
                let request = UpdateDestinationRequest(
                    name: self.name, mappings: mappings, expectedVersion: self.expectedVersion)
                printDestination(try await client.updateDestination(request), json: self.connection.wantsJSON)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a destination and its mappings.",
            discussion: "Example:\n  enrichctl destinations delete braze")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Destination name.") var name: String

        func run() async throws {
            try await withClient(self.connection) { client in
                try await client.deleteDestination(self.name)
                if self.connection.wantsJSON {
                    printJSON(.object(JSONObject([("deleted", .string(self.name))])))
                } else {
                    print("deleted \(self.name)")
                }
            }
        }
    }
}

struct TestMappingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-mapping",
        abstract: "Show what a sample event would become under a saved or draft mapping.",
        discussion: """
            Examples:
              enrichctl test-mapping --destination braze --mapping orders --event \\
                  '{"type":"track","event":"Order Completed","userId":"7"}'
              enrichctl test-mapping --file draft.json --event-file sample.json  # 1st mapping
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Destination of a saved mapping.") var destination = ""
    @Option(help: "Name of the saved mapping.") var mapping = ""
    @Option(help: "Mappings file whose first mapping is tested instead of a saved one.") var file: String?
    @Option(help: "The sample event as JSON.") var event: String?
    @Option(help: "A file holding the sample event.") var eventFile: String?

    func validate() throws {
        guard (self.event == nil) != (self.eventFile == nil) else {
            throw ValidationError("give exactly one of --event and --event-file")
        }
        guard self.file != nil || (!self.destination.isEmpty && !self.mapping.isEmpty) else {
            throw ValidationError("give --destination and --mapping for a saved mapping, or --file for a draft")
        }
    }

    func run() async throws {
        let eventText = try self.event ?? reportingFailures { try readFile(self.eventFile!) }  // validate() ensures one
        let inline = try reportingFailures { try self.file.map { try readMappings($0) }?.first }
        try await withClient(self.connection) { client in
            let result = try await client.testMapping(
                TestMappingRequest(
                    destination: self.destination, mapping: inline == nil ? self.mapping : "", inlineMapping: inline,
                    event: Array(eventText.utf8)
                ))
            if self.connection.wantsJSON {
                printJSON(result.json)
                return
            }
            print("condition: \(result.conditionMatched ? "matched" : "did not match")")
            guard result.conditionMatched else { return }
            print("outcome:   \(result.outcome.name)")
            print(
                Table.render(
                    ["model", "key", "found"],
                    result.entities.map {
                        [
                            $0.model, $0.keyPresent ? ($0.found ? "present" : $0.key) : "(no key)",
                            $0.found ? "yes" : "no",
                        ]
                    }))
            if !result.error.isEmpty { print("error: \(result.error)") }
            print("output:    \(String(decoding: result.output, as: UTF8.self))")
        }
    }
}

/// Reads a mappings file: {"mappings": [{name, condition, matches, enrichments, fields}]}.
func readMappings(_ path: String) throws -> [DestinationMapping] {
    let document: JSONValue
    do { document = try JSONParser.parse(try readFile(path)) } catch let error as JSONParseError {
        throw ValidationError("\(path): \(error)")
    }
    guard case .object(let root) = document, case .array(let entries)? = root["mappings"] else {
        throw ValidationError("\(path): expected {\"mappings\": [...]}")
    }
    func text(_ object: JSONObject, _ key: String) -> String {
        if case .string(let value)? = object[key] { return value }
        return ""
    }
    func objects(_ object: JSONObject, _ key: String) -> [JSONObject] {
        guard case .array(let items)? = object[key] else { return [] }
        return items.compactMap { if case .object(let item) = $0 { item } else { nil } }
    }
    return try entries.enumerated().map { index, entry in
        guard case .object(let mapping) = entry else {
            throw ValidationError("\(path): mapping \(index) is not an object")
        }
        return DestinationMapping(
            name: text(mapping, "name"), condition: text(mapping, "condition"),
            matches: objects(mapping, "matches").map {
                ModelMatch(model: text($0, "model"), matchProperty: text($0, "match_property"))
            },
            enrichments: objects(mapping, "enrichments").map {
                ColumnEnrichment(model: text($0, "model"), column: text($0, "column"), key: text($0, "key"))
            },
            fieldsJSON: mapping["fields"].map(JSONWriter.string) ?? ""
        )
    }
}

func printDestination(_ destination: Destination, json: Bool) {
    if json {
        printJSON(destination.json)
        return
    }
    let s = destination.stats ?? DestinationStats()
    print(
        Table.render(
            ["name", "version", "events", "enriched", "partially", "not enriched", "unmatched"],
            [
                [
                    destination.name, "\(destination.version)", "\(s.events)", "\(s.enriched)",
                    "\(s.partiallyEnriched)", "\(s.notEnriched)", "\(s.unmatched)",
                ]
            ]))
    print()
    print(
        Table.render(
            ["mapping", "condition", "models", "enrichments"],
            destination.mappings.map { m in
                [
                    m.name, m.condition.isEmpty ? "(every event)" : m.condition,
                    m.matches.map { "\($0.model)<-\($0.matchProperty)" }.joined(separator: " "),
                    m.enrichments.map { "\($0.model).\($0.column)->\($0.key)" }.joined(separator: " "),
                ]
            }))
}

extension DestinationMapping {
    var json: JSONValue {
        .object(
            JSONObject([
                ("name", .string(self.name)), ("condition", .string(self.condition)),
                (
                    "matches",
                    .array(
                        self.matches.map {
                            .object(
                                JSONObject([
                                    ("model", .string($0.model)), ("match_property", .string($0.matchProperty)),
                                ]))
                        })
                ),
                (
                    "enrichments",
                    .array(
                        self.enrichments.map {
                            .object(
                                JSONObject([
                                    ("model", .string($0.model)), ("column", .string($0.column)),
                                    ("key", .string($0.key)),
                                ]))
                        })
                ),
                ("fields", (try? JSONParser.parse(self.fieldsJSON)) ?? .null),
            ]))
    }
}

extension Destination {
    var json: JSONValue {
        let s = self.stats ?? DestinationStats()
        return .object(
            JSONObject([
                ("name", .string(self.name)), ("version", .int(Int64(self.version))),
                ("created_at_ms", .int(self.createdAtMilliseconds)),
                ("mappings", .array(self.mappings.map(\.json))),
                (
                    "stats",
                    .object(
                        JSONObject([
                            ("events", .int(Int64(s.events))), ("enriched", .int(Int64(s.enriched))),
                            ("partially_enriched", .int(Int64(s.partiallyEnriched))),
                            ("not_enriched", .int(Int64(s.notEnriched))), ("unmatched", .int(Int64(s.unmatched))),
                        ]))
                ),
            ]))
    }
}

extension MappingOutcome {
    var json: JSONValue {
        .object(
            JSONObject([
                ("mapping", .string(self.mapping)), ("condition_matched", .bool(self.conditionMatched)),
                ("outcome", .string(self.outcome.name)),
                (
                    "entities",
                    .array(
                        self.entities.map { e in
                            .object(
                                JSONObject([
                                    ("model", .string(e.model)), ("key_present", .bool(e.keyPresent)),
                                    ("key", .string(e.key)),
                                    ("found", .bool(e.found)),
                                    ("row", e.found ? ((try? JSONParser.parse(e.rowJSON)) ?? .null) : .null),
                                ]))
                        })
                ),
                ("enriched_event", (try? JSONParser.parse(self.enrichedEvent)) ?? .null),
                ("output", (try? JSONParser.parse(self.output)) ?? .null), ("error", .string(self.error)),
            ]))
    }
}
