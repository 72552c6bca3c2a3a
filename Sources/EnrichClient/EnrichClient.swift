public import Logging
public import NIOCore
import NIOPosix
@_exported public import RPCCore
@_exported public import RPCMessages
import RPCTransport

/// The Swift SDK: one TLS connection to `enrichd` carrying any number of concurrent calls, replaced when it
/// breaks or the server drains it.
///
/// When the server says it is going away (docs/PROTOCOL.md, "Draining"), calls already sent get their answers on
/// the old connection while new calls go to a new one; a call the server refused unstarted because of the drain
/// is sent again on the new connection. A call that was in flight when a connection broke is not sent again (it
/// may have run); it fails with UNAVAILABLE.
///
/// ```swift
/// let client = try await EnrichClient.connect(.init(host: "127.0.0.1", port: 7443, security: .tls(caFile: "ca.pem")))
/// let response = try await client.lookup(model: "users", stringKeys: ["42"], columns: ["plan"])
/// ```
public final class EnrichClient: Sendable {
    /// Where to connect and how to trust the server.
    public struct Configuration: Sendable {
        /// How the connection is secured.
        public enum Security: Sendable {
            /// TLS, verifying the server against the CA certificates in a PEM file.
            case tls(caFile: String)
            /// TLS, verifying the server against CA certificates given as PEM text.
            case tlsWithCAPEM(String)
            /// Mutual TLS: verifies the server against `caFile` and presents a client certificate and key.
            case mutualTLS(caFile: String, certificateFile: String, keyFile: String)
            /// No encryption. Only for a server started with `--insecure-plaintext`.
            case insecurePlaintext
        }

        /// The server's address: a name or an IP address.
        public var host: String
        /// The server's RPC port (7443 by default on the server).
        public var port: Int
        /// TLS and how to trust the server (and, for mutual TLS, the client certificate).
        public var security: Security
        /// The name the server's certificate must carry; the host by default.
        public var serverName: String?
        /// Sent with every call as "Bearer <token>".
        public var token: String?
        /// Deadline for calls that set none.
        public var defaultTimeout: Duration
        /// How long a connection and its TLS handshake may take.
        public var connectTimeout: Duration
        /// How a broken or drained connection is replaced: attempts, and the backoff between them (doubling from
        /// `reconnectBackoff` up to `maxReconnectBackoff`, with jitter).
        public var reconnectAttempts: Int
        /// The first wait between reconnection attempts.
        public var reconnectBackoff: Duration
        /// The longest wait between reconnection attempts.
        public var maxReconnectBackoff: Duration
        /// The largest answer accepted (a server with a larger `maxResponseBytes` needs a larger one here).
        public var maxResponseFrameBytes: Int
        /// Where the transport logs (connections closed, TLS failures, drains); lower its level to quiet it.
        public var logger: Logger = Logger(label: "enrich.client")

        /// A configuration; only the address and security have no default.
        public init(
            host: String, port: Int, security: Security, serverName: String? = nil, token: String? = nil,
            defaultTimeout: Duration = .seconds(30), connectTimeout: Duration = ClientLimits().connectTimeout,
            reconnectAttempts: Int = 6,
            reconnectBackoff: Duration = .milliseconds(50), maxReconnectBackoff: Duration = .seconds(2),
            maxResponseFrameBytes: Int = ClientLimits().maxResponseFrameBytes
        ) {
            self.maxResponseFrameBytes = maxResponseFrameBytes
            self.host = host
            self.port = port
            self.security = security
            self.serverName = serverName
            self.token = token
            self.defaultTimeout = defaultTimeout
            self.connectTimeout = connectTimeout
            self.reconnectAttempts = reconnectAttempts
            self.reconnectBackoff = reconnectBackoff
            self.maxReconnectBackoff = maxReconnectBackoff
        }
    }

    /// The configuration the client was made with.
    public let configuration: Configuration
    private let holder: ConnectionHolder

    /// The event loops clients use unless given others: one per core, and never fewer than one (some
    /// containers report a core count of 0 through their cgroup files).
    public static let defaultGroup: any EventLoopGroup = MultiThreadedEventLoopGroup(
        numberOfThreads: max(1, System.coreCount))

    private init(configuration: Configuration, holder: ConnectionHolder) {
        self.configuration = configuration
        self.holder = holder
    }

