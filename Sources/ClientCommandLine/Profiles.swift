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
package enum Profiles {
    package static var path: String {
        if let path = ConnectionOptions.environment("ENRICHCTL_CONFIG") { return path }
        return (ConnectionOptions.environment("HOME") ?? ".") + "/.config/enrichctl/config.json"
    }

    /// The named profile's settings (a missing file means no profile); an unknown name is an error.
    package static func load(named name: String?) throws -> [String: String]? {
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
