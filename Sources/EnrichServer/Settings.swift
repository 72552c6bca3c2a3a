import EnrichPolicy
package import Logging
import TOMLKit

/// Where a setting's value came from.
package enum SettingSource: String, Sendable {
    case flag, environment, file, `default`
}

/// Why the settings cannot be used. `enrichd` prints it on stderr and exits 78 (EX_CONFIG).
package struct SettingsError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Every setting of `enrichd serve`, from a TOML file (`--config PATH`; `/etc/enrichd/enrichd.toml` in a package
/// install), `ENRICHD_*` environment variables and flags. Precedence, highest first: flag, environment, file,
/// default. The whole set is validated before the server writes anything (`validated()`), and
/// `enrichd config check` prints it with each value's source.
package struct ServerSettings: Sendable {
    /// One setting: its file key (snake_case), flag (`--kebab-case`), environment variable, kind and default.
    package struct Definition: Sendable {
        package enum Kind: Sendable {
            case string
            case path
            case integer(ClosedRange<Int>)
            case number(ClosedRange<Double>)
            case boolean
            case choice([String])
            /// NAME = CONNECTION pairs: a TOML table, repeated `--postgres NAME=CONNECTION` flags, or
            /// `NAME=CONNECTION` lines (or `;`-separated) in the environment variable.
            case warehouses
        }

        package let key: String
        package let kind: Kind
        /// The default as text; nil: unset unless given.
        package let defaultValue: String?
        package let help: String

        package var flag: String { "--" + self.key.replacingUnderscores(with: "-") }
        package var environment: String { "ENRICHD_" + self.key.uppercased() }
    }

    package static let definitions: [Definition] = [
        .init(key: "host", kind: .string, defaultValue: "127.0.0.1", help: "Address the RPC port listens on."),
        .init(key: "port", kind: .integer(0...65_535), defaultValue: "7443", help: "RPC port (0 picks a free one)."),
        .init(
            key: "data_dir", kind: .path, defaultValue: "data", help: "Catalog, embedded warehouse, snapshots, keys."),
        .init(
            key: "catalog", kind: .path, defaultValue: nil, help: "Catalog file (default <data_dir>/catalog.sqlite)."),
        .init(
            key: "warehouse", kind: .path, defaultValue: nil,
            help: "Embedded warehouse file (default <data_dir>/warehouse.sqlite)."),
        .init(
            key: "postgres", kind: .warehouses, defaultValue: nil,
            help: "Built-in PostgreSQL warehouses, NAME = CONNECTION."),
        .init(key: "tls_cert", kind: .path, defaultValue: nil, help: "PEM certificate chain."),
        .init(key: "tls_key", kind: .path, defaultValue: nil, help: "PEM private key."),
        .init(
            key: "client_ca", kind: .path, defaultValue: nil,
            help: "Require client certificates from this CA (mutual TLS)."),
        .init(
            key: "insecure_plaintext", kind: .boolean, defaultValue: "false",
            help: "Serve without TLS (debugging only)."),
        .init(
            key: "threads", kind: .integer(1...256), defaultValue: nil,
            help: "Event-loop threads (default one per core)."),
        .init(
            key: "http_host", kind: .string, defaultValue: nil,
            help: "Address of the HTTP port (/metrics, /healthz, /readyz, status page); default: host."),
        .init(
            key: "http_port", kind: .integer(0...65_535), defaultValue: "9464", help: "HTTP port (0 picks a free one)."),
        .init(key: "metrics", kind: .boolean, defaultValue: "true", help: "Serve the HTTP port and record metrics."),
        .init(
            key: "audit_retention_days", kind: .integer(1...3_650), defaultValue: "90",
            help: "Days the audit trail keeps."),
        .init(
            key: "max_model_rows", kind: .integer(1...4_000_000_000), defaultValue: "100000000",
            help: "Most rows a model may have."),
        .init(key: "max_row_kib", kind: .integer(1...65_536), defaultValue: "512", help: "Largest row in KiB."),
        .init(key: "owner_token_file", kind: .path, defaultValue: nil, help: "Where the first owner token is written."),
        .init(key: "secret_key_file", kind: .path, defaultValue: nil, help: "Keys sealing stored passwords."),
        .init(
            key: "log_level", kind: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
            defaultValue: "info", help: "Least severe level logged."),
        .init(
            key: "log_format", kind: .choice(["text", "json"]), defaultValue: "text", help: "Log lines as text or JSON."
        ),
        .init(
            key: "drain_grace_seconds", kind: .number(0...3_600), defaultValue: "10",
            help: "Seconds a stop lets calls in flight finish."),
    ]

    /// A resolved value: text (warehouses as NAME=CONNECTION lines) and where it came from.
    package struct Value: Sendable, Equatable {
        package var text: String?
        package var warehouses: [(name: String, connection: String)] = []
        package var source: SettingSource

        package static func == (lhs: Value, rhs: Value) -> Bool {
            lhs.text == rhs.text && lhs.source == rhs.source
                && lhs.warehouses.map(\.name) == rhs.warehouses.map(\.name)
                && lhs.warehouses.map(\.connection) == rhs.warehouses.map(\.connection)
        }
    }

    package private(set) var values: [String: Value] = [:]
    /// The file read, if any.
    package let file: String?

    /// Resolves every setting.
    /// - Parameters:
    ///   - file: the TOML file (`--config` or `ENRICHD_CONFIG`), nil for none.
    ///   - environment: the process environment; only `ENRICHD_*` names are read.
    ///   - flags: flag values by setting key, as given on the command line (booleans as "true"/"false");
    ///     `postgres` flags as NAME=CONNECTION entries in `warehouseFlags`.
    /// - Throws: `SettingsError` for an unreadable or invalid file, an unknown key, or a value of the wrong kind.
    package init(
        file: String?, environment: [String: String], flags: [String: String], warehouseFlags: [String] = []
    ) throws(SettingsError) {
        self.file = file
        var table: TOMLTable?
        if let file {
            guard let text = DataDirectory.read(file) else {
                throw SettingsError("cannot read the configuration file \(file): \(String(cString: strerror(errno)))")
            }
            do { table = try TOMLTable(string: text) } catch {
                throw SettingsError("\(file): \(error)")
            }
        }
        let known = Set(Self.definitions.map(\.key))
        if let table {
            for key in table.keys.sorted() where !known.contains(key) {
                throw SettingsError(
                    "\(file ?? ""): unknown setting '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
        for name in environment.keys.sorted() where name.hasPrefix("ENRICHD_") {
            let key = String(name.dropFirst("ENRICHD_".count)).lowercased()
            guard known.contains(key) || ["config", "secret_keys"].contains(key) else {
                throw SettingsError("unknown environment variable \(name) (ENRICHD_ + a setting name, upper case)")
            }
        }
        for definition in Self.definitions {
            var value = Value(text: definition.defaultValue, source: .default)
            if let entry = table?[definition.key] {
                value = try Self.fromFile(entry, definition, file ?? "")
            }
            if let text = environment[definition.environment] {
                value = try Self.fromText(text, definition, source: .environment, origin: definition.environment)
            }
            if definition.key == "postgres", !warehouseFlags.isEmpty {
                value = try Self.fromText(
                    warehouseFlags.joined(separator: "\n"), definition, source: .flag, origin: "--postgres")
            } else if let text = flags[definition.key] {
                value = try Self.fromText(text, definition, source: .flag, origin: definition.flag)
            }
            self.values[definition.key] = value
        }
    }

    private static func fromFile(
        _ entry: any TOMLValueConvertible, _ definition: Definition, _ file: String
    ) throws(SettingsError)
        -> Value
    {
        let origin = "\(file): \(definition.key)"
        switch definition.kind {
        case .warehouses:
            guard let table = entry.table else {
                throw SettingsError("\(origin) must be a table of NAME = \"CONNECTION\"")
            }
            var warehouses: [(name: String, connection: String)] = []
            for name in table.keys.sorted() {
                guard let connection = table[name]?.string else {
                    throw SettingsError("\(origin).\(name) must be a string (a libpq connection)")
                }
                warehouses.append((name, connection))
            }
            return try Self.checked(Value(warehouses: warehouses, source: .file), origin: origin)
        case .boolean:
            guard let flag = entry.bool else { throw SettingsError("\(origin) must be true or false") }
            return Value(text: flag ? "true" : "false", source: .file)
        case .integer:
            guard let number = entry.int else { throw SettingsError("\(origin) must be an integer") }
            return try Self.fromText(String(number), definition, source: .file, origin: origin)
        case .number:
            if let number = entry.double {
                return try Self.fromText(String(number), definition, source: .file, origin: origin)
            }
            guard let number = entry.int else { throw SettingsError("\(origin) must be a number") }
            return try Self.fromText(String(number), definition, source: .file, origin: origin)
        case .string, .path, .choice:
            guard let text = entry.string else { throw SettingsError("\(origin) must be a string") }
            return try Self.fromText(text, definition, source: .file, origin: origin)
        }
    }

    private static func fromText(
        _ text: String, _ definition: Definition, source: SettingSource, origin: String
    )
        throws(SettingsError) -> Value
    {
        switch definition.kind {
        case .string, .path:
            guard !text.isEmpty else { throw SettingsError("\(origin) is empty") }
            guard !text.utf8.contains(where: { $0 < 0x20 }) else {
                throw SettingsError("\(origin) holds a control character")
            }
            return Value(text: text, source: source)
        case .integer(let range):
            guard let number = Int(text.trimmingSpaces), range.contains(number) else {
                throw SettingsError(
                    "\(origin) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
            }
            return Value(text: String(number), source: source)
        case .number(let range):
            guard let number = Double(text.trimmingSpaces), number.isFinite, range.contains(number) else {
                throw SettingsError(
                    "\(origin) must be a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
            }
            return Value(text: String(number), source: source)
        case .boolean:
            switch text.trimmingSpaces.lowercased() {
            case "true", "1", "yes", "on": return Value(text: "true", source: source)
            case "false", "0", "no", "off": return Value(text: "false", source: source)
            default: throw SettingsError("\(origin) must be true or false, got '\(text)'")
            }
        case .choice(let choices):
            guard choices.contains(text) else {
                throw SettingsError("\(origin) must be one of \(choices.joined(separator: ", ")), got '\(text)'")
            }
            return Value(text: text, source: source)
        case .warehouses:
            var warehouses: [(name: String, connection: String)] = []
            for line in text.split(whereSeparator: { $0 == "\n" || $0 == ";" }) where !line.trimmingSpaces.isEmpty {
                guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                    throw SettingsError("\(origin) wants NAME=CONNECTION, got '\(line)'")
                }
                warehouses.append((String(line[..<equals]).trimmingSpaces, String(line[line.index(after: equals)...])))
            }
            return try Self.checked(Value(warehouses: warehouses, source: source), origin: origin)
        }
    }

    private static func checked(_ value: Value, origin: String) throws(SettingsError) -> Value {
        var seen = Set<String>()
        for (name, connection) in value.warehouses {
            guard !name.isEmpty, name.utf8.count <= 128, name != ServerConfiguration.embeddedWarehouse,
                seen.insert(name).inserted
            else {
                throw SettingsError("\(origin): warehouse name '\(name)' is empty, too long, repeated or reserved")
            }
            guard !connection.trimmingSpaces.isEmpty else {
                throw SettingsError("\(origin): warehouse '\(name)' has no connection")
            }
        }
        return value
    }

    package func text(_ key: String) -> String? { self.values[key]?.text }
    private func integer(_ key: String) -> Int? { self.text(key).flatMap { Int($0) } }
    private func flag(_ key: String) -> Bool { self.text(key) == "true" }

    /// The server configuration these settings describe, after the checks that involve more than one setting.
    /// - Throws: `SettingsError` naming what is wrong and which settings to change.
    package func configuration() throws(SettingsError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = self.text("host") ?? "127.0.0.1"
        configuration.port = self.integer("port") ?? 7443
        configuration.dataDirectory = self.text("data_dir") ?? "data"
        configuration.catalogPath = self.text("catalog")
        configuration.warehousePath = self.text("warehouse")
        for (name, connection) in self.values["postgres"]?.warehouses ?? [] {
            configuration.postgresWarehouses[name] = connection
        }
        let insecure = self.flag("insecure_plaintext")
        let cert = self.text("tls_cert")
        let key = self.text("tls_key")
        let clientCA = self.text("client_ca")
        if insecure {
            guard cert == nil && key == nil && clientCA == nil else {
                throw SettingsError("insecure_plaintext cannot be combined with tls_cert, tls_key or client_ca")
            }
        } else {
            guard let cert, let key else {
                throw SettingsError(
                    "TLS needs tls_cert and tls_key (--tls-cert/--tls-key, ENRICHD_TLS_CERT/ENRICHD_TLS_KEY or the file; Scripts/gen-certs.sh makes development ones), or insecure_plaintext"
                )
            }
            for (name, path) in [("tls_cert", cert), ("tls_key", key)] + (clientCA.map { [("client_ca", $0)] } ?? []) {
                guard Self.readable(path) else { throw SettingsError("\(name) \(path) cannot be read") }
            }
            configuration.tls = .init(certificateChain: cert, privateKey: key, clientCA: clientCA)
        }
        configuration.eventLoopThreads = self.integer("threads")
        configuration.httpHost = self.text("http_host")
        configuration.metricsPort = self.flag("metrics") ? (self.integer("http_port") ?? 9464) : nil
        configuration.auditRetention = .seconds(Int64(self.integer("audit_retention_days") ?? 90) * 86_400)
        configuration.policy.sync.maxRows = self.integer("max_model_rows") ?? 100_000_000
        configuration.policy.sync.maxRowBytes = (self.integer("max_row_kib") ?? 512) << 10
        configuration.ownerTokenPath = self.text("owner_token_file")
        configuration.secretKeyFile = self.text("secret_key_file")
        let grace = Double(self.text("drain_grace_seconds") ?? "10") ?? 10
        configuration.policy.server.drainGracePeriod = .milliseconds(Int64(grace * 1_000))
        return configuration
    }

    package var logLevel: Logger.Level { Logger.Level(rawValue: self.text("log_level") ?? "info") ?? .info }
    package var logFormat: String { self.text("log_format") ?? "text" }

    /// The settings as `enrichd config check` prints them: every key, its value and where it came from.
    package var report: String {
        var lines = [
            "# \(self.file.map { "file \($0)" } ?? "no configuration file"); precedence: flag > environment > file > default"
        ]
        for definition in Self.definitions {
            guard let value = self.values[definition.key] else { continue }
            if definition.key == "postgres" {
                let names = value.warehouses.map(\.name).joined(separator: ", ")
                lines.append("postgres = [\(names)]  # \(value.source.rawValue)")
            } else {
                lines.append(
                    "\(definition.key) = \(value.text.map { "\"\($0)\"" } ?? "(unset)")  # \(value.source.rawValue)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func readable(_ path: String) -> Bool { access(path, R_OK) == 0 }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(
            self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()
        )
    }

    fileprivate func replacingUnderscores(with replacement: Character) -> String {
        String(self.map { $0 == "_" ? replacement : $0 })
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String { String(self).trimmingSpaces }
}

#if canImport(Glibc)
    import Glibc
#endif