    /// Connects and completes the TLS handshake.
    /// - Throws: a connection error, or a TLS error naming why the server was not trusted.
    public static func connect(
        _ configuration: Configuration, group: any EventLoopGroup = EnrichClient.defaultGroup
    ) async throws -> EnrichClient {
        let tls: TLSContext?
        switch configuration.security {
        case .tls(let caFile):
            tls = try TLSContext(
                configuration: .client(
                    trustRoots: .file(caFile), serverName: configuration.serverName ?? configuration.host
                ))
        case .tlsWithCAPEM(let pem):
            tls = try TLSContext(
                configuration: .client(
                    trustRoots: .string(pem), serverName: configuration.serverName ?? configuration.host
                ))
        case .mutualTLS(let caFile, let certificateFile, let keyFile):
            tls = try TLSContext(
                configuration: .client(
                    trustRoots: .file(caFile), serverName: configuration.serverName ?? configuration.host,
                    certificate: (chain: .file(certificateFile), key: .file(keyFile))
                ))
        case .insecurePlaintext:
            tls = nil
        }
        let holder = ConnectionHolder(configuration: configuration, tls: tls, group: group)
        _ = try await holder.connect()
        return EnrichClient(configuration: configuration, holder: holder)
    }

    /// Whether the current connection is open and takes new calls (a new one is made on the next call if not).
    public var isConnected: Bool { get async { await self.holder.current?.isActive ?? false } }

    /// Connections made so far, the first included.
    public var connectionsMade: Int { get async { await self.holder.made } }

    private func options(_ timeout: Duration?) -> CallOptions {
        CallOptions(token: self.configuration.token, timeout: timeout ?? self.configuration.defaultTimeout)
    }

    /// Makes any unary call by method; the typed helpers below cover every method the server has.
    public func call<Request: MessageSerializer, Response: MessageDeserializer>(
        _ method: MethodDescriptor, _ request: Request, timeout: Duration? = nil, as type: Response.Type = Response.self
    ) async throws -> Response {
        var attempt = 0
        while true {
            let connection = try await self.holder.connect()
            do {
                return try await connection.unary(method, request, options: self.options(timeout))
            } catch let error as RPCError
                where error.metadata[ConnectionHolder.goAwayKey] != nil
                && error.metadata[ConnectionHolder.goAwayKey] != "stopped"
            {
                // Refused unstarted because the server is draining: safe to send again on a new connection.
                attempt += 1
                guard attempt <= self.configuration.reconnectAttempts else { throw error }
            }
        }
    }

    // MARK: - Enrich

    /// Reads `columns` (all when empty) of the rows with these keys.
    public func lookup(
        model: String, stringKeys: [String] = [], intKeys: [Int64] = [], columns: [String] = [],
        timeout: Duration? = nil
    ) async throws -> LookupResponse {
        try await self.call(
            Methods.lookup, LookupRequest(model: model, columns: columns, stringKeys: stringKeys, intKeys: intKeys),
            timeout: timeout
        )
    }

    /// Enriches JSON events with model columns, matching rows by the value at `keyPath`.
    public func enrich(
        model: String, keyPath: String, enrichments: [Enrichment], events: [[UInt8]], timeout: Duration? = nil
    ) async throws -> EnrichResponse {
        try await self.call(
            Methods.enrich, EnrichRequest(model: model, keyPath: keyPath, enrichments: enrichments, events: events),
            timeout: timeout
        )
    }

    /// Sends events through a destination's mappings (condition, model lookups, enrichments, field mappings).
    public func enrich(destination: String, events: [[UInt8]], timeout: Duration? = nil) async throws -> EnrichResponse
    {
        try await self.call(Methods.enrich, EnrichRequest(events: events, destination: destination), timeout: timeout)
    }

    /// A dry run of a saved or inline mapping on a sample event.
    public func testMapping(_ request: TestMappingRequest) async throws -> MappingOutcome {
        let response: TestMappingResponse = try await self.call(Methods.testMapping, request)
        return response.result ?? MappingOutcome(mapping: "")
    }

    // MARK: - Destinations

    /// Creates a destination; every mapping is validated (conditions, field mappings, models, columns) first.
    public func createDestination(_ request: CreateDestinationRequest) async throws -> Destination {
        try await self.call(Methods.createDestination, request)
    }

    /// A destination with its mappings, version and outcome counts.
    public func getDestination(_ name: String) async throws -> Destination {
        try await self.call(Methods.getDestination, GetDestinationRequest(name: name))
    }

    /// Destinations by name, a page at a time (`nextPageToken` is empty on the last page).
    public func listDestinations(
        pageSize: UInt32 = 0, pageToken: String = "", namePrefix: String = ""
    ) async throws -> ListDestinationsResponse {
        try await self.call(
            Methods.listDestinations,
            ListDestinationsRequest(pageSize: pageSize, pageToken: pageToken, namePrefix: namePrefix)
        )
    }

    /// Replaces a destination's mappings; ABORTED when `expectedVersion` is stale.
    public func updateDestination(_ request: UpdateDestinationRequest) async throws -> Destination {
        try await self.call(Methods.updateDestination, request)
    }

