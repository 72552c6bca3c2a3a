import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit trail of admin writes and refused attempts (workspace owners only).",
        discussion: """
            Examples:
              enrichctl audit --limit 20
              enrichctl audit --method enrich.v1.Admin/DeleteModel --json
              enrichctl audit --object "model users"
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this RPC, e.g. enrich.v1.Admin/CreateModel.") var method = ""
    @Option(help: "Only calls made with this token id.") var tokenID = ""
    @Option(help: "Only this object, e.g. \"model users\".") var object = ""
    @Option(help: "Events older than this id (the last id of the previous page).") var beforeID: UInt64 = 0
    @Option(help: "Most events to show (1-1000).") var limit: UInt32 = 50

    func run() async throws {
        try await withClient(self.connection) { client in
            let events = try await client.listAudit(
                ListAuditRequest(
                    method: self.method, tokenID: self.tokenID, object: self.object, beforeID: self.beforeID,
                    limit: self.limit
                ))
            if self.connection.wantsJSON {
                printJSON(
                    .array(
                        events.map { event in
                            .object(
                                JSONObject([
                                    ("id", .int(Int64(event.id))), ("at_ms", .int(event.atMilliseconds)),
                                    ("token_id", .string(event.tokenID)),
                                    ("token_name", .string(event.tokenName)), ("peer", .string(event.peer)),
                                    ("method", .string(event.method)),
                                    ("object", .string(event.object)),
                                    ("before", (try? JSONParser.parse(event.beforeJSON)) ?? .null),
                                    ("after", (try? JSONParser.parse(event.afterJSON)) ?? .null),
                                    ("outcome_code", .int(Int64(event.outcomeCode))),
                                    ("outcome", .string(StatusCode(rawValue: event.outcomeCode).description)),
                                    ("message", .string(event.outcomeMessage)),
                                ]))
                        }))
                return
            }
            print(
                Table.render(
                    ["id", "at", "who", "from", "method", "object", "outcome", "message"],
                    events.map { event in
                        [
                            "\(event.id)", time(event.atMilliseconds),
                            event.tokenName.isEmpty ? "(no valid token)" : event.tokenName, event.peer,
                            String(event.method.split(separator: "/").last ?? ""), event.object,
                            StatusCode(rawValue: event.outcomeCode).description,
                            event.outcomeMessage.count > 50
                                ? String(event.outcomeMessage.prefix(47)) + "..." : event.outcomeMessage,
                        ]
                    }))
        }
    }
}
