import ArgumentParser
import ClientCommandLine
import EnrichClient

@main
struct Enrichctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrichctl",
        abstract: "Manage and query an enrichd server.",
        discussion: """
            Connection settings come from flags, then the environment (ENRICH_SERVER as host:port, ENRICH_CA_FILE, \
            ENRICH_TOKEN_FILE or ENRICH_TOKEN), then a profile (enrichctl config --help). Every command \
            takes -o table|json|yaml|csv (--json is -o json).

            A first session:
              enrichctl models create users --table users --primary-key id
              enrichctl sync trigger users --watch
              enrichctl lookup users 1 2 3 --columns email,plan
              enrichctl enrich users --key-path userId --enrich plan=traits.plan --event \\
                  '{"userId":1}'

            A failure prints one line saying what is wrong and what to change (--verbose adds the underlying \
            error). Exit codes (sysexits): 0 success; 64 usage; 65 the server refused the request's data \
            (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED); 66 a local file is \
            missing; 68 unknown host; 69 nothing listening, or UNAVAILABLE; 70 the server failed (INTERNAL); 75 \
            try again later (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED); 76 the port does not speak TLS; 77 \
            authentication or permission (UNAUTHENTICATED, PERMISSION_DENIED, client certificate); 78 TLS or \
            configuration mismatch (untrusted or misnamed server certificate, empty token file); 1 other.
            """,
        subcommands: [
            Health.self, Warehouses.self, Models.self, SyncCommand.self, Destinations.self, Lookup.self,
            EnrichCommand.self, TestMappingCommand.self, Tokens.self, Audit.self, ConfigCommand.self,
        ]
    )
}
