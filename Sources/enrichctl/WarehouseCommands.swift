import ArgumentParser
import EnrichClient
import EventJSON

struct Warehouses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the warehouses models can read from, and test their connections.",
        discussion: """
            Warehouses are configured when enrichd starts (the embedded SQLite file, and `enrichd serve --postgres
            NAME=CONNECTION`); connection strings are never shown.
            Examples:
              enrichctl warehouses            # names and kinds
              enrichctl warehouses --test     # connect to each: version, or why it cannot be reached
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Connect to each warehouse and report whether it answers.") var test = false

    func run() async throws {
        try await withClient(self.connection) { client in
            let warehouses = try await client.listWarehouses(test: self.test)
            if self.connection.json {
                printJSON(.array(warehouses.map { info in
                    var fields: [(String, JSONValue)] = [("name", .string(info.name)), ("kind", .string(info.kind))]
                    if info.tested { fields += [("reachable", .bool(info.reachable)), ("detail", .string(info.detail))] }
                    return .object(JSONObject(fields))
                }))
                return
            }
            if self.test {
                print(Table.render(["name", "kind", "reachable", "detail"], warehouses.map {
                    [$0.name, $0.kind, $0.reachable ? "yes" : "NO", $0.detail]
                }))
            } else {
                print(Table.render(["name", "kind"], warehouses.map { [$0.name, $0.kind] }))
            }
            if warehouses.contains(where: { $0.tested && !$0.reachable }) { throw ExitCode(69) }
        }
    }
}
