import ArgumentParser
import ClientCommandLine

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show where enrichctl reads connection profiles and what a profile holds.",
        discussion: """
            Profiles live in $ENRICHCTL_CONFIG or ~/.config/enrichctl/config.json:
              {"profiles": {"default": {"server": "127.0.0.1:7443", "ca_file": "certs/ca.pem",
                                        "token_file": "data/owner.token"}}}
            Keys: server, ca_file, token_file, client_cert, client_key. Pick one with --profile NAME or \
            ENRICH_PROFILE. Flags and ENRICH_* environment variables override it.

            Shell completion: enrichctl --generate-completion-script bash > /etc/bash_completion.d/enrichctl
            """
    )
    @Option(help: "Profile to show (default: \"default\").") var profile: String?

    func run() throws {
        print("config file: \(Profiles.path)")
        guard let settings = try Profiles.load(named: self.profile) else {
            print("no profile \"\(self.profile ?? "default")\" (flags and ENRICH_* variables apply)")
            return
        }
        // Key from the dictionary.
        print(Table.render(["setting", "value"], settings.keys.sorted().map { [$0, settings[$0]!] }))
    }
}
