import EnrichClient
import EnrichServer
import Foundation
import Logging
import NIOCore
import RPCTesting
import Testing

@testable import Warehouses

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16: one server per data directory, health and readiness for balancers, the status page's content.
@Suite("Operations: lock, health, readiness, status page")
struct OperationsTests {
    /// GET `path` on the HTTP port: the status line's code and the body.
    static func get(_ port: Int, _ path: String) async throws -> (code: Int, body: String) {
        let raw = try await RawConnection.connect(port: port, tls: nil)
        try await raw.send(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        #expect(await raw.wait { $0.isClosed })
        let text = String(buffer: raw.received)
        let code = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let parts = text.utf8.split(separator: UInt8(ascii: "\n"), maxSplits: Int.max, omittingEmptySubsequences: false)
        let blank = parts.firstIndex { $0.isEmpty || Array($0) == [UInt8(ascii: "\r")] } ?? parts.endIndex
        let body = parts[parts.index(after: min(blank, parts.endIndex - 1))...].map {
            String(decoding: $0, as: UTF8.self)
        }
        .joined(separator: "\n")
        return (code, body)
    }

    /// Polls until `condition` holds (the readiness monitor checks once a second), at most 5 s.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<50 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test(
        "A second server on the same data directory fails at once, naming the first one's pid; after a stop it starts")
    func exclusiveDataDirectory() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.metricsPort = nil
        configuration.dataDirectory = fixture.directory.path
        configuration.bootstrapToken = ServerFixture.ownerToken
        do {
            _ = try EnrichServer(configuration: configuration, logger: Logger(label: "second"))
            Issue.record("a second server started on a data directory in use")
        } catch {
            #expect("\(error)".contains("is in use by another enrichd (pid \(getpid()))"), "\(error)")
        }
        await fixture.stop()
        let again = try EnrichServer(configuration: configuration, logger: Logger(label: "after"))
        await again.stop()
    }

    @Test(
        "/readyz and the Health RPC: not ready while a scheduled model has no snapshot, ready once synced, not ready when draining; /healthz answers"
    )
    func readinessTransitions() async throws {
        let fixture = try await ServerFixture.start(users: 50, products: 10)
        let port = try #require(fixture.server.metricsPort)
        #expect(try await Self.get(port, "/healthz").code == 200)
        #expect(try await Self.eventually { try await Self.get(port, "/readyz").code == 200 })
        _ = try await fixture.client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        _ = try await fixture.client.setSchedule(model: "users", schedule: "every 1h")
        // Scheduled, never synced: not ready, and the reason names the model.
        #expect(try await Self.eventually { try await Self.get(port, "/readyz").code == 503 })
        let notReady = try await Self.get(port, "/readyz")
        #expect(
            notReady.body.contains(#""ready":false"#)
                && notReady.body.contains("model users (schedule every 1h) has no snapshot loaded yet"))
        let health = try await fixture.client.health()
        #expect(health.status == "NOT_SERVING" && health.reasons.contains { $0.contains("model users") })
        let run = try await fixture.client.triggerSync(model: "users")
        for try await _ in fixture.client.watchSync(id: run.id) {}
        #expect(try await Self.eventually { try await Self.get(port, "/readyz").code == 200 })
        #expect(try await fixture.client.health().status == "SERVING")
        #expect(try await fixture.client.health().reasons.isEmpty)
        await fixture.client.close()
        await fixture.server.stop()
        #expect(fixture.server.readinessReasons.contains("draining: the server is stopping"))
    }

    @Test(
        "The status page shows models with rows and last run, failed runs, destinations with counts; no secret, no external asset"
    )
    func statusPage() async throws {
        let fixture = try await ServerFixture.start(users: 30, products: 10)
        try await fixture.createAndSyncDemoModels()
        // A model whose table then disappears: its next run fails.
        let warehouse = try SQLiteConnection(path: fixture.directory.file("warehouse.sqlite"), create: false)
        try warehouse.execute("CREATE TABLE doomed AS SELECT * FROM users")
        _ = try await fixture.client.createModel(CreateModelRequest(name: "ghost", table: "doomed", primaryKey: "id"))
        try warehouse.execute("DROP TABLE doomed")
        let failed = try await fixture.client.triggerSync(model: "ghost")
        for try await _ in fixture.client.watchSync(id: failed.id) {}
        _ = try await fixture.client.createDestination(
            CreateDestinationRequest(name: "braze", mappings: [DestinationMapping(name: "all")]))
        _ = try await fixture.client.enrich(destination: "braze", events: [Array("{}".utf8), Array("{}".utf8)])
        let port = try #require(fixture.server.metricsPort)
        let page = try await Self.get(port, "/")
        #expect(page.code == 200)
        for fragment in [
            "<td>users</td><td>embedded</td><td>users</td><td class=\"n\">30</td>", "<td>products</td>",
            "<td>ghost</td>", "not loaded", "<td class=\"bad\">failed</td>",
            "<td>braze</td><td class=\"n\">1</td><td class=\"n\">2</td>",
            "id=\"uptime\"",
        ] {
            #expect(page.body.contains(fragment), "missing \(fragment)")
        }
        #expect(!page.body.contains(ServerFixture.ownerToken))
        #expect(!page.body.contains("http://") && !page.body.contains("https://") && !page.body.contains("<script"))
        await fixture.stop()
    }

    @Test("Every metric and label the sample Grafana dashboard queries is one the server exports")
    func grafanaDashboard() async throws {
        let fixture = try await ServerFixture.start(users: 30, products: 10)
        try await fixture.createAndSyncDemoModels()
        _ = try await fixture.client.createDestination(
            CreateDestinationRequest(name: "braze", mappings: [DestinationMapping(name: "all")]))
        _ = try await fixture.client.enrich(destination: "braze", events: [Array("{}".utf8)])
        let port = try #require(fixture.server.metricsPort)
        // The per-model age and version gauges are set by the monitor, once a second.
        var exposition = ""
        #expect(
            try await Self.eventually {
                exposition = try await Self.get(port, "/metrics").body
                return exposition.contains("enrich_model_age_seconds{")
            })
        await fixture.stop()

        // The families with their label names, from the exposition's sample lines.
        var labels: [String: Set<String>] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                name.hasSuffix(suffix) && exposition.contains("# TYPE \(name.dropLast(suffix.count)) histogram")
                    ? String(name.dropLast(suffix.count)) : name
            }
            let names = line.matches(of: /([a-z_]+)="/).map { String($0.output.1) }
            labels[family, default: []].formUnion(names)
        }
        let dashboard = try #require(readTextFile("docs/grafana-dashboard.json"))
        let expressions = dashboard.matches(of: /"expr": "([^"]*)"/).map { String($0.output.1) }
        #expect(expressions.count >= 10)
        for expression in expressions {
            let families = expression.matches(of: /enrich_[a-z_]+/).map { String($0.output) }
            #expect(!families.isEmpty, "\(expression)")
            for name in families {
                let family = name.hasSuffix("_bucket") ? String(name.dropLast("_bucket".count)) : name
                guard let exported = labels[family] else {
                    Issue.record("the dashboard queries \(family), which /metrics does not export")
                    continue
                }
                let grouped = expression.matches(of: /by \(([a-z_, ]+)\)/).flatMap {
                    $0.output.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                }
                let used = Set(grouped).subtracting(["le"])
                #expect(used.isSubset(of: exported.union(["instance"])), "\(family): \(used) not in \(exported)")
            }
        }
    }
}
