import EnrichClient
import EnrichServer
import RPCTesting
import RPCTransport
import Synchronization
import Testing

/// A model whose sync takes long (twenty million generated rows), to stop, watch and revoke during.
func createSlowModel(_ client: EnrichClient) async throws {
    _ = try await client.createModel(
        CreateModelRequest(
            name: "slow",
            query:
                "WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < 20000000) SELECT id, 'row ' || id AS label FROM n",
            primaryKey: "id"
        ))
}

@Suite("Bulkheads end to end: deadlines, drain, revocation")
struct BulkheadEndToEndTests {
    @Test(
        "CreateModel under deadlines of 1 to 40 ms: every answer is the truth (OK exactly when the model and its OK audit record exist)"
    )
    func writeDeadlinesTellTheTruth() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        var outcomes: [StatusCode: Int] = [:]
        for attempt in 1...40 {
            let name = "m\(attempt)"
            let code: StatusCode
            do {
                _ = try await fixture.client.call(
                    Methods.createModel, CreateModelRequest(name: name, table: "users", primaryKey: "id"),
                    timeout: .milliseconds(attempt), as: Model.self
                )
                code = .ok
            } catch let error as RPCError {
                code = error.code
            }
            outcomes[code, default: 0] += 1
            #expect(code == .ok || code == .deadlineExceeded, "attempt \(attempt): \(code)")
            let exists = (try? await fixture.client.getModel(name)) != nil
            #expect(
                exists == (code == .ok),
                "attempt \(attempt) answered \(code) but the model \(exists ? "exists" : "does not exist")")
            let audited = try await fixture.client.listAudit(
                ListAuditRequest(method: Methods.createModel.fullName, object: "model \(name)"))
            #expect(
                audited.map(\.outcomeCode) == [code.rawValue],
                "attempt \(attempt): audit says \(audited.map(\.outcomeCode))")
        }
        print("CreateModel with 1-40 ms deadlines: \(outcomes)")
        await fixture.stop()
    }

    @Test(
        "Stopping under load: every call sent gets a status (an answer, or UNAVAILABLE with the drain signal); none sees only the connection close"
    )
    func stopUnderLoad() async throws {
        let fixture = try await ServerFixture.start(users: 100, products: 100)
        try await fixture.createAndSyncDemoModels()
        let clients = try await withThrowingTaskGroup(of: EnrichClient.self) { group in
            for _ in 0..<4 { group.addTask { try await fixture.client(token: ServerFixture.ownerToken) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        final class Shared: Sendable {
            let tally = Mutex<[String: Int]>([:])
            let stop = Atomic<Bool>(false)
        }
        let shared = Shared()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                let client = clients[worker % clients.count]
                group.addTask {
                    while !shared.stop.load(ordering: .relaxed) {
                        let outcome: String
                        do {
                            _ = try await client.lookup(
                                model: "products", stringKeys: ["SKU-0000001", "SKU-0000042"], columns: ["name"])
                            outcome = "ok"
                        } catch let error as RPCError {
                            outcome =
                                error.metadata[RPCClientConnection.clientErrorKey] == "lost" ? "LOST" : "\(error.code)"
                        } catch {
                            outcome = "not sent (\(type(of: error)))"
                        }
                        shared.tally.withLock { $0[outcome, default: 0] += 1 }
                        if outcome != "ok" { try await Task.sleep(for: .milliseconds(5)) }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(400))
            await fixture.server.stop()
            shared.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        let counts = shared.tally.withLock { $0 }
        print("calls during a stop under load: \(counts)")
        #expect(counts["LOST", default: 0] == 0)
        #expect(counts["ok", default: 0] > 0)
        for client in clients { await client.close() }
        await fixture.client.close()
    }

    @Test(
        "A sync cut short by a stop is recorded as interrupted and runs again at the next start; its watcher gets a final status"
    )
    func interruptedSyncRerunsAtStart() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        try await createSlowModel(fixture.client)
        let run = try await fixture.client.triggerSync(model: "slow")
        let watcher = try await fixture.client(token: ServerFixture.ownerToken)
        let watched = Task { () -> String in
            do {
                for try await _ in watcher.watchSync(id: run.id) {}
                return "ended OK"
            } catch let error as RPCError {
                return "\(error.code) \(error.metadata["enrich-goaway"] ?? "")"
            } catch {
                return "\(error)"
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        await fixture.server.stop()
        #expect(
            await watched.value == "UNAVAILABLE draining", "the watch ended with the drain signal, not a bare close")
        await watcher.close()
        await fixture.client.close()

        let restarted = try await ServerFixture.start(restarting: fixture)
        let runs = try await restarted.client.listSyncRuns(model: "slow")
        let first = try #require(runs.last)
        #expect(first.id == run.id && first.status == .failed && first.error.hasPrefix("interrupted"))
        #expect(runs.count == 2, "the interrupted run was started again: \(runs.map { "\($0.id) \($0.status)" })")
        await restarted.stop()
    }

    @Test("A sync watch ends UNAUTHENTICATED within a second of its token being revoked")
    func watchEndsOnRevocation() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        try await createSlowModel(fixture.client)
        let reader = try await fixture.client.createToken(name: "watcher", role: "entities_read_only")
        let watcher = try await fixture.client(token: reader.secret)
        let run = try await fixture.client.triggerSync(model: "slow")
        final class When: Sendable { let revoked = Mutex<ContinuousClock.Instant?>(nil) }
        let revokedAt = When()
        let watched = Task { () -> (String, Duration?) in
            var messages = 0
            do {
                for try await _ in watcher.watchSync(id: run.id) { messages += 1 }
                return ("ended OK after \(messages)", nil)
            } catch let error as RPCError {
                return ("\(error.code)", revokedAt.revoked.withLock { $0 }.map { ContinuousClock.now - $0 })
            } catch {
                return ("\(error)", nil)
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        revokedAt.revoked.withLock { $0 = .now }
        _ = try await fixture.client.revokeToken(id: reader.token!.id)  // CreateToken answers with the token.
        let (outcome, after) = await watched.value
        #expect(outcome == "UNAUTHENTICATED")
        #expect(after.map { $0 < .seconds(1) } == true, "ended \(String(describing: after)) after the revocation")
        await watcher.close()
        await fixture.stop()
    }
}
