import CAllocationCounter
import Catalog
import Logging
import ModelCache
import RPCCore
import RPCMessages
import Services
import SyncEngine
import Testing

/// The Lookup handler as the transport runs it (decode the request bytes, look up, encode the answer), over a
/// 10,000-row snapshot of 8 columns, with the calling thread's heap allocations counted.
struct LookupHarness {
    let run: @Sendable (UnsafeRawBufferPointer, ServerContext) throws -> any RPCMessage
    let cache = ModelCache()
    let services: Services

    init() throws {
        let schema: [ColumnSchema] = [
            .init(name: "sku", type: .string), .init(name: "id", type: .int64), .init(name: "name", type: .string),
            .init(name: "brand", type: .string), .init(name: "price", type: .double), .init(name: "in_stock", type: .bool),
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
                if row % 3 == 0 { builder.appendNull(3) } else { brand.withUTF8 { builder.appendString(3, UnsafeRawBufferPointer($0)) } }
                builder.appendDouble(4, Double(row) / 7)
                builder.appendBool(5, row % 2 == 0)
                builder.appendDouble(6, 4.5)
                builder.appendTimestamp(7, Int64(row) * 1_000_000)
                builder.endRow()
            }
            self.cache.publish(try builder.build(model: model, version: 1))
        }
        let catalog = try Catalog.inMemory()
        let engine = SyncEngine(catalog: catalog, cache: self.cache, warehouses: [:], logger: Logger(label: "alloc"))
        self.services = try Services(
            catalog: catalog, cache: self.cache, engine: engine, scheduler: Scheduler(engine: engine, catalog: catalog, logger: Logger(label: "alloc")),
            limits: Limits(), defaultWarehouse: "embedded"
        )
        guard case .inline(let run) = self.services.registry().method(named: Methods.lookup.fullName)!.handler else {
            preconditionFailure("Lookup runs inline")
        }
        self.run = run
    }

    /// Average allocations of one Lookup call (decode, look up, encode), after a warm-up.
    func allocationsPerCall(_ request: LookupRequest, calls: Int = 50) throws -> Double {
        let bytes = request.serializedBytes()
        let context = ServerContext(
            requestID: 1, method: Methods.lookup, bearerToken: nil, metadata: Metadata(), deadline: .now + .seconds(60), peer: "test"
        )
        func call() throws {
            let response = try bytes.withUnsafeBytes { try self.run($0, context) }
            response.withSerializedBytes { precondition($0.count > 0) }
        }
        for _ in 0..<5 { try call() }
        let before = enrich_thread_allocations()
        for _ in 0..<calls { try call() }
        return Double(enrich_thread_allocations() - before) / Double(calls)
    }
}

@Suite("Allocations per request")
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
            LookupRequest(model: "products", columns: columns, stringKeys: (0..<count).map { "SKU-\($0 * 7 % 12_000 + 1)" })
        }
        let small = try harness.allocationsPerCall(request(10))
        let large = try harness.allocationsPerCall(request(1_000))
        print("Lookup, string keys, 8 columns: \(small) allocations per call at 10 keys, \(large) at 1,000")
        // A per-key allocation anywhere on the path would add at least 990 here.
        #expect(large - small <= 8, "10 keys: \(small) allocations per call; 1,000 keys: \(large)")
        #expect(small <= 64, "10 keys: \(small) allocations per call")
    }

    @Test("Lookup with integer keys: allocations per call do not grow with the batch (10 vs 1,000 keys)")
    func intKeys() throws {
        let harness = try LookupHarness()
        func request(_ count: Int) -> LookupRequest {
            LookupRequest(model: "by_id", columns: ["name", "price", "in_stock"], intKeys: (0..<count).map { Int64($0 * 13 % 12_000 + 1) })
        }
        let small = try harness.allocationsPerCall(request(10))
        let large = try harness.allocationsPerCall(request(1_000))
        print("Lookup, integer keys, 3 columns: \(small) allocations per call at 10 keys, \(large) at 1,000")
        #expect(large - small <= 8, "10 keys: \(small) allocations per call; 1,000 keys: \(large)")
    }
}
