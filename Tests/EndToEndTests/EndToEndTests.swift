import EnrichClient
import EnrichServer
import EventJSON
import Logging
import ModelCache
import RPCTesting
import RPCTransport
import Testing
import Warehouses

/// `EnrichServer` on 127.0.0.1:0 with TLS over a small demo warehouse, and an SDK client that trusts it.
struct ServerFixture {
    let directory: TemporaryDirectory
    let server: EnrichServer
    let client: EnrichClient
    let certificates: TestCertificates
    /// What the server logged.
    let logs: LogCapture

    static func start(
        limits: Limits = Limits(), users: Int = 1_000, products: Int = 2_000, requireClientCertificates: Bool = false,
        postgres: [String: String] = [:], wallClock: (@Sendable () -> Int64)? = nil,
        restarting previous: ServerFixture? = nil
    ) async throws -> ServerFixture {
        let directory = previous?.directory ?? TemporaryDirectory()
        let certificates = try previous?.certificates ?? TestCertificates()
        if previous == nil {
            try DemoData.generate(
                path: directory.file("warehouse.sqlite"), sizes: .init(users: users, products: products))
        }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = directory.path
        configuration.policy.server = limits
        configuration.eventLoopThreads = 2
        configuration.bootstrapToken = ServerFixture.ownerToken
        configuration.metricsPort = 0
        configuration.postgresWarehouses = postgres
        if let wallClock { configuration.wallClock = wallClock }
        configuration.tls = .init(
            certificateChain: directory.write("server.pem", certificates.server.certificatePEM),
            privateKey: directory.write("server-key.pem", certificates.server.privateKeyPEM),
            clientCA: requireClientCertificates ? directory.write("client-ca.pem", certificates.ca.certificatePEM) : nil
        )
        var security = EnrichClient.Configuration.Security.tls(
            caFile: directory.write("ca.pem", certificates.ca.certificatePEM))
        if requireClientCertificates {
            let issued = try CertificateFactory.make(
                commonName: "test client", subjectAltName: nil, isCA: false, issuer: certificates.ca)
            security = .mutualTLS(
                caFile: directory.file("ca.pem"), certificateFile: directory.write("client.pem", issued.certificatePEM),
                keyFile: directory.write("client-key.pem", issued.privateKeyPEM)
            )
        }
        let logs = LogCapture()
        let server = try EnrichServer(configuration: configuration, logger: logs.logger(label: "e2e"))
        let address = try await server.start()
        let client = try await EnrichClient.connect(
            .init(
                host: "127.0.0.1", port: address.port, security: security, token: ServerFixture.ownerToken
            ))
        return ServerFixture(
            directory: directory, server: server, client: client, certificates: certificates, logs: logs)
    }

    static let ownerToken = "enr_test_owner_0123456789abcdef"

    /// Another client on the same server with `token`.
    func client(token: String?) async throws -> EnrichClient {
        try await EnrichClient.connect(
            .init(
                host: "127.0.0.1", port: self.client.configuration.port,
                security: .tlsWithCAPEM(self.certificates.ca.certificatePEM), token: token
            ))
    }

    private init(
        directory: TemporaryDirectory, server: EnrichServer, client: EnrichClient, certificates: TestCertificates,
        logs: LogCapture
    ) {
        self.directory = directory
        self.server = server
        self.client = client
        self.certificates = certificates
        self.logs = logs
    }

    /// Creates the demo models and syncs them, waiting for each run through the progress stream.
    func createAndSyncDemoModels() async throws {
        _ = try await self.client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        _ = try await self.client.createModel(
            CreateModelRequest(name: "products", table: "products", primaryKey: "sku"))
        for model in ["users", "products"] {
            let run = try await self.client.triggerSync(model: model)
            var last: SyncRun?
            for try await state in self.client.watchSync(id: run.id) { last = state }
            #expect(last?.status == .success)
        }
    }

