public import RPCCore
import SyncEngine

/// How `enrichd` runs: where it listens, where it keeps its files, its TLS material and its policy (every limit).
public struct ServerConfiguration: Sendable {
    /// PEM files for the server's certificate chain and key.
    public struct TLSFiles: Sendable {
        public var certificateChain: String
        public var privateKey: String
        /// When set, clients must present a certificate signed by a CA in this PEM file (mutual TLS).
        public var clientCA: String?

        public init(certificateChain: String, privateKey: String, clientCA: String? = nil) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.clientCA = clientCA
        }
    }

    public var host: String = "127.0.0.1"
    public var port: Int = 7443
    /// Holds the catalog and the embedded warehouse unless their paths are given.
    public var dataDirectory: String = "data"
    public var catalogPath: String?
    public var warehousePath: String?
    /// PostgreSQL warehouses by the name models use, each a libpq connection string (no password: libpq reads
    /// PGPASSWORD or ~/.pgpass).
    public var postgresWarehouses: [String: String] = [:]
    /// Milliseconds since the Unix epoch, for token lifetimes and audit times; tests move it by hand.
    public var wallClock: @Sendable () -> Int64 = { WallClock.wallMilliseconds() }
    /// nil serves plaintext; `enrichd` sets it so only behind `--insecure-plaintext`.
    public var tls: TLSFiles?
    /// Every limit (EnrichPolicy/Policy.swift). The server hands each part its slice: the RPC layers
    /// `policy.server`, the sync engine `policy.sync`, destination plans `policy.languages`.
    public var policy = Policy()
    /// Port of the Prometheus `/metrics` endpoint on `host`; 0 picks a free one, nil turns metrics off.
    public var metricsPort: Int? = 9464
    /// Event-loop threads; one per core by default.
    public var eventLoopThreads: Int?
    /// The owner token to create on first start (when the catalog has no token). When nil, a random one is
    /// made and written to `ownerTokenPath`.
    public var bootstrapToken: String?
    /// How long audit events are kept; older ones are pruned at start and every hour.
    public var auditRetention: Duration = .seconds(90 * 86_400)
    /// Where a generated first owner token is written (mode 0600); `<data-dir>/owner.token` by default.
    public var ownerTokenPath: String?
    /// The secret keys warehouse passwords are sealed with, as hex lines (first current); when nil they are read
    /// from `secretKeyFile`.
    public var secretKeys: String?
    /// The key file; `<data-dir>/secret.key` by default, made with a random key on first start when missing.
    public var secretKeyFile: String?

    public init() {}

    /// The catalog file actually used.
    public var resolvedCatalogPath: String { self.catalogPath ?? "\(self.dataDirectory)/catalog.sqlite" }
    /// Where a generated owner token goes.
    public var resolvedOwnerTokenPath: String { self.ownerTokenPath ?? "\(self.dataDirectory)/owner.token" }
    /// The secret key file actually used.
    public var resolvedSecretKeyFile: String { self.secretKeyFile ?? "\(self.dataDirectory)/secret.key" }
    /// The embedded warehouse file actually used.
    public var resolvedWarehousePath: String { self.warehousePath ?? "\(self.dataDirectory)/warehouse.sqlite" }

    /// The name models use for the embedded warehouse.
    public static let embeddedWarehouse = "embedded"
}

/// Why the server could not start. `enrichd` prints it on one line and exits non-zero.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
