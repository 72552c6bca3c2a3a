import ArgumentParser
import EnrichClient

@main
struct Enrichctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrichctl",
        abstract: "Manage and query an enrichd server.",
        discussion: """
            Connection settings come from flags or the environment: ENRICH_SERVER (host:port), ENRICH_CA_FILE, \
            ENRICH_TOKEN. Add --json to any command for machine-readable output.

            A first session:
              enrichctl models create users --table users --primary-key id
              enrichctl sync trigger users --watch
              enrichctl lookup users 1 2 3 --columns email,plan
              enrichctl enrich users --key-path userId --enrich plan=traits.plan --event '{"userId":1}'

            Exit codes: 0 success, 64 usage error, 77 authentication or permission error, 69 server unreachable, \
            1 any other server error.
            """,
        subcommands: [
            Health.self, Warehouses.self, Models.self, SyncCommand.self, Destinations.self, Lookup.self,
            EnrichCommand.self, TestMappingCommand.self, Tokens.self, Audit.self, ConfigCommand.self,
        ]
    )
}
