import ModelCache
package import RPCCore
import SyncEngine

/// How `enrichd` runs: where it listens, where it keeps its files, its TLS material and its policy (every limit).
package struct ServerConfiguration: Sendable {
    /// PEM files for the server's certificate chain and key.
    package struct TLSFiles: Sendable {
        package var certificateChain: String
        package var privateKey: String
        /// When set, clients must present a certificate signed by a CA in this PEM file (mutual TLS).
        package var clientCA: String?

        package init(certificateChain: String, privateKey: String, clientCA: String? = nil) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.clientCA = clientCA
        }
    }

    package var host: String = "127.0.0.1"
    package var port: Int = 7443
    /// Holds the catalog and the embedded warehouse unless their paths are given.
    package var dataDirectory: String = "data"
    package var catalogPath: String?
    package var warehousePath: String?
    /// PostgreSQL warehouses by the name models use, each a libpq connection string (no password: libpq reads
    /// PGPASSWORD or ~/.pgpass).
    package var postgresWarehouses: [String: String] = [:]
    /// Milliseconds since the Unix epoch, for token lifetimes and audit times; tests move it by hand.
    package var wallClock: @Sendable () -> Int64 = { WallClock.wallMilliseconds() }
    /// nil serves plaintext; `enrichd` sets it so only behind `--insecure-plaintext`.
    package var tls: TLSFiles?
    /// Every limit (EnrichPolicy/Policy.swift). The server hands each part its slice: the RPC layers
    /// `policy.server`, the sync engine `policy.sync`, destination plans `policy.languages`.
    package var policy = Policy()
    /// Port of the HTTP endpoint (`/metrics`, `/healthz`, `/readyz`, the status page); 0 picks a free one, nil
    /// turns it and metrics off.
    package var metricsPort: Int? = 9464
    /// Address the HTTP endpoint listens on; nil: `host`.
    package var httpHost: String?
    /// The HTTP endpoint's address.
    package var resolvedHTTPHost: String { self.httpHost ?? self.host }
    /// Event-loop threads; one per core by default.
    package var eventLoopThreads: Int?
    /// The owner token to create on first start (when the catalog has no token). When nil, a random one is
    /// made and written to `ownerTokenPath`.
    package var bootstrapToken: String?
    /// How long audit events are kept; older ones are pruned at start and every hour.
    package var auditRetention: Duration = .seconds(90 * 86_400)
    /// Where a generated first owner token is written (mode 0600); `<data-dir>/owner.token` by default.
    package var ownerTokenPath: String?
    /// The secret keys warehouse passwords are sealed with, as hex lines (first current); when nil they are read
    /// from `secretKeyFile`.
    package var secretKeys: String?
    /// The key file; `<data-dir>/secret.key` by default, made with a random key on first start when missing.
    package var secretKeyFile: String?

    package init() {}

    /// The catalog file actually used.
    package var resolvedCatalogPath: String { self.catalogPath ?? "\(self.dataDirectory)/catalog.sqlite" }
    /// Where a generated owner token goes.
    package var resolvedOwnerTokenPath: String { self.ownerTokenPath ?? "\(self.dataDirectory)/owner.token" }
    /// The secret key file actually used.
    package var resolvedSecretKeyFile: String { self.secretKeyFile ?? "\(self.dataDirectory)/secret.key" }
    /// The embedded warehouse file actually used.
    package var resolvedWarehousePath: String { self.warehousePath ?? "\(self.dataDirectory)/warehouse.sqlite" }

    /// The name models use for the embedded warehouse.
    package static let embeddedWarehouse = "embedded"
}

/// Why the server could not start. `enrichd` prints it on one line and exits non-zero.
package struct ServerError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
