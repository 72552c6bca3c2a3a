import ArgumentParser
import Dispatch
import EnrichServer
import Logging
import RPCCore
import Services
import SyncEngine
import SystemCrypto
import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Enrichd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrichd",
        abstract: "The enrichment server: keeps warehouse tables in memory and enriches events with them.",
        discussion: """
            Start the server on the embedded warehouse with the development certificates:
              enrichd serve --tls-cert certs/server.pem --tls-key certs/server-key.pem
            On first start it creates an owner token in data/owner.token (or from ENRICH_BOOTSTRAP_TOKEN); every \
            call but Health needs a token (enrichctl reads ENRICH_TOKEN or --token-file).

            Every setting can come from a TOML file (--config PATH; /etc/enrichd/enrichd.toml in a package \
            install), an ENRICHD_* environment variable or a flag; flags win over the environment, which wins over \
            the file. Check a configuration without starting:
              enrichd config check --config /etc/enrichd/enrichd.toml

            Add a PostgreSQL warehouse named "dw" (models then say --warehouse dw):
              enrichd serve ... --postgres 'dw=host=127.0.0.1 dbname=analytics user=enrich'

            Generate the demo warehouse (users: 100k rows, products: 1M rows):
              enrichd demo-data --warehouse data/warehouse.sqlite
            """,
        version: Services.version,
        subcommands: [Serve.self, ConfigCommand.self, DemoDataCommand.self, SecretKeyCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// The settings of `serve` as flags; every one is optional, so the environment and the file fill what is not
/// given (`ServerSettings`).
struct ServeOptions: ParsableArguments {
    @Option(help: "TOML configuration file (or ENRICHD_CONFIG). Settings: see `enrichd config check --help`.")
    var config: String?
    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free port and prints it (default 7443).") var port: Int?
    @Option(help: "Directory for the catalog, the embedded warehouse, snapshots and keys (default data).")
    var dataDir: String?
    @Option(help: "Catalog SQLite file (default: <data-dir>/catalog.sqlite).") var catalog: String?
    @Option(help: "Embedded warehouse SQLite file (default: <data-dir>/warehouse.sqlite).") var warehouse: String?
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL warehouse models can name: NAME=CONNECTION (libpq syntax, repeatable).",
            discussion:
                "Example: --postgres 'dw=host=10.0.0.5 dbname=analytics user=enrich'. Keep the password in PGPASSWORD or ~/.pgpass, not here.",
            valueName: "name=connection"
        ))
    var postgres: [String] = []
    @Option(help: "PEM file with the server certificate chain.") var tlsCert: String?
    @Option(help: "PEM file with the server private key.") var tlsKey: String?
    @Option(help: "Require client certificates signed by a CA in this PEM file (mutual TLS).") var clientCA: String?
    @Flag(help: "Serve without TLS. INSECURE: tokens and data cross the network in the clear.")
    var insecurePlaintext = false
    @Option(help: "Event-loop threads (default: one per core).") var threads: Int?
    @Option(help: "Address of the HTTP port: /metrics, /healthz, /readyz and the status page (default: --host).")
    var httpHost: String?
    @Option(
        name: [.customLong("http-port"), .customLong("metrics-port")],
        help: "Port of the HTTP endpoint on --http-host; 0 picks a free one (default 9464).")
    var httpPort: Int?
    @Flag(help: "Do not serve the HTTP port or record metrics.") var noMetrics = false
    @Option(help: "Days the audit trail keeps events (default 90).") var auditRetentionDays: Int?
    @Option(help: "Most rows a model may have; a sync past it fails (default and Segment's: 100000000).")
    var maxModelRows: Int?
    @Option(help: "Largest row in KiB; larger rows are left out of a sync and reported (default and Segment's: 512).")
    var maxRowKib: Int?
    @Option(
        help:
            "File for the owner token made on first start (default: <data-dir>/owner.token). Set ENRICH_BOOTSTRAP_TOKEN to choose the token instead."
    )
    var ownerTokenFile: String?
    @Option(
        help: ArgumentHelp(
            "File of the secret keys that seal stored warehouse passwords (default: <data-dir>/secret.key, made on first start).",
            discussion:
                "Hex keys one per line, the first current. ENRICHD_SECRET_KEYS (keys separated by commas or newlines) takes precedence. Keep the file outside the data directory so a copy of the data alone does not give the passwords away. Rotate with `enrichd secret-key --help`."
        ))
    var secretKeyFile: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info).") var logLevel:
        String?
    @Option(help: "Log lines as text or json, UTC timestamps to the millisecond (default text).") var logFormat: String?
    @Option(
        help: ArgumentHelp(
            "Seconds a stop (SIGTERM or SIGINT) lets calls in flight finish before answering them UNAVAILABLE (default 10).",
            discussion:
                "On the first signal the server turns /readyz off, stops accepting, tells every client it is going away (they reconnect elsewhere), finishes calls in flight within this grace, interrupts running syncs (rerun at the next start) and exits. A second signal exits at once."
        ))
    var drainGraceSeconds: Double?

    /// The flags given, by setting key.
    var flags: [String: String] {
        var flags: [String: String] = [:]
        func set(_ key: String, _ value: (some CustomStringConvertible)?) {
            if let value { flags[key] = value.description }
        }
        set("host", self.host)
        set("port", self.port)
        set("data_dir", self.dataDir)
        set("catalog", self.catalog)
        set("warehouse", self.warehouse)
        set("tls_cert", self.tlsCert)
        set("tls_key", self.tlsKey)
        set("client_ca", self.clientCA)
        if self.insecurePlaintext { flags["insecure_plaintext"] = "true" }
        set("threads", self.threads)
        set("http_host", self.httpHost)
        set("http_port", self.httpPort)
        if self.noMetrics { flags["metrics"] = "false" }
        set("audit_retention_days", self.auditRetentionDays)
        set("max_model_rows", self.maxModelRows)
        set("max_row_kib", self.maxRowKib)
        set("owner_token_file", self.ownerTokenFile)
        set("secret_key_file", self.secretKeyFile)
        set("log_level", self.logLevel)
        set("log_format", self.logFormat)
        set("drain_grace_seconds", self.drainGraceSeconds)
        return flags
    }

    /// Every setting, resolved; a configuration error is printed on stderr and exits 78 (EX_CONFIG).
    func settings() throws -> ServerSettings {
        let environment = processEnvironment()
        do {
            return try ServerSettings(
                file: self.config ?? environment["ENRICHD_CONFIG"], environment: environment, flags: self.flags,
                warehouseFlags: self.postgres)
        } catch {
            writeStandardError("enrichd: \(error)\n")
            throw ExitCode(78)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server.",
        discussion: """
            Example:
              enrichd serve --port 7443 --data-dir data --tls-cert certs/server.pem \\
                  --tls-key certs/server-key.pem
              enrichd serve --config /etc/enrichd/enrichd.toml

            TLS is required unless --insecure-plaintext is given, which sends tokens and data in the clear and is \
            only for debugging on a trusted machine. Everything is checked before anything is written; errors go to \
            stderr with exit status 78 (configuration) or 1 (start-up).
            """
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        // Whatever the caller's umask, nothing the server creates is readable by other users.
        umask(0o077)
        let settings = try self.options.settings()
        var configuration: ServerConfiguration
        do { configuration = try settings.configuration() } catch {
            writeStandardError("enrichd: \(error)\n")
            throw ExitCode(78)
        }
        let level = settings.logLevel
        let format = LogLines.Format(rawValue: settings.logFormat) ?? .text
        LoggingSystem.bootstrap { label in LogLines(label: label, level: level, format: format) }
        let logger = Logger(label: "enrichd")
        let environment = processEnvironment()
        if let keys = environment["ENRICHD_SECRET_KEYS"] { configuration.secretKeys = keys }
        if let token = environment["ENRICH_BOOTSTRAP_TOKEN"] {
            guard token.utf8.count >= 16 else {
                writeStandardError("enrichd: ENRICH_BOOTSTRAP_TOKEN must be at least 16 characters\n")
                throw ExitCode(78)
            }
            configuration.bootstrapToken = token
        }
        if configuration.tls == nil { logger.warning("INSECURE: serving plaintext without TLS (insecure_plaintext)") }
        let server: EnrichServer
        do {
            server = try EnrichServer(configuration: configuration, logger: logger)
            let address = try await server.start()
            // One machine-readable line on stdout, written unbuffered so scripts can find the port when it was 0.
            writeStandardOutput("enrichd listening on \(address)\n")
        } catch {
            writeStandardError("enrichd: \(error)\n")
            throw ExitCode(1)
        }
        await waitForTerminationSignal()
        logger.notice("stopping: not ready; draining connections; a second signal exits at once")
        await server.stop()
        logger.notice("stopped")
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration without starting.",
        subcommands: [Check.self],
        defaultSubcommand: Check.self
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Resolve every setting (flags, ENRICHD_* environment, file, defaults), validate, print.",
            discussion: """
                Example:
                  enrichd config check --config /etc/enrichd/enrichd.toml

                Prints every setting with its value and where it came from, then "configuration OK" (exit 0), or \
                the first problem on stderr (exit 78). Writes nothing. The file is TOML with these keys (each also \
                ENRICHD_<KEY> and --<key-with-dashes>):
                \(ServerSettings.definitions.map { "  \($0.key): \($0.help)" }.joined(separator: "\n"))
                Warehouses in the file are a table: [postgres] followed by dw = "host=... dbname=...".
                """
        )

        @OptionGroup var options: ServeOptions

        func run() throws {
            let settings = try self.options.settings()
            do { _ = try settings.configuration() } catch {
                writeStandardError("enrichd: \(error)\n")
                throw ExitCode(78)
            }
            print(settings.report)
            print("configuration OK")
        }
    }
}

