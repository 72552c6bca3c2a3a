import CAllocationCounter
import Catalog
import Logging
import ModelCache
import RPCCall
import RPCCore
import RPCMessages
import RPCTesting
import Services
import SyncEngine
import Testing

/// A whole Lookup call as the server runs it, through the call layer (the request header read, the token
/// checked, the request decoded, keys looked up, the answer encoded into the transport's buffer), over a
/// 10,000-row snapshot of 8 columns, on the calling thread, with that thread's heap allocations counted.
struct LookupHarness {
    let cache = ModelCache()
    let connection: InProcessConnection
    let token: String
    let catalog: Catalog
    let services: Services

    init() throws {
        let schema: [ColumnSchema] = [
            .init(name: "sku", type: .string), .init(name: "id", type: .int64), .init(name: "name", type: .string),
            .init(name: "brand", type: .string), .init(name: "price", type: .double),
            .init(name: "in_stock", type: .bool),
            .init(name: "rating", type: .double), .init(name: "created_at", type: .timestamp),
        ]
        for (model, key) in [("products", "sku"), ("by_id", "id")] {
            var builder = try SnapshotBuilder(schema: schema, primaryKey: key)
            for row in 1...10_000 {
                var sku = "SKU-\(row)"
                sku.withUTF8 { builder.appendString(0, UnsafeRawBufferPointer($0)) }
                builder.appendInt64(1, Int64(row))
                var name = "Deluxe product number \(row) with a long name"
                name.withUTF8 { builder.appendString(2, UnsafeRawBufferPointer($0)) }
                var brand = "Globex"
                if row % 3 == 0 {
                    builder.appendNull(3)
                } else {
                    brand.withUTF8 { builder.appendString(3, UnsafeRawBufferPointer($0)) }
                }
                // prices in cents, as JSON writes them in a few characters
                builder.appendDouble(4, Double(row % 100_000) / 100)
                builder.appendBool(5, row % 2 == 0)
                builder.appendDouble(6, 4.5)
                builder.appendTimestamp(7, Int64(row) * 1_000_000)
                builder.endRow()
            }
            self.cache.publish(try builder.build(model: model, version: 1))
        }
        let catalog = try Catalog.inMemory()
        self.catalog = catalog
        let engine = SyncEngine(catalog: catalog, cache: self.cache, warehouses: [:], logger: Logger(label: "alloc"))
        self.services = try Services(
            catalog: catalog, cache: self.cache, engine: engine,
            scheduler: Scheduler(engine: engine, catalog: catalog, logger: Logger(label: "alloc")),
            limits: Limits(), defaultWarehouse: "embedded"
        )
        self.token = try self.services.authority.bootstrap(secret: "enr_allocation_test_token_0123456789")!
        self.connection = InProcessConnection(
            router: self.services.router(), authenticator: self.services.authenticator)
        self.connection.discardOutputs()
    }

    /// Average allocations of one call (header, token, decode, work, encode), after a warm-up.
    func allocationsPerCall(
        method: MethodDescriptor, _ request: some MessageSerializer, calls: Int = 50, check: ([UInt8]) -> Void
    ) -> Double {
        let payload = InProcessConnection.payload(method: method, token: self.token, message: request)
        func call() {
            self.connection.send(id: 1, payload: payload)
            self.connection.runPending()
            precondition(self.connection.lastStatus?.code == .ok, "\(String(describing: self.connection.lastStatus))")
            check(self.connection.lastMessage)
        }
        for _ in 0..<5 { call() }
        let before = enrich_thread_allocations()
        for _ in 0..<calls { call() }
        return Double(enrich_thread_allocations() - before) / Double(calls)
    }

    func allocationsPerCall(_ request: LookupRequest, calls: Int = 50) -> Double {
        self.allocationsPerCall(method: Methods.lookup, request, calls: calls) { precondition(!$0.isEmpty) }
    }
}

/// Whether the hot path is compiled as it ships (`-c release`, or ENRICH_OPTIMIZE_HOT_PATHS=1 as Scripts/test.sh
/// sets): allocation counts of unoptimized code mean nothing, so without it these suites are reported as skipped,
/// with the reason.
#if HOT_PATHS_OPTIMIZED
    let hotPathsOptimized = true
#else
    let hotPathsOptimized = false
#endif
let needsOptimizedHotPaths: ConditionTrait = .enabled(
    if: hotPathsOptimized,
    "allocation counts need the optimized hot path: set ENRICH_OPTIMIZE_HOT_PATHS=1 (Scripts/test.sh does) or use -c release"
)

@Suite("Allocations per request", needsOptimizedHotPaths)
struct AllocationTests {
    @Test("The counter sees this thread's allocations (so the other tests cannot pass by counting nothing)")
    func counterCounts() {
        final class Box { var value = 0 }
        let before = enrich_thread_allocations()
        let boxes = (0..<1_000).map { _ in Box() }
        #expect(enrich_thread_allocations() - before >= 1_000)
        #expect(boxes.count == 1_000)
    }