    /// Deletes a destination.
    public func deleteDestination(_ name: String) async throws {
        let _: DeleteDestinationResponse = try await self.call(
            Methods.deleteDestination, DeleteDestinationRequest(name: name))
    }

    // MARK: - Tokens

    /// Creates a token; the response's `secret` is the only time the token is shown.
    public func createToken(name: String, role: String, ttlSeconds: UInt64 = 0) async throws -> CreateTokenResponse {
        try await self.call(Methods.createToken, CreateTokenRequest(name: name, role: role, ttlSeconds: ttlSeconds))
    }

    /// Every token (never their secrets), revoked ones included.
    public func listTokens() async throws -> [Token] {
        let response: ListTokensResponse = try await self.call(Methods.listTokens, ListTokensRequest())
        return response.tokens
    }

    /// Revokes a token; calls with it fail UNAUTHENTICATED from then on, open streams included.
    public func revokeToken(id: String) async throws -> Token {
        try await self.call(Methods.revokeToken, RevokeTokenRequest(id: id))
    }

    // MARK: - Admin

    /// Defines a model over a table or a query; its columns are introspected from the warehouse.
    public func createModel(_ request: CreateModelRequest) async throws -> Model {
        try await self.call(Methods.createModel, request)
    }

    /// A model with its columns, the snapshot being served and its latest run.
    public func getModel(_ name: String) async throws -> Model {
        try await self.call(Methods.getModel, GetModelRequest(name: name))
    }

    /// Models by name, a page at a time (`nextPageToken` is empty on the last page).
    public func listModels(
        pageSize: UInt32 = 0, pageToken: String = "", namePrefix: String = ""
    ) async throws -> ListModelsResponse {
        try await self.call(
            Methods.listModels, ListModelsRequest(pageSize: pageSize, pageToken: pageToken, namePrefix: namePrefix))
    }

    /// Changes a model's source or key; ABORTED when `expectedVersion` is stale.
    public func updateModel(_ request: UpdateModelRequest) async throws -> Model {
        try await self.call(Methods.updateModel, request)
    }

    /// Deletes a model; FAILED_PRECONDITION while a destination mapping uses it (the error names them).
    public func deleteModel(_ name: String) async throws {
        let _: DeleteModelResponse = try await self.call(Methods.deleteModel, DeleteModelRequest(name: name))
    }

    /// The audit trail, newest first, filtered as `request` says.
    public func listAudit(_ request: ListAuditRequest = ListAuditRequest()) async throws -> [AuditEvent] {
        let response: ListAuditResponse = try await self.call(Methods.listAudit, request)
        return response.events
    }

    /// Whether the server is ready (SERVING, or NOT_SERVING with reasons); needs no token.
    public func health() async throws -> HealthCheckResponse {
        try await self.call(Methods.healthCheck, HealthCheckRequest())
    }

    // MARK: - Sync

    /// Starts a sync; with `fullResync` it reads every row instead of only the changed ones.
    public func triggerSync(model: String, fullResync: Bool = false) async throws -> SyncRun {
        try await self.call(Methods.triggerSync, TriggerSyncRequest(model: model, fullResync: fullResync))
    }

    /// Run `id` as it stands (live while it is going).
    public func syncRun(id: UInt64) async throws -> SyncRun {
        try await self.call(Methods.getSyncRun, GetSyncRunRequest(id: id))
    }

    /// Stops run `id` and returns it as it ended (FAILED, `cancelled`); FAILED_PRECONDITION when it had finished.
    public func cancelSync(id: UInt64) async throws -> SyncRun {
        try await self.call(Methods.cancelSync, CancelSyncRequest(id: id))
    }

    /// The rows run `id` left out, with key, reason and attempt (the first 1,000 of `rowsFailed`).
    public func runIssues(id: UInt64) async throws -> ListRunIssuesResponse {
        try await self.call(Methods.listRunIssues, ListRunIssuesRequest(id: id))
    }

    /// The latest `limit` runs (20 when 0) of `model`, or of every model when `model` is empty, newest first.
    public func listSyncRuns(model: String = "", limit: UInt32 = 0) async throws -> [SyncRun] {
        let response: ListSyncRunsResponse = try await self.call(
            Methods.listSyncRuns, ListSyncRunsRequest(model: model, limit: limit)
        )
        return response.runs
    }

    /// Sets a model's schedule ("manual", "every 1h", "daily 09:30 Europe/Paris", "weekly mon 09:30 UTC",
    /// "cron */30 * * * *").
    public func setSchedule(model: String, schedule: String) async throws -> ModelSchedule {
        try await self.call(Methods.setSchedule, SetScheduleRequest(model: model, schedule: schedule))
    }

