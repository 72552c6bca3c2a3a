import ArgumentParser
import EventJSON

/// Connection profiles, so a user does not repeat flags: a JSON file at $ENRICHCTL_CONFIG or
/// ~/.config/enrichctl/config.json:
///
///     {"profiles": {"default": {"server": "127.0.0.1:7443", "ca_file": "certs/ca.pem",
///                               "token_file": "data/owner.token"},
///                   "prod": {"server": "10.0.0.5:7443", "ca_file": "/etc/enrich/ca.pem",
///                            "token_file": "~/.enrich-prod-token", "client_cert": "...", "client_key": "..."}}}
///
/// Flags win over environment variables, which win over the profile.
enum Profiles {
    static var path: String {
        if let path = ConnectionOptions.environment("ENRICHCTL_CONFIG") { return path }
        return (ConnectionOptions.environment("HOME") ?? ".") + "/.config/enrichctl/config.json"
    }

    /// The named profile's settings (a missing file means no profile); an unknown name is an error.
    static func load(named name: String?) throws -> [String: String]? {
        guard let text = try? readFile(Self.path) else {
            if let name, name != "default" {
                throw ValidationError("profile '\(name)' not found: no config file at \(Self.path)")
            }
            return nil
        }
        let document: JSONValue
        do { document = try JSONParser.parse(text) } catch { throw ValidationError("\(Self.path): \(error)") }
        guard case .object(let root) = document, case .object(let profiles)? = root["profiles"] else {
            throw ValidationError("\(Self.path): expected {\"profiles\": {\"<name>\": {...}}}")
        }
        let wanted = name ?? "default"
        guard case .object(let profile)? = profiles[wanted] else {
            if name == nil { return nil }
            throw ValidationError(
                "profile '\(wanted)' not found in \(Self.path); profiles: \(profiles.keys.joined(separator: ", "))")
        }
        let home = ConnectionOptions.environment("HOME") ?? "~"
        var settings: [String: String] = [:]
        for (key, value) in profile {
            guard case .string(var text) = value else { continue }
            if text.hasPrefix("~/") { text = home + text.dropFirst() }
            settings[key] = text
        }
        return settings
    }
}

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
