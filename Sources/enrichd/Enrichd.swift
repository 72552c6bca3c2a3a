import ArgumentParser
import Dispatch
import EnrichServer
import Logging
import RPCCore
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
            On first start it creates an owner token in data/owner.token (or from ENRICH_BOOTSTRAP_TOKEN); every
            call but Health needs a token (enrichctl reads ENRICH_TOKEN or --token-file).

            Add a PostgreSQL warehouse named "dw" (models then say --warehouse dw):
              enrichd serve ... --postgres 'dw=host=127.0.0.1 dbname=analytics user=enrich'

            Generate the demo warehouse (users: 100k rows, products: 1M rows):
              enrichd demo-data --warehouse data/warehouse.sqlite
            """,
        subcommands: [Serve.self, DemoDataCommand.self, SecretKeyCommand.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server.",
        discussion: """
            Example:
              enrichd serve --port 7443 --data-dir data --tls-cert certs/server.pem --tls-key certs/server-key.pem

            TLS is required unless --insecure-plaintext is given, which sends tokens and data in the clear and is
            only for debugging on a trusted machine.
            """
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free port and prints it).") var port = 7443
    @Option(help: "Directory for the catalog and the embedded warehouse.") var dataDir = "data"
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
    @Option(help: "Port of the Prometheus /metrics endpoint on --host (0 picks a free one).") var metricsPort = 9464
    @Flag(help: "Do not serve or record metrics.") var noMetrics = false
    @Option(help: "Days the audit trail keeps events (older ones are pruned hourly).") var auditRetentionDays = 90
    @Option(help: "Most rows a model may have; a sync past it fails (Segment: 100000000).") var maxModelRows =
        100_000_000
    @Option(help: "Largest row in KiB; larger rows are left out of a sync and reported (Segment: 512).") var maxRowKib =
        512
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
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(
        help: ArgumentHelp(
            "Seconds a stop (SIGTERM or SIGINT) lets calls in flight finish before answering them UNAVAILABLE.",
            discussion:
                "On the first signal the server stops accepting, tells every client it is going away (they reconnect elsewhere), finishes calls in flight within this grace, interrupts running syncs (rerun at the next start) and exits. A second signal exits at once."
        ))
    var drainGraceSeconds: Double = 10

    func validate() throws {
        if self.insecurePlaintext {
            guard self.tlsCert == nil && self.tlsKey == nil && self.clientCA == nil else {
                throw ValidationError("--insecure-plaintext cannot be combined with --tls-cert/--tls-key")
            }
        } else {
            guard self.tlsCert != nil && self.tlsKey != nil else {
                throw ValidationError(
                    "TLS needs --tls-cert and --tls-key (Scripts/gen-certs.sh makes development ones), or pass --insecure-plaintext"
                )
            }
        }
        guard (0...65_535).contains(self.port) else { throw ValidationError("--port must be 0...65535") }
        if let threads = self.threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be 1...256")
        }
        guard (1...3_650).contains(self.auditRetentionDays) else {
            throw ValidationError("--audit-retention-days must be 1...3650")
        }
        guard (1...4_000_000_000).contains(self.maxModelRows) else {
            throw ValidationError("--max-model-rows must be 1...4000000000")
        }
        guard (1...65_536).contains(self.maxRowKib) else { throw ValidationError("--max-row-kib must be 1...65536") }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("unknown --log-level \(self.logLevel)")
        }
        guard self.drainGraceSeconds >= 0 && self.drainGraceSeconds <= 3_600 else {
            throw ValidationError("--drain-grace-seconds must be 0...3600")
        }
    }

    func run() async throws {
        // Whatever the caller's umask, nothing the server creates is readable by other users.
        umask(0o077)
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "enrichd")
        var configuration = ServerConfiguration()
        configuration.host = self.host
        configuration.port = self.port
        configuration.dataDirectory = self.dataDir
        configuration.catalogPath = self.catalog
        configuration.warehousePath = self.warehouse
        for entry in self.postgres {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex,
                entry[entry.index(after: equals)...].isEmpty == false
            else {
                writeStandardOutput("enrichd: --postgres wants NAME=CONNECTION, got '\(entry)'\n")
                throw ExitCode(64)
            }
            let name = String(entry[..<equals])
            guard name != ServerConfiguration.embeddedWarehouse, configuration.postgresWarehouses[name] == nil else {
                writeStandardOutput("enrichd: warehouse name '\(name)' is already taken\n")
                throw ExitCode(64)
            }
            configuration.postgresWarehouses[name] = String(entry[entry.index(after: equals)...])
        }
        configuration.eventLoopThreads = self.threads
        configuration.ownerTokenPath = self.ownerTokenFile
        configuration.secretKeyFile = self.secretKeyFile
        if let keys = getenv("ENRICHD_SECRET_KEYS") { configuration.secretKeys = String(cString: keys) }
        configuration.auditRetention = .seconds(Int64(self.auditRetentionDays) * 86_400)
        configuration.metricsPort = self.noMetrics ? nil : self.metricsPort
        configuration.policy.sync.maxRows = self.maxModelRows
        configuration.policy.sync.maxRowBytes = self.maxRowKib << 10
        configuration.policy.server.drainGracePeriod = .milliseconds(Int64(self.drainGraceSeconds * 1_000))
        if let preset = getenv("ENRICH_BOOTSTRAP_TOKEN") {
            let token = String(cString: preset)
            guard token.utf8.count >= 16 else {
                writeStandardOutput("enrichd: ENRICH_BOOTSTRAP_TOKEN must be at least 16 characters\n")
                throw ExitCode(1)
            }
            configuration.bootstrapToken = token
        }
        if let cert = self.tlsCert, let key = self.tlsKey {
            configuration.tls = .init(certificateChain: cert, privateKey: key, clientCA: self.clientCA)
        } else {
            logger.warning("INSECURE: serving plaintext without TLS (--insecure-plaintext)")
        }
        let server: EnrichServer
        do {
            server = try EnrichServer(configuration: configuration, logger: logger)
            let address = try await server.start()
            // One machine-readable line on stdout, written unbuffered so scripts can find the port when it was 0.
            writeStandardOutput("enrichd listening on \(address)\n")
        } catch {
            print("enrichd: \(error)")
            throw ExitCode(1)
        }
        await waitForTerminationSignal()
        logger.notice(
            "stopping: draining connections (grace \(self.drainGraceSeconds) s); a second signal exits at once")
        await server.stop()
        logger.notice("stopped")
    }
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
            Writes `users` (id INTEGER key) and `products` (sku TEXT key, 10 columns) with a fixed seed, so every
            machine gets the same rows. Existing demo tables are replaced.

            Example:
              enrichd demo-data --warehouse data/warehouse.sqlite --users 100000 --products 1000000
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
            print("enrichd demo-data: \(error)")
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
            Warehouse passwords are stored sealed with AES-256-GCM under the first key of the key file
            (--secret-key-file, default <data-dir>/secret.key, made on first start) or of ENRICHD_SECRET_KEYS.
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