    /// Follows run `id` to its end and returns it as it ended.
    func waitForRun(_ id: UInt64) async throws -> SyncRun {
        var last: SyncRun?
        for try await state in self.client.watchSync(id: id) { last = state }
        return try #require(last)
    }

    func stop() async {
        await self.client.close()
        await self.server.stop()
    }
}

func expectRPCError(_ code: StatusCode, _ message: String, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(code): \(message)")
    } catch let error as RPCError {
        #expect(error.code == code)
        #expect(error.message == message)
    } catch {
        Issue.record("expected RPCError, got \(error)")
    }
}

@Suite("End to end: enrichd over TLS through the Swift SDK")
struct EndToEndTests {
    @Test("Create models, sync them, look up rows and enrich events")
    func happyPath() async throws {
        let fixture = try await ServerFixture.start()
        try await fixture.createAndSyncDemoModels()

        let models = try await fixture.client.listModels()
        #expect(models.models.map(\.name) == ["products", "users"])
        #expect(models.models.map(\.cachedRows) == [2_000, 1_000])

        let lookup = try await fixture.client.lookup(
            model: "products", stringKeys: [DemoData.sku(1), "SKU-missing", DemoData.sku(2_000)],
            columns: ["product_id", "name", "price"]
        )
        #expect(lookup.found == [true, false, true])
        #expect(lookup.columns.map(\.name) == ["product_id", "name", "price"])
        #expect(lookup.columns[0].int64Values == [1, 0, 2_000])
        #expect(lookup.columns[0].nulls == [false, true, false])
        #expect(lookup.columns[1].stringValues[0].hasSuffix(" 1"))

        let byInt = try await fixture.client.lookup(model: "users", intKeys: [5, 6_000], columns: ["email"])
        #expect(byInt.found == [true, false])
        #expect(byInt.columns[0].stringValues[0].hasSuffix("5@example.com"))

        let events = [
            #"{"type":"track","event":"Order Completed","userId":7,"properties":{"total":10}}"#,
            #"{"type":"track","userId":"7"}"#,
            #"{"type":"track","userId":"999999"}"#,
            #"{"type":"identify"}"#,
            #"[1,2]"#,
        ].map { Array($0.utf8) }
        let enriched = try await fixture.client.enrich(
            model: "users", keyPath: "userId",
            enrichments: [
                Enrichment(column: "plan", key: "traits.plan"),
                Enrichment(column: "signup_at", key: "context.traits.signup_at"),
            ],
            events: events
        )
        #expect(enriched.events.map(\.outcome) == [.enriched, .enriched, .notEnriched, .notEnriched, .notEnriched])
        #expect(enriched.events.map(\.reason) == [.none, .none, .notFound, .noKey, .invalidEvent])
        let first = try JSONParser.parse(enriched.events[0].event)
        let plan = try #require(first[path: JSONPath("traits.plan")!])
        guard case .string(let planName) = plan else {
            Issue.record("plan is not a string: \(plan)")
            return
        }
        #expect(["free", "starter", "pro", "enterprise"].contains(planName))
        guard case .string(let signup) = first[path: JSONPath("context.traits.signup_at")!] else {
            Issue.record("signup_at missing")
            return
        }
        #expect(signup.hasSuffix("Z") && signup.count == 24)
        #expect(first[path: JSONPath("properties.total")!] == .int(10))
        #expect(enriched.events[2].event == events[2])
        #expect(enriched.events[4].error == "event 4 is not a JSON object")

        let runs = try await fixture.client.listSyncRuns(model: "users")
        #expect(runs.count == 1 && runs[0].status == .success && runs[0].rowsAdded == 1_000)
        #expect(try await fixture.client.health().modelsLoaded == 2)
        await fixture.stop()
    }

