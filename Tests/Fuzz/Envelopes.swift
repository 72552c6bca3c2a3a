import Catalog
import InProcessTransport
import Logging
import ModelCache
import RPCCall
import RPCCore
import RPCMessages
import Services
import SyncEngine

/// The envelope target: a REQUEST payload (header length, header, message) handed to the real call layer and the
/// real services over a small catalog and a 1,000-row model, as the transport would hand it. The first four
/// bytes are the request id. Every call must end with exactly one status, and the connection must be left idle.
final class Envelopes: @unchecked Sendable {
    static let shared = Envelopes()
    static let token = "enr_fuzz_owner_0123456789abcdef"
    let router: Router
    let authenticator: any CallAuthenticator

    private init() {
        let cache = ModelCache()
        let catalog = try! Catalog.inMemory()  // In memory: cannot fail but for memory.
        var builder = try! SnapshotBuilder(
            schema: [
                .init(name: "sku", type: .string), .init(name: "name", type: .string),
                .init(name: "price", type: .double),
            ],
            primaryKey: "sku"
        )
        for row in 1...1_000 {
            var sku = "SKU-\(row)"
            var name = "product \(row)"
            sku.withUTF8 { builder.appendString(0, UnsafeRawBufferPointer($0)) }
            name.withUTF8 { builder.appendString(1, UnsafeRawBufferPointer($0)) }
            builder.appendDouble(2, Double(row) / 4)
            builder.endRow()
        }
        cache.publish(try! builder.build(model: "products", version: 1))
        try! catalog.createModel(
            ModelRecord(
                name: "products", warehouse: "embedded", sourceTable: "products", sourceQuery: "", primaryKey: "sku",
                columns: [
                    CatalogColumn(name: "sku", type: "string", sourceType: "TEXT"),
                    CatalogColumn(name: "name", type: "string", sourceType: "TEXT"),
                    CatalogColumn(name: "price", type: "double", sourceType: "REAL"),
                ],
                createdAtMilliseconds: 0
            ))
        try! catalog.createDestination(
            DestinationRecord(
                name: "d",
                mappings: [
                    MappingRecord(
                        name: "m", condition: #"event = "Viewed" or properties.note contains "x""#,
                        matches: [MatchRecord(model: "products", matchProperty: "properties.sku")],
                        enrichments: [EnrichmentRecord(model: "products", column: "name", key: "properties.name")],
                        fieldsJSON: ""
                    )
                ], createdAtMilliseconds: 0))
        let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        let engine = SyncEngine(catalog: catalog, cache: cache, warehouses: [:], logger: logger)
        let services = try! Services(
            catalog: catalog, cache: cache, engine: engine,
            scheduler: Scheduler(engine: engine, catalog: catalog, logger: logger),
            limits: Limits(), defaultWarehouse: "embedded", logger: logger
        )
        _ = try! services.authority.bootstrap(secret: Self.token)
        self.router = services.router()
        self.authenticator = services.authenticator
    }

    func run(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 4 else { return }
        let id = bytes.loadUnaligned(as: UInt32.self)
        var limits = Limits()
        limits.inlineSliceBudget = .milliseconds(5)
        let connection = InProcessConnection(
            router: self.router, authenticator: self.authenticator, limits: limits,
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        connection.send(id: id, payload: Array(bytes[4...]))
        let deadline = ContinuousClock.now + .seconds(5)
        while !connection.connection.isIdle && ContinuousClock.now < deadline { connection.runPending() }
        guard connection.connection.isIdle else { fatalError("a call was still in flight after 5 s") }
        defer { connection.shutdown() }
        let statuses = connection.outputs.filter {
            if case .status(let statusID, _) = $0 { statusID == id } else { false }
        }
        let closedOnProtocolError = connection.isClosed && connection.status(of: 0) != nil
        guard statuses.count == 1 || closedOnProtocolError else {
            fatalError("\(statuses.count) statuses for one call")
        }
    }
}
