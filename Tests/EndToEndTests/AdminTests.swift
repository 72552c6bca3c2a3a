import EnrichClient
import EnrichServer
import EventJSON
import Logging
import NIOCore
import RPCTesting
import RPCTransport
import Testing
import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Admin plane: model updates and deletes, and the audit trail")
struct AdminTests {
    @Test("Model updates need the current version; deletes are refused while a mapping uses the model")
    func modelUpdateAndDelete() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        try await fixture.createAndSyncDemoModels()
        let client = fixture.client
        let updated = try await client.updateModel(
            UpdateModelRequest(
                name: "users", query: "SELECT id, email FROM users", primaryKey: "id", expectedVersion: 1
            ))
        #expect(
            updated.version == 2 && updated.columns.map(\.name) == ["id", "email"] && updated.query.hasPrefix("SELECT"))
        await expectRPCError(
            .aborted, "'users' is at version 2, not 1: it changed since you read it; read it again and retry"
        ) {
            _ = try await client.updateModel(
                UpdateModelRequest(name: "users", table: "users", primaryKey: "id", expectedVersion: 1))
        }
        #expect(try await client.getModel("users").version == 2)

        _ = try await client.createDestination(
            CreateDestinationRequest(
                name: "dest",
                mappings: [
                    DestinationMapping(
                        name: "m1", matches: [ModelMatch(model: "products", matchProperty: "properties.sku")])
                ]))
        await expectRPCError(
            .failedPrecondition, "model 'products' is used by destination mappings dest/m1; change or delete them first"
        ) { try await client.deleteModel("products") }
        #expect(try await client.getModel("products").cachedRows == 10)
        try await client.deleteModel("users")
        await expectRPCError(.notFound, "model 'users' does not exist") { _ = try await client.getModel("users") }
        await expectRPCError(.notFound, "model 'users' does not exist") {
            _ = try await client.lookup(model: "users", intKeys: [1])
        }
        await fixture.stop()
    }

    @Test("A restarted server serves its persisted snapshots before the warehouse is reachable")
    func restartServesPersistedData() async throws {
        let fixture = try await ServerFixture.start(users: 50, products: 50)
        try await fixture.createAndSyncDemoModels()
        await fixture.stop()
        #if canImport(Glibc)
            _ = unlink(fixture.directory.file("warehouse.sqlite"))
        #endif
        var configuration = fixture.server.configuration
        configuration.port = 0
        let restarted = try EnrichServer(configuration: configuration, logger: Logger(label: "restart"))
        let address = try await restarted.start()
        let client = try await EnrichClient.connect(
            .init(
                host: "127.0.0.1", port: address.port, security: .tlsWithCAPEM(fixture.certificates.ca.certificatePEM),
                token: ServerFixture.ownerToken
            ))
        let rows = try await client.lookup(model: "products", stringKeys: [DemoData.sku(7)], columns: ["product_id"])
        #expect(rows.found == [true] && rows.columns[0].int64Values == [7])
        #expect(try await client.getModel("users").cachedRows == 50)
        await client.close()
        await restarted.stop()
    }

    @Test("/metrics reports calls by method and status, cache rows, sync runs and destination outcomes")
    func metrics() async throws {
        let fixture = try await ServerFixture.start(users: 20, products: 20)
        try await fixture.createAndSyncDemoModels()
        _ = try await fixture.client.lookup(model: "users", intKeys: [1, 2])
        await expectRPCError(.notFound, "model 'ghost' does not exist") {
            _ = try await fixture.client.lookup(model: "ghost", intKeys: [1])
        }
        _ = try await fixture.client.createDestination(
            CreateDestinationRequest(name: "d", mappings: [DestinationMapping(name: "all")]))
        _ = try await fixture.client.enrich(destination: "d", events: [Array("{}".utf8)])
        let port = try #require(fixture.server.metricsPort)
        let raw = try await RawConnection.connect(port: port, tls: nil)
        try await raw.send(Array("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        #expect(await raw.wait { $0.isClosed })
        let text = String(buffer: raw.received)
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        for line in [
            #"enrich_rpc_requests_total{method="enrich.v1.Enrich/Lookup",code="OK"} 1"#,
            #"enrich_rpc_requests_total{method="enrich.v1.Enrich/Lookup",code="NOT_FOUND"} 1"#,
            #"enrich_cache_rows{model="users"} 20"#,
            #"enrich_sync_runs_total{model="users",status="success"} 1"#,
            #"enrich_destination_events_total{destination="d",outcome="not_enriched"} 1"#,
        ] {
            #expect(text.contains(line), "missing \(line)")
        }
        // Buckets from 25 µs, and every family with its HELP line.
        #expect(text.contains(#"enrich_rpc_duration_seconds_bucket{method="enrich.v1.Enrich/Lookup",le="0.000025"}"#))
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let name = line.split(separator: " ")[2]
            #expect(text.contains("# HELP \(name) "), "no HELP for \(name)")
        }
        await fixture.stop()
    }

    @Test("With mutual TLS required, a client with a CA-signed certificate is served and one without is refused")
    func mutualTLS() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10, requireClientCertificates: true)
        #expect(try await fixture.client.health().status == "SERVING")
        let withoutCertificate = try? await fixture.client(token: ServerFixture.ownerToken)
        if let withoutCertificate {
            // TLS 1.3 may finish the client's handshake before the server refuses; the first call then fails.
            await #expect(throws: (any Error).self) { _ = try await withoutCertificate.health() }
            await withoutCertificate.close()
        }
        #expect(try await fixture.client.health().status == "SERVING")
        await fixture.stop()
    }

    @Test("The audit trail shows a scripted scenario in order, with who, what, before and after, and no secret")
    func auditScenario() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        let owner = fixture.client
        _ = try await owner.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        _ = try await owner.updateModel(
            UpdateModelRequest(name: "users", table: "users", primaryKey: "email", expectedVersion: 1))
        await expectRPCError(
            .aborted, "'users' is at version 2, not 1: it changed since you read it; read it again and retry"
        ) {
            _ = try await owner.updateModel(
                UpdateModelRequest(name: "users", table: "users", primaryKey: "id", expectedVersion: 1))
        }
        let reader = try await owner.createToken(name: "reader", role: "entities_read_only")
        let readerClient = try await fixture.client(token: reader.secret)
        await expectRPCError(.permissionDenied, "role entities_read_only may not call enrich.v1.Admin/DeleteModel") {
            try await readerClient.deleteModel("users")
        }
        try await owner.deleteModel("users")

        let events = try await owner.listAudit().reversed().filter { !$0.method.hasSuffix("Token") }
        #expect(
            events.map { "\($0.method.split(separator: "/").last!) \($0.object) \($0.outcomeCode)" } == [
                "CreateModel model users 0",
                "UpdateModel model users 0",
                "UpdateModel model users 10",
                "DeleteModel  7",
                "DeleteModel model users 0",
            ])
        let created = try #require(events.first)
        #expect(created.tokenName == "owner" && created.peer.hasPrefix("127.0.0.1:") && created.beforeJSON.isEmpty)
        #expect(try JSONParser.parse(created.afterJSON)[path: JSONPath("primary_key")!] == .string("id"))
        let update = events[1]
        #expect(try JSONParser.parse(update.beforeJSON)[path: JSONPath("version")!] == .int(1))
        #expect(try JSONParser.parse(update.afterJSON)[path: JSONPath("primary_key")!] == .string("email"))
        #expect(events[3].tokenName == "reader" && events[3].outcomeMessage.contains("may not call"))
        #expect(events[4].afterJSON.isEmpty && !events[4].beforeJSON.isEmpty)

        // Each admin write, and each refused attempt, is also one notice line; a write's names the request.
        let lines = zip(fixture.logs.messages, fixture.logs.metadata).filter {
            $0.0.hasPrefix("notice: enrich.v1.Admin/") && !$0.0.contains("Token")
        }
        #expect(
            lines.map(\.0) == [
                "notice: enrich.v1.Admin/CreateModel model users: OK",
                "notice: enrich.v1.Admin/UpdateModel model users: OK",
                "notice: enrich.v1.Admin/UpdateModel model users: "
                    + "'users' is at version 2, not 1: it changed since you read it; read it again and retry",
                "notice: enrich.v1.Admin/DeleteModel refused: role entities_read_only may not call "
                    + "enrich.v1.Admin/DeleteModel",
                "notice: enrich.v1.Admin/DeleteModel model users: OK",
            ])
        #expect(lines.allSatisfy { $0.1["peer"].map { "\($0)" }?.hasPrefix("127.0.0.1:") == true })
        #expect(lines.filter { $0.1["request"] != nil }.map(\.0) == lines.map(\.0).filter { !$0.contains("refused") })
        #expect(lines.map { $0.1["token"].map { "\($0)" } ?? "" } == ["owner", "owner", "owner", "reader", "owner"])

        // Token creation is audited without the secret or its hash.
        let tokenEvents = try await owner.listAudit(ListAuditRequest(method: Methods.createToken.fullName))
        #expect(tokenEvents.count == 1)
        let everything = try await owner.listAudit(ListAuditRequest(limit: 1_000))
        for event in everything {
            #expect(!event.afterJSON.contains(reader.secret) && !event.beforeJSON.contains(reader.secret))
            #expect(!event.afterJSON.contains(ServerFixture.ownerToken) && !event.afterJSON.contains("secret"))
        }
        let paged = try await owner.listAudit(ListAuditRequest(limit: 2))
        let next = try await owner.listAudit(ListAuditRequest(beforeID: paged.last!.id, limit: 2))
        #expect(paged.count == 2 && next.first!.id < paged.last!.id)
        await expectRPCError(.permissionDenied, "role entities_read_only may not call enrich.v1.Admin/ListAudit") {
            _ = try await readerClient.listAudit()
        }
        await readerClient.close()
        await fixture.stop()
    }
}