    @Test("Lookup with string keys: allocations per call do not grow with the batch (10 vs 1,000 keys, 8 columns)")
    func stringKeys() throws {
        let harness = try LookupHarness()
        let columns = ["id", "name", "brand", "price", "in_stock", "rating", "created_at", "sku"]
        func request(_ count: Int) -> LookupRequest {
            LookupRequest(
                model: "products", columns: columns, stringKeys: (0..<count).map { "SKU-\($0 * 7 % 12_000 + 1)" })
        }
        let small = harness.allocationsPerCall(request(10))
        let large = harness.allocationsPerCall(request(1_000))
        print("Lookup, string keys, 8 columns: \(small) allocations per call at 10 keys, \(large) at 1,000")
        // A per-key allocation anywhere on the path would add at least 990 here.
        #expect(large - small <= 8, "10 keys: \(small) allocations per call; 1,000 keys: \(large)")
        // The whole call: header, token (a connection-cache hit), dispatch, the job, its arrays, the answer.
        #expect(small <= 20, "10 keys: \(small) allocations per call")
    }

    @Test("Lookup with integer keys: allocations per call do not grow with the batch (10 vs 1,000 keys)")
    func intKeys() throws {
        let harness = try LookupHarness()
        func request(_ count: Int) -> LookupRequest {
            LookupRequest(
                model: "by_id", columns: ["name", "price", "in_stock"],
                intKeys: (0..<count).map { Int64($0 * 13 % 12_000 + 1) })
        }
        let small = harness.allocationsPerCall(request(10))
        let large = harness.allocationsPerCall(request(1_000))
        print("Lookup, integer keys, 3 columns: \(small) allocations per call at 10 keys, \(large) at 1,000")
        #expect(large - small <= 8, "10 keys: \(small) allocations per call; 1,000 keys: \(large)")
    }
}

/// The Enrich handler as the transport runs it, through a destination like the benchmark's (an FQL condition,
/// a match on `properties.sku`, two enrichments), over the harness's 10,000 products.
struct EnrichHarness {
    let lookup: LookupHarness

    init() throws {
        self.lookup = try LookupHarness()
        let catalog = self.lookup.catalog
        let columns = self.lookup.cache.snapshot(of: "products")!.schema.map {
            CatalogColumn(name: $0.name, type: $0.type.rawValue, sourceType: "TEXT")
        }
        try catalog.createModel(
            ModelRecord(
                name: "products", warehouse: "embedded", sourceTable: "products", sourceQuery: "", primaryKey: "sku",
                columns: columns,
                createdAtMilliseconds: 0
            ))
        try catalog.createDestination(
            DestinationRecord(
                name: "bench",
                mappings: [
                    MappingRecord(
                        name: "viewed", condition: #"type = "track" and event = "Product Viewed""#,
                        matches: [MatchRecord(model: "products", matchProperty: "properties.sku")],
                        enrichments: [
                            EnrichmentRecord(model: "products", column: "name", key: "properties.product_name"),
                            EnrichmentRecord(model: "products", column: "price", key: "properties.price"),
                        ],
                        fieldsJSON: ""
                    )
                ], createdAtMilliseconds: 0))
    }

    /// Average allocations of one Enrich call of `count` events (decode, enrich, encode), after a warm-up.
    func allocationsPerCall(events count: Int, calls: Int = 20) throws -> Double {
        let events = (0..<count).map { index in
            Array(
                #"{"type":"track","event":"Product Viewed","userId":"u1","properties":{"sku":"SKU-\#(index * 7 % 10_000 + 1)"}}"#
                    .utf8)
        }
        let request = EnrichRequest(events: events, destination: "bench")
        // The first call compiles the destination on the work pool; later ones find it cached and run inline.
        let payload = InProcessConnection.payload(method: Methods.enrich, token: self.lookup.token, message: request)
        self.lookup.connection.send(id: 1, payload: payload)
        let deadline = ContinuousClock.now + .seconds(10)
        while self.lookup.connection.lastStatus == nil && ContinuousClock.now < deadline {
            self.lookup.connection.runPending()
        }
        let decoded = try EnrichResponse(serializedBytes: self.lookup.connection.lastMessage)
        precondition(
            decoded.events.count == count && decoded.events.allSatisfy { $0.outcome == .enriched },
            "\(String(describing: self.lookup.connection.lastStatus)) \(decoded.events.first.map { "\($0)" } ?? "")"
        )
        return self.lookup.allocationsPerCall(method: Methods.enrich, request, calls: calls) {
            precondition(!$0.isEmpty)
        }
    }
}

@Suite("Allocations per Enrich event", needsOptimizedHotPaths)
struct EnrichAllocationTests {
    @Test(
        "Enrich through a destination: at most about one allocation per event (10 vs 1,000 events, every one enriched)")
    func perEvent() throws {
        let harness = try EnrichHarness()
        let small = try harness.allocationsPerCall(events: 10)
        let large = try harness.allocationsPerCall(events: 1_000)
        let perEvent = (large - small) / 990
        print(
            "Enrich through a destination: \(small) allocations per call at 10 events, \(large) at 1,000 (\(perEvent) per event)"
        )
        // The request decoder hands each event over as its own array: one allocation per event. Reading the
        // event, looking up its row, splicing the enrichments and writing the answer add none (a double whose
        // shortest text is longer than 15 characters would add one, for Swift's `description`).
        #expect(perEvent <= 1.1, "10 events: \(small) allocations per call; 1,000 events: \(large)")
    }
}
