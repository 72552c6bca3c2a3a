import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON

#if canImport(Glibc)
    import Glibc
#endif

struct Warehouses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect, show, test, change and remove the warehouses models read from.",
        discussion: """
            The embedded SQLite warehouse (and any `enrichd serve --postgres`) is built in; others are connected \
            here and kept in the catalog. Passwords are read from an environment variable or stdin, never from \
            the command line, and are never shown again.

            Examples:
              enrichctl warehouses                # list (same as `warehouses list`)
              enrichctl warehouses --test         # connect to each: version or why not
              PGPASSWORD_DW=s3cret enrichctl warehouses create dw --kind postgres \\
                  --connection "host=db.internal port=5432 dbname=analytics user=enrich" \\
                  --password-env PGPASSWORD_DW
            """,
        subcommands: [List.self, Get.self, Create.self, Update.self, Delete.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List warehouses; --test connects to each.",
            discussion: "Examples:\n  enrichctl warehouses list\n  enrichctl warehouses list --test --prefix dw"
        )
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Connect to each warehouse and report whether it answers.") var test = false
        @Option(help: "Warehouses per page (1-1000).") var pageSize: UInt32 = 100
        @Option(help: "Start after this name.") var pageToken = ""
        @Option(help: "Only warehouses whose name starts with this.") var prefix = ""

        func run() async throws {
            try await withClient(self.connection) { client in
                let page = try await client.listWarehouses(
                    ListWarehousesRequest(
                        test: self.test, pageSize: self.pageSize, pageToken: self.pageToken, namePrefix: self.prefix)
                )
                if self.connection.wantsJSON {
                    printJSON(
                        .object(
                            JSONObject([
                                ("warehouses", .array(page.warehouses.map(\.json))),
                                ("next_page_token", .string(page.nextPageToken)),
                            ])))
                } else if self.test {
                    print(
                        Table.render(
                            ["name", "kind", "reachable", "detail"],
                            page.warehouses.map {
                                [$0.name, $0.kind, $0.reachable ? "yes" : "NO", $0.detail]
                            }))
                } else {
                    print(
                        Table.render(
                            ["name", "kind", "connection", "password", "version"],
                            page.warehouses.map {
                                [
                                    $0.name, $0.kind, $0.connection, $0.hasPassword ? "stored" : "-",
                                    $0.builtin ? "built in" : "\($0.version)",
                                ]
                            }))
                }
                if !page.nextPageToken.isEmpty && !self.connection.wantsJSON {
                    print("more: --page-token \(page.nextPageToken)")
                }
                if page.warehouses.contains(where: { $0.tested && !$0.reachable }) { throw ExitCode(69) }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a warehouse; --test connects to it.",
            discussion: "Example:\n  enrichctl warehouses get dw --test"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Warehouse name.") var name: String
        @Flag(help: "Connect and report whether it answers.") var test = false

        func run() async throws {
            try await withClient(self.connection) { client in
                let info = try await client.getWarehouse(self.name, test: self.test)
                printWarehouse(info, json: self.connection.wantsJSON)
                if info.tested && !info.reachable { throw ExitCode(69) }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect a warehouse; the server tests the connection before storing it.",
            discussion: """
                Examples:
                  enrichctl warehouses create dw --kind postgres --connection \\
                      "host=127.0.0.1 dbname=analytics user=enrich" --password-stdin < pw.txt
                  enrichctl warehouses create archive --kind sqlite --connection \\
                      /srv/data/archive.sqlite
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Warehouse name (letters, digits, '_', '-', '.').") var name: String
        @Option(help: "postgres or sqlite.") var kind: String
        @Option(
            name: .customLong("connection"),
            help: "libpq connection string without the password, or the SQLite file path.")
        var settings: String
        @OptionGroup var password: PasswordOptions

        func run() async throws {
            let password = try self.password.read()
            try await withClient(self.connection) { client in
                let request = CreateWarehouseRequest(
                    name: self.name, kind: self.kind, connection: self.settings, password: password ?? "")
                printWarehouse(try await client.createWarehouse(request), json: self.connection.wantsJSON)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a warehouse's connection string or password (tested before it is stored).",
            discussion:
                "Example (refused if someone changed it since version 2):\n  enrichctl warehouses update dw --password-env NEW_PW --expected-version 2"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Warehouse name.") var name: String
        @Option(name: .customLong("connection"), help: "New connection string or path (default: keep).") var settings =
            ""
        @OptionGroup var password: PasswordOptions
        @Flag(help: "Remove the stored password.") var clearPassword = false
        @Option(help: "Version you read; the update is refused if it changed (0 skips the check).") var expectedVersion:
            UInt64 = 0

        func run() async throws {
            let password = try self.password.read()
            try await withClient(self.connection) { client in
                let request = UpdateWarehouseRequest(
                    name: self.name, connection: self.settings, password: password ?? "",
                    clearPassword: self.clearPassword,
                    expectedVersion: self.expectedVersion
                )
                printWarehouse(try await client.updateWarehouse(request), json: self.connection.wantsJSON)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a warehouse (refused while a model reads from it).",
            discussion: "Example:\n  enrichctl warehouses delete dw"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Warehouse name.") var name: String

        func run() async throws {
            try await withClient(self.connection) { client in
                try await client.deleteWarehouse(self.name)
                if self.connection.wantsJSON {
                    printJSON(.object(JSONObject([("deleted", .string(self.name))])))
                } else {
                    print("deleted \(self.name)")
                }
            }
        }
    }
}

/// Where a password comes from: never an argument, which would sit in shell history and `ps`.
struct PasswordOptions: ParsableArguments {
    @Option(help: "Read the password from this environment variable.") var passwordEnv: String?
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

    func validate() throws {
        if self.passwordEnv != nil && self.passwordStdin {
            throw ValidationError("give one of --password-env and --password-stdin")
        }
    }

    func read() throws -> String? {
        if let name = self.passwordEnv {
            guard let value = getenv(name) else { throw ValidationError("environment variable \(name) is not set") }
            return String(cString: value)
        }
        if self.passwordStdin {
            guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no password on standard input")
            }
            return line
        }
        return nil
    }
}

extension WarehouseInfo {
    var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("name", .string(self.name)), ("kind", .string(self.kind)), ("connection", .string(self.connection)),
            ("has_password", .bool(self.hasPassword)), ("builtin", .bool(self.builtin)),
            ("version", .int(Int64(self.version))),
        ]
        if self.tested { fields += [("reachable", .bool(self.reachable)), ("detail", .string(self.detail))] }
        return .object(JSONObject(fields))
    }
}

func printWarehouse(_ info: WarehouseInfo, json: Bool) {
    if json { return printJSON(info.json) }
    var rows = [
        ["name", info.name], ["kind", info.kind], ["connection", info.connection],
        ["password", info.hasPassword ? "stored (not shown)" : "none"],
        ["version", info.builtin ? "built in" : "\(info.version)"],
    ]
    if info.tested { rows.append(["reachable", info.reachable ? "yes: \(info.detail)" : "NO: \(info.detail)"]) }
    print(Table.render(["field", "value"], rows))
}