/// The process environment as a dictionary.
func processEnvironment() -> [String: String] {
    var environment: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        let text = String(cString: pointer)
        if let equals = text.firstIndex(of: "=") {
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        entry += 1
    }
    return environment
}

/// Writes straight to file descriptor 1, bypassing stdio buffering (a pipe would hold the line back).
func writeStandardOutput(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
}

/// Suspends until SIGINT or SIGTERM arrives.
func waitForTerminationSignal() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let queue = DispatchQueue(label: "enrichd.signals")
    let (signals, continuation) = AsyncStream<Void>.makeStream()
    let sources = [SIGINT, SIGTERM].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler { continuation.yield() }
        source.resume()
        return source
    }
    var iterator = signals.makeAsyncIterator()
    _ = await iterator.next()
    // The drain runs after this returns; a second signal means "now".
    let second = sources.map { source in
        let again = DispatchSource.makeSignalSource(signal: Int32(source.handle), queue: queue)
        again.setEventHandler {
            writeStandardError("enrichd: second signal, exiting without draining\n")
            _exit(1)
        }
        return again
    }
    for source in sources { source.cancel() }
    for source in second { source.resume() }
    signalSourcesKeptAlive = second
}

/// The second-signal sources, kept for the rest of the process.
nonisolated(unsafe) var signalSourcesKeptAlive: [any DispatchSourceSignal] = []

