import EnrichClient
import Synchronization
import Testing

/// One sample request per method, so the role table can be walked through the real server.
enum SampleCalls {
    static func call(_ method: MethodDescriptor, _ client: EnrichClient, unique: String) async throws {
        switch method {
        case Methods.createModel:
            _ = try await client.createModel(CreateModelRequest(name: "m\(unique)", table: "nope", primaryKey: "id"))
        case Methods.getModel: _ = try await client.getModel("users")
        case Methods.listModels: _ = try await client.listModels()
        case Methods.triggerSync: _ = try await client.triggerSync(model: "ghost")
        case Methods.getSyncRun: _ = try await client.syncRun(id: 1)
        case Methods.listSyncRuns: _ = try await client.listSyncRuns(model: "users")
        case Methods.watchSync: for try await _ in client.watchSync(id: 1) {}
        case Methods.createDestination:
            _ = try await client.createDestination(CreateDestinationRequest(name: "d\(unique)", mappings: []))
        case Methods.getDestination: _ = try await client.getDestination("ghost")
        case Methods.listDestinations: _ = try await client.listDestinations()
        case Methods.updateDestination:
            _ = try await client.updateDestination(
                UpdateDestinationRequest(name: "ghost", mappings: [], expectedVersion: 0))
        case Methods.deleteDestination: try await client.deleteDestination("ghost")
        case Methods.testMapping:
            _ = try await client.testMapping(
                TestMappingRequest(inlineMapping: DestinationMapping(name: "t"), event: Array("{}".utf8)))
        case Methods.lookup: _ = try await client.lookup(model: "users", intKeys: [1])
        case Methods.enrich: _ = try await client.enrich(model: "users", keyPath: "userId", enrichments: [], events: [])
        case Methods.createToken: _ = try await client.createToken(name: "t\(unique)", role: "enrich_only")
        case Methods.listTokens: _ = try await client.listTokens()
        case Methods.revokeToken: _ = try await client.revokeToken(id: "tok_ghost")
        case Methods.healthCheck: _ = try await client.health()
        case Methods.updateModel:
            _ = try await client.updateModel(UpdateModelRequest(name: "ghost", table: "users", primaryKey: "id"))
        case Methods.deleteModel: try await client.deleteModel("ghost")
        case Methods.listAudit: _ = try await client.listAudit()
        case Methods.setSchedule: _ = try await client.setSchedule(model: "ghost", schedule: "every 1h")
        case Methods.listSchedules: _ = try await client.listSchedules()
        case Methods.listWarehouses: _ = try await client.listWarehouses(test: true)
        case Methods.getWarehouse: _ = try await client.getWarehouse("embedded")
        case Methods.createWarehouse:
            _ = try await client.createWarehouse(
                CreateWarehouseRequest(name: "w\(unique)", kind: "sqlite", connection: "/nonexistent.sqlite"))
        case Methods.updateWarehouse:
            _ = try await client.updateWarehouse(UpdateWarehouseRequest(name: "ghost", connection: "/x"))
        case Methods.deleteWarehouse: try await client.deleteWarehouse("ghost")
        default: Issue.record("no sample call for \(method)")
        }
    }

    static let methods: [MethodDescriptor] = [
        Methods.createModel, Methods.getModel, Methods.listModels, Methods.triggerSync, Methods.getSyncRun,
        Methods.listSyncRuns, Methods.watchSync, Methods.createDestination, Methods.getDestination,
        Methods.listDestinations, Methods.updateDestination, Methods.deleteDestination, Methods.testMapping,
        Methods.lookup, Methods.enrich, Methods.createToken, Methods.listTokens, Methods.revokeToken,
        Methods.healthCheck,
        Methods.updateModel, Methods.deleteModel, Methods.listAudit, Methods.setSchedule, Methods.listSchedules,
        Methods.listWarehouses, Methods.getWarehouse, Methods.createWarehouse, Methods.updateWarehouse,
        Methods.deleteWarehouse,
    ]

    /// Which roles may call which method: the table the server must enforce, written out again independently.
    static let allowed: [String: Set<String>] = {
        let read = Set([
            "workspace_owner", "entities_admin", "entities_read_only", "source_admin", "unify_read_only", "unify_admin",
        ])
        return [
            Methods.createModel.fullName: ["workspace_owner", "entities_admin"],
            Methods.getModel.fullName: read, Methods.listModels.fullName: read,
            Methods.triggerSync.fullName: ["workspace_owner", "entities_admin"],
            Methods.getSyncRun.fullName: read, Methods.listSyncRuns.fullName: read, Methods.watchSync.fullName: read,
            Methods.createDestination.fullName: ["workspace_owner", "source_admin"],
            Methods.getDestination.fullName: read, Methods.listDestinations.fullName: read,
            Methods.updateDestination.fullName: ["workspace_owner", "source_admin"],
            Methods.deleteDestination.fullName: ["workspace_owner", "source_admin"],
            Methods.testMapping.fullName: [
                "workspace_owner", "entities_admin", "entities_read_only", "source_admin", "unify_admin",
            ],
            Methods.lookup.fullName: ["workspace_owner", "entities_admin", "enrich_only"],
            Methods.enrich.fullName: ["workspace_owner", "entities_admin", "enrich_only"],
            Methods.createToken.fullName: ["workspace_owner"], Methods.listTokens.fullName: ["workspace_owner"],
            Methods.revokeToken.fullName: ["workspace_owner"],
            Methods.updateModel.fullName: ["workspace_owner", "entities_admin"],
            Methods.deleteModel.fullName: ["workspace_owner", "entities_admin"],
            Methods.listAudit.fullName: ["workspace_owner"],
            Methods.setSchedule.fullName: ["workspace_owner", "entities_admin"],
            Methods.listSchedules.fullName: read,
            Methods.listWarehouses.fullName: read,
            Methods.getWarehouse.fullName: read,
            Methods.createWarehouse.fullName: ["workspace_owner", "entities_admin"],
            Methods.updateWarehouse.fullName: ["workspace_owner", "entities_admin"],
            Methods.deleteWarehouse.fullName: ["workspace_owner", "entities_admin"],
        ]
    }()