    @Test("Lookup answers every column type, NULLs and missing keys exactly as the cache holds them")
    func lookupMatchesCache() async throws {
        let fixture = try await ServerFixture.start(users: 300, products: 10)
        try await fixture.createAndSyncDemoModels()
        let keys: [Int64] = Array(1...300) + [0, 301, -5]
        let response = try await fixture.client.lookup(model: "users", intKeys: keys)
        let snapshot = try #require(fixture.server.cache.snapshot(of: "users"))
        #expect(response.columns.map(\.name) == snapshot.schema.map(\.name))
        for (index, key) in keys.enumerated() {
            let row = snapshot.row(for: .int(key))
            #expect(response.found[index] == (row != nil))
            for (position, column) in response.columns.enumerated() {
                let expected = row.map { snapshot.columns[position].value(at: $0) } ?? .null
                let actual: CellValue
                if column.nulls[index] {
                    actual = .null
                } else {
                    switch column.type {
                    case .int64: actual = .int64(column.int64Values[index])
                    case .timestamp: actual = .timestamp(column.int64Values[index])
                    case .double: actual = .double(column.doubleValues[index])
                    case .bool: actual = .bool(column.boolValues[index])
                    default: actual = .string(column.stringValues[index])
                    }
                }
                #expect(actual == expected, "key \(key), column \(column.name)")
            }
        }
        let none = try await fixture.client.lookup(model: "users", intKeys: [], columns: ["email"])
        #expect(none.found.isEmpty && none.columns.map(\.name) == ["email"])
        await fixture.stop()
    }

    @Test("Bad requests get precise errors, and the connection keeps serving")
    func badInput() async throws {
        let fixture = try await ServerFixture.start()
        let client = fixture.client
        await expectRPCError(.notFound, "model 'ghost' does not exist") {
            _ = try await client.lookup(model: "ghost", stringKeys: ["1"])
        }
        _ = try await client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        await expectRPCError(.failedPrecondition, "model 'users' has no synced data yet; run a sync first") {
            _ = try await client.lookup(model: "users", stringKeys: ["1"])
        }
        await expectRPCError(.alreadyExists, "model 'users' already exists") {
            _ = try await client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        }
        await expectRPCError(
            .invalidArgument,
            "model name '1users' is invalid: use letters, digits, '_', '-' and '.', starting with a letter"
        ) {
            _ = try await client.createModel(CreateModelRequest(name: "1users", table: "users", primaryKey: "id"))
        }
        await expectRPCError(.invalidArgument, "a model reads exactly one of a table or a query; both given") {
            _ = try await client.createModel(
                CreateModelRequest(name: "x", table: "users", query: "SELECT 1", primaryKey: "id"))
        }
        await expectRPCError(.notFound, "table 'nope' does not exist in the warehouse") {
            _ = try await client.createModel(CreateModelRequest(name: "x", table: "nope", primaryKey: "id"))
        }
        await expectRPCError(
            .invalidArgument,
            "primary key 'uid' is not a column of the source (columns: id, email, name, plan, country, lifetime_value, is_active, age, signup_at)"
        ) {
            _ = try await client.createModel(CreateModelRequest(name: "x", table: "users", primaryKey: "uid"))
        }
        await expectRPCError(.notFound, "warehouse 'pg' does not exist") {
            _ = try await client.createModel(
                CreateModelRequest(name: "x", warehouse: "pg", table: "users", primaryKey: "id"))
        }
        await expectRPCError(.notFound, "model 'ghost' does not exist") {
            _ = try await client.triggerSync(model: "ghost")
        }
        await expectRPCError(.notFound, "sync run 999 does not exist") { _ = try await client.syncRun(id: 999) }

        let run = try await client.triggerSync(model: "users")
        for try await _ in client.watchSync(id: run.id) {}
        await expectRPCError(.invalidArgument, "column 'nope' does not exist in model 'users'") {
            _ = try await client.lookup(model: "users", stringKeys: ["1"], columns: ["email", "nope"])
        }
        await expectRPCError(.invalidArgument, "column 'nope' does not exist in model 'users'") {
            _ = try await client.enrich(
                model: "users", keyPath: "userId", enrichments: [Enrichment(column: "nope", key: "k")], events: [])
        }
        await expectRPCError(.invalidArgument, "key path 'a..b' is not a dotted path like 'properties.sku'") {
            _ = try await client.enrich(model: "users", keyPath: "a..b", enrichments: [], events: [])
        }
        await expectRPCError(.invalidArgument, "send keys as string_keys or int_keys, not both") {
            _ = try await client.lookup(model: "users", stringKeys: ["1"], intKeys: [1])
        }
        #expect(try await client.lookup(model: "users", intKeys: [1]).found == [true])
        #expect(await client.isConnected)
        await fixture.stop()
    }