    /// The warehouses models can read from (the first page of up to 100); with `test`, whether each answers now.
    public func listWarehouses(test: Bool = false) async throws -> [WarehouseInfo] {
        try await self.listWarehouses(ListWarehousesRequest(test: test)).warehouses
    }

    /// One page of warehouses.
    public func listWarehouses(_ request: ListWarehousesRequest) async throws -> ListWarehousesResponse {
        try await self.call(Methods.listWarehouses, request)
    }

    /// Connects a warehouse; the server tests the connection before storing it. The password is never
    /// returned afterwards (`hasPassword` says whether one is stored).
    public func createWarehouse(_ request: CreateWarehouseRequest) async throws -> WarehouseInfo {
        try await self.call(Methods.createWarehouse, request)
    }

    /// A warehouse's settings; with `test`, whether it answers now.
    public func getWarehouse(_ name: String, test: Bool = false) async throws -> WarehouseInfo {
        try await self.call(Methods.getWarehouse, GetWarehouseRequest(name: name, test: test))
    }

    /// Changes a warehouse's connection or password (tested first); ABORTED when `expectedVersion` is stale.
    public func updateWarehouse(_ request: UpdateWarehouseRequest) async throws -> WarehouseInfo {
        try await self.call(Methods.updateWarehouse, request)
    }

    /// Removes a warehouse; refused while a model reads from it.
    public func deleteWarehouse(_ name: String) async throws {
        let _: DeleteWarehouseResponse = try await self.call(
            Methods.deleteWarehouse, DeleteWarehouseRequest(name: name))
    }

    /// Every model's schedule and when its next run is due.
    public func listSchedules() async throws -> [ModelSchedule] {
        let response: ListSchedulesResponse = try await self.call(Methods.listSchedules, ListSchedulesRequest())
        return response.schedules
    }

    /// Streams a run's progress until it finishes.
    public func watchSync(id: UInt64, timeout: Duration = .seconds(3_600)) -> AsyncThrowingStream<SyncRun, any Error> {
        let (stream, continuation) = AsyncThrowingStream<SyncRun, any Error>.makeStream()
        let task = Task {
            do {
                let connection = try await self.holder.connect()
                let inner = connection.serverStreaming(
                    Methods.watchSync, WatchSyncRequest(id: id), options: self.options(timeout), as: SyncRun.self
                )
                for try await run in inner { continuation.yield(run) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        await self.holder.close()
    }
}

/// The client's current connection, replaced when it breaks or the server drains it, with bounded backoff.
actor ConnectionHolder {
    static let goAwayKey = "enrich-goaway"
    let configuration: EnrichClient.Configuration
    let tls: TLSContext?
    let group: any EventLoopGroup
    private(set) var current: RPCClientConnection?
    private(set) var made = 0
    private var closed = false

    init(configuration: EnrichClient.Configuration, tls: TLSContext?, group: any EventLoopGroup) {
        self.configuration = configuration
        self.tls = tls
        self.group = group
    }

    /// The current connection when it takes calls, else a new one.
    /// - Throws: the last connect error once `reconnectAttempts` tries failed (the first connect tries once).
    func connect() async throws -> RPCClientConnection {
        if let current = self.current, current.isActive { return current }
        guard !self.closed else { throw RPCError(.unavailable, "the client was closed") }
        let attempts = self.made == 0 ? 1 : max(1, self.configuration.reconnectAttempts)
        var backoff = self.configuration.reconnectBackoff
        var lastError: (any Error)?
        for attempt in 0..<attempts {
            if attempt > 0 {
                // Full jitter, so clients drained together do not reconnect in lockstep.
                let nanoseconds =
                    backoff.components.seconds * 1_000_000_000 + backoff.components.attoseconds / 1_000_000_000
                try await Task.sleep(
                    for: .nanoseconds(Int64.random(in: nanoseconds / 2...max(nanoseconds / 2, nanoseconds))))
                backoff = min(backoff * 2, self.configuration.maxReconnectBackoff)
            }
            do {
                let connection = try await RPCClientConnection.connect(
                    host: self.configuration.host, port: self.configuration.port, tls: self.tls, group: self.group,
                    maxFramePayloadBytes: self.configuration.maxResponseFrameBytes,
                    connectTimeout: self.configuration.connectTimeout, logger: self.configuration.logger
                )
                let old = self.current
                self.current = connection
                self.made += 1
                // A drained connection closes itself once its calls are answered; one that broke is closed here.
                if let old, !old.isDraining { Task { await old.close() } }
                return connection
            } catch {
                lastError = error
            }
        }
        throw lastError ?? RPCError(.unavailable, "cannot connect")
    }

    func close() async {
        self.closed = true
        await self.current?.close()
    }
}