    static let roles = [
        "workspace_owner", "entities_admin", "entities_read_only", "source_admin", "unify_read_only", "unify_admin",
        "enrich_only",
    ]
}

@Suite("Authentication and roles through the real server over TLS")
struct AuthTests {
    @Test("Every RPC for every role: allowed calls get past authorization, the rest get PERMISSION_DENIED")
    func roleTable() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        try await fixture.createAndSyncDemoModels()
        var checked = 0
        for role in SampleCalls.roles {
            let secret = try await fixture.client.createToken(name: "role-\(role)", role: role).secret
            let client = try await fixture.client(token: secret)
            for method in SampleCalls.methods {
                let expectAllowed =
                    method == Methods.healthCheck || SampleCalls.allowed[method.fullName]?.contains(role) == true
                do {
                    try await SampleCalls.call(method, client, unique: "\(role)\(checked)")
                    #expect(expectAllowed, "\(role) called \(method) but should be denied")
                } catch let error as RPCError {
                    if expectAllowed {
                        #expect(
                            error.code != .permissionDenied && error.code != .unauthenticated,
                            "\(role) \(method): \(error)")
                    } else {
                        #expect(error.code == .permissionDenied, "\(role) \(method): \(error)")
                        #expect(error.message == "role \(role) may not call \(method.fullName)")
                    }
                }
                checked += 1
            }
            await client.close()
        }
        #expect(checked == SampleCalls.roles.count * SampleCalls.methods.count)
        await fixture.stop()
    }

    @Test("No token, an unknown token, a revoked token and an expired token are UNAUTHENTICATED; Health needs none")
    func unauthenticated() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        let anonymous = try await fixture.client(token: nil)
        #expect(try await anonymous.health().status == "SERVING")
        await expectRPCError(.unauthenticated, "missing token: send \"authorization: Bearer <token>\"") {
            _ = try await anonymous.listModels()
        }
        let stranger = try await fixture.client(token: "enr_not_a_real_token")
        await expectRPCError(.unauthenticated, "unknown token") { _ = try await stranger.listModels() }

        let created = try await fixture.client.createToken(name: "short-lived", role: "entities_admin")
        let holder = try await fixture.client(token: created.secret)
        #expect(try await holder.listModels().models.isEmpty)
        let id = try #require(created.token?.id)
        _ = try await fixture.client.revokeToken(id: id)
        await expectRPCError(.unauthenticated, "token \(id) was revoked") { _ = try await holder.listModels() }

        // The listing never shows secrets, and records the revocation.
        let listed = try await fixture.client.listTokens()
        #expect(listed.map(\.name).contains("short-lived"))
        #expect(listed.first { $0.id == id }?.revokedAtMilliseconds ?? 0 > 0)
        await expectRPCError(
            .invalidArgument,
            "unknown role 'root'; roles: workspace_owner, entities_admin, entities_read_only, source_admin, unify_read_only, unify_admin, enrich_only"
        ) {
            _ = try await fixture.client.createToken(name: "x", role: "root")
        }
        await expectRPCError(.alreadyExists, "a token named 'short-lived' already exists") {
            _ = try await fixture.client.createToken(name: "short-lived", role: "enrich_only")
        }
        for client in [anonymous, stranger, holder] { await client.close() }
        await fixture.stop()
    }

    @Test("A token past its lifetime stops working: valid at its last millisecond, refused one past it")
    func expired() async throws {
        let now = Mutex<Int64>(1_800_000_000_000)
        let fixture = try await ServerFixture.start(users: 10, products: 10, wallClock: { now.withLock { $0 } })
        let created = try await fixture.client.createToken(name: "one-second", role: "entities_admin", ttlSeconds: 1)
        let client = try await fixture.client(token: created.secret)
        #expect(try await client.listModels().models.isEmpty)
        now.withLock { $0 += 999 }
        #expect(try await client.listModels().models.isEmpty)
        now.withLock { $0 += 1 }
        await expectRPCError(.unauthenticated, "token \(created.token?.id ?? "") has expired") {
            _ = try await client.listModels()
        }
        await client.close()
        await fixture.stop()
    }
}