    @Test("Batch limits: N keys, events and event bytes are served; N+1 is refused")
    func limits() async throws {
        var limits = Limits()
        limits.maxLookupKeys = 50
        limits.maxBatchEvents = 20
        limits.maxEventBytes = 100
        let fixture = try await ServerFixture.start(limits: limits)
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        #expect(try await client.lookup(model: "users", intKeys: (1...50).map { Int64($0) }).found.count == 50)
        await expectRPCError(.resourceExhausted, "more than 50 keys (the limit per Lookup)") {
            _ = try await client.lookup(model: "users", intKeys: (1...51).map { Int64($0) })
        }
        let event = Array(#"{"userId":1}"#.utf8)
        #expect(
            try await client.enrich(
                model: "users", keyPath: "userId", enrichments: [], events: Array(repeating: event, count: 20)
            ).events.count == 20)
        await expectRPCError(.resourceExhausted, "more than 20 events (the limit per Enrich)") {
            _ = try await client.enrich(
                model: "users", keyPath: "userId", enrichments: [], events: Array(repeating: event, count: 21))
        }
        let padding = String(repeating: " ", count: 100 - event.count)
        let atLimit = Array((#"{"userId":1}"# + padding).utf8)
        let pastLimit = atLimit + [0x20]
        let response = try await client.enrich(
            model: "users", keyPath: "userId", enrichments: [Enrichment(column: "plan", key: "plan")],
            events: [atLimit, pastLimit]
        )
        #expect(response.events[0].outcome == .enriched)
        #expect(response.events[1].reason == .invalidEvent)
        #expect(response.events[1].error == "event 1 is 101 bytes; the limit is 100")
        await fixture.stop()
    }

    @Test("Column, page and name limits: N is served, N+1 is refused")
    func moreLimits() async throws {
        var limits = Limits()
        limits.maxRequestColumns = 3
        limits.maxPageSize = 2
        limits.maxNameBytes = 8
        let fixture = try await ServerFixture.start(limits: limits, users: 10, products: 10)
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        #expect(
            try await client.lookup(model: "users", intKeys: [1], columns: ["id", "email", "plan"]).columns.count == 3)
        await expectRPCError(.resourceExhausted, "more than 3 columns (the limit per request)") {
            _ = try await client.lookup(model: "users", intKeys: [1], columns: ["id", "email", "plan", "age"])
        }
        #expect(try await client.listModels(pageSize: 2).models.count == 2)
        await expectRPCError(.invalidArgument, "page size 3 exceeds the limit of 2") {
            _ = try await client.listModels(pageSize: 3)
        }
        let page = try await client.listModels(pageSize: 1)
        #expect(page.models.map(\.name) == ["products"] && page.nextPageToken == "products")
        #expect(try await client.listModels(pageSize: 1, pageToken: page.nextPageToken).models.map(\.name) == ["users"])
        _ = try await client.createModel(CreateModelRequest(name: "eightchr", table: "users", primaryKey: "id"))
        await expectRPCError(.invalidArgument, "model name is 9 bytes; the limit is 8") {
            _ = try await client.createModel(CreateModelRequest(name: "ninechars", table: "users", primaryKey: "id"))
        }
        await fixture.stop()
    }

    @Test("A plaintext SDK client cannot talk to the TLS server, and a client with the wrong CA is refused")
    func tlsRequired() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        let port = try await Self.port(of: fixture)
        let plaintext = try? await EnrichClient.connect(
            .init(host: "127.0.0.1", port: port, security: .insecurePlaintext))
        if let plaintext {
            await #expect(throws: (any Error).self) { _ = try await plaintext.health() }
            await plaintext.close()
        }
        await #expect(throws: (any Error).self) {
            _ = try await EnrichClient.connect(
                .init(
                    host: "127.0.0.1", port: port, security: .tlsWithCAPEM(fixture.certificates.otherCA.certificatePEM)
                ))
        }
        #expect(try await fixture.client.health().status == "SERVING")
        await fixture.stop()
    }

    static func port(of fixture: ServerFixture) async throws -> Int { fixture.client.configuration.port }
}

