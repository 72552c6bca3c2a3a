import ArgumentParser
import ClientCommandLine
import EnrichClient
import EventJSON

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API tokens (workspace owners only).",
        discussion: """
            Roles: workspace_owner, entities_admin, entities_read_only, source_admin, unify_read_only, unify_admin, \
            enrich_only (client traffic: Lookup and Enrich).
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token; its secret is printed once.",
            discussion: "Example:\n  enrichctl tokens create web-app --role enrich_only --ttl-days 90"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token name.") var name: String
        @Option(help: "Role (see `enrichctl tokens --help`).") var role: String
        @Option(help: "Days until the token expires (0: never).") var ttlDays: UInt64 = 0

        func run() async throws {
            try await withClient(self.connection) { client in
                let created = try await client.createToken(
                    name: self.name, role: self.role, ttlSeconds: self.ttlDays * 86_400)
                if self.connection.wantsJSON {
                    printJSON(
                        .object(
                            JSONObject([("id", .string(created.token?.id ?? "")), ("secret", .string(created.secret))]))
                    )
                } else {
                    print("token \(created.token?.id ?? "") (\(self.role)); keep this secret, it is not shown again:")
                    print(created.secret)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens (never their secrets).", discussion: "Example:\n  enrichctl tokens list")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await withClient(self.connection) { client in
                let tokens = try await client.listTokens()
                if self.connection.wantsJSON {
                    printJSON(
                        .array(
                            tokens.map { token in
                                .object(
                                    JSONObject([
                                        ("id", .string(token.id)), ("name", .string(token.name)),
                                        ("role", .string(token.role)),
                                        ("created_at_ms", .int(token.createdAtMilliseconds)),
                                        ("expires_at_ms", .int(token.expiresAtMilliseconds)),
                                        ("revoked_at_ms", .int(token.revokedAtMilliseconds)),
                                    ]))
                            }))
                    return
                }
                print(
                    Table.render(
                        ["id", "name", "role", "created", "expires", "revoked"],
                        tokens.map {
                            [
                                $0.id, $0.name, $0.role, time($0.createdAtMilliseconds), time($0.expiresAtMilliseconds),
                                time($0.revokedAtMilliseconds),
                            ]
                        }))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token; it stops working at once.",
            discussion: "Example:\n  enrichctl tokens revoke tok_0123456789ab")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token id.") var id: String

        func run() async throws {
            try await withClient(self.connection) { client in
                let token = try await client.revokeToken(id: self.id)
                print("revoked \(token.id) (\(token.name))")
            }
        }
    }
}