/// Writes straight to file descriptor 2.
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

struct DemoDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Generate the demo tables into the embedded warehouse.",
        discussion: """
            Writes `users` (id INTEGER key) and `products` (sku TEXT key, 10 columns) with a fixed seed, so every \
            machine gets the same rows. Existing demo tables are replaced.

            Example:
              enrichd demo-data --warehouse data/warehouse.sqlite --users 100000 \\
                  --products 1000000
            """
    )

    @Option(help: "SQLite file to write (created when missing).") var warehouse = "data/warehouse.sqlite"
    @Option(help: "Rows in users.") var users = 100_000
    @Option(help: "Rows in products.") var products = 1_000_000
    @Option(help: "Random seed.") var seed: UInt64 = 42

    func validate() throws {
        guard (0...10_000_000).contains(self.users), (0...10_000_000).contains(self.products) else {
            throw ValidationError("--users and --products must be between 0 and 10000000")
        }
    }

    func run() throws {
        if let slash = self.warehouse.lastIndex(of: "/") {
            let directory = String(self.warehouse[..<slash])
            if !directory.isEmpty { _ = mkdir(directory, 0o755) }
        }
        do {
            try DemoData.generate(
                path: self.warehouse, sizes: .init(users: self.users, products: self.products), seed: self.seed
            ) { table, rows in
                print("\(table): \(rows) rows")
            }
        } catch {
            writeStandardError("enrichd demo-data: \(error)\n")
            throw ExitCode(1)
        }
        print("demo warehouse written to \(self.warehouse)")
    }
}

struct SecretKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret-key",
        abstract: "Make keys for sealing stored warehouse passwords, and rotate them.",
        discussion: """
            Warehouse passwords are stored sealed with AES-256-GCM under the first key of the key file \
            (--secret-key-file, default <data-dir>/secret.key, made on first start) or of ENRICHD_SECRET_KEYS. \
            Other keys in the file only open what was sealed before a rotation.

            To rotate:
              enrichd secret-key generate > new.key
              cat new.key data/secret.key > keys && mv keys data/secret.key   # new key first, old kept below
              (restart enrichd: every stored password is sealed again with the new key)
              then delete the old key's line from data/secret.key.
            A key that is lost cannot be recovered: stored passwords sealed with it must be entered again.
            """,
        subcommands: [Generate.self],
        defaultSubcommand: Generate.self
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random key (64 hex digits) on stdout.")
        func run() throws { print(SecretKeyring.generateKey()) }
    }
}