@Suite("A PostgreSQL warehouse through the server", .enabled(if: TestPostgres.available))
struct PostgresEndToEndTests {
    @Test("A model on a PostgreSQL table syncs over RPC and answers lookups and enrichment")
    func postgresModel() async throws {
        let connection = try #require(TestPostgres.connectionString)
        let warehouse = PostgresWarehouse(connectionString: connection)
        let schema = "e2e_\(UInt64.random(in: 0..<UInt64.max))"
        try warehouse.execute(
            """
            CREATE SCHEMA \(schema);
            CREATE TABLE \(schema).accounts AS
                SELECT 'acct-' || g AS account_id, g * 10 AS seats, (g % 2 = 0) AS paying FROM generate_series(1, 500) g;
            """)
        defer { try? warehouse.execute("DROP SCHEMA \(schema) CASCADE") }
        let fixture = try await ServerFixture.start(
            users: 10, products: 10,
            postgres: ["dw": connection, "down": "host=127.0.0.1 port=1 dbname=postgres connect_timeout=2"]
        )
        let model = try await fixture.client.createModel(
            CreateModelRequest(name: "accounts", warehouse: "dw", table: "\(schema).accounts", primaryKey: "account_id")
        )
        #expect(model.columns.map(\.name) == ["account_id", "seats", "paying"])
        let run = try await fixture.client.triggerSync(model: "accounts")
        var last: SyncRun?
        for try await state in fixture.client.watchSync(id: run.id) { last = state }
        #expect(last?.status == .success && last?.rowsAdded == 500)
        let lookup = try await fixture.client.lookup(
            model: "accounts", stringKeys: ["acct-42", "acct-501"], columns: ["seats", "paying"])
        #expect(lookup.found == [true, false])
        #expect(lookup.columns[0].int64Values.first == 420)
        #expect(lookup.columns[1].boolValues.first == true)

        // Listing names every warehouse; testing connects to each and says why one cannot be reached.
        #expect(
            try await fixture.client.listWarehouses().map { [$0.name, $0.kind] } == [
                ["down", "postgres"], ["dw", "postgres"], ["embedded", "sqlite"],
            ])
        let tested = try await fixture.client.listWarehouses(test: true)
        #expect(tested.map(\.reachable) == [false, true, true])
        #expect(tested[0].detail.hasPrefix("warehouse unavailable: cannot connect to PostgreSQL"))
        #expect(tested[1].detail.hasPrefix("PostgreSQL "))
        #expect(tested[2].detail.hasPrefix("SQLite 3."))
        #expect(!tested.contains { $0.detail.contains(connection) })

        await expectRPCError(.notFound, "warehouse 'nope' does not exist") {
            _ = try await fixture.client.createModel(
                CreateModelRequest(name: "x", warehouse: "nope", table: "t", primaryKey: "k"))
        }
        await fixture.stop()
    }
}
