import Catalog
import ModelCache
import RPCCall
import RPCCore
import RPCMessages
import SyncEngine
import Warehouses

/// Admin RPCs for models.
struct AdminService: Sendable {
    let catalog: Catalog
    let cache: ModelCache
    let engine: SyncEngine
    let limits: Limits
    let defaultWarehouse: String
    let now: @Sendable () -> Int64
    let audit: AuditLog

    func register(into registry: inout Router) {
        registry.unary(Methods.createModel) { (request: CreateModelRequest, context) in
            try await self.audit.write(context, object: "model \(request.name)", before: { "" }) {
                let model = try await self.createModel(request)
                return (model, AuditLog.json(try? self.catalog.model(named: request.name)))
            }
        }
        registry.unary(Methods.getModel) { (request: GetModelRequest, _) in try self.getModel(request) }
        registry.unary(Methods.listModels) { (request: ListModelsRequest, _) in try self.listModels(request) }
        registry.unary(Methods.updateModel) { (request: UpdateModelRequest, context) in
            try await self.audit.write(
                context, object: "model \(request.name)",
                before: { AuditLog.json(try? self.catalog.model(named: request.name)) }
            ) {
                let updated = try await self.updateModel(request)
                return (
                    self.message(updated),
                    AuditLog.json(updated)
                )
            }
        }
        registry.unary(Methods.deleteModel) { (request: DeleteModelRequest, context) in
            try await self.audit.write(
                context, object: "model \(request.name)",
                before: { AuditLog.json(try? self.catalog.model(named: request.name)) }
            ) {
                try Validation.name(request.name, kind: "model", limit: self.limits.maxNameBytes)
                guard !(await self.engine.isRunning(model: request.name)) else {
                    throw RPCError(
                        .failedPrecondition, "model '\(request.name)' is syncing; delete it when the run ends")
                }
                let warehouse = try? self.catalog.model(named: request.name).warehouse
                try self.catalog.deleteModel(name: request.name)
                self.cache.remove(model: request.name)
                await self.engine.forget(model: request.name, warehouse: warehouse)
                return (DeleteModelResponse(), "")
            }
        }
    }

    /// Checks and introspects a model's new source, then stores it if the version is current.
    func updateModel(_ request: UpdateModelRequest) async throws -> ModelRecord {
        try Validation.name(request.name, kind: "model", limit: self.limits.maxNameBytes)
        let current = try self.catalog.model(named: request.name)
        let columns = try await self.introspect(
            warehouse: current.warehouse, table: request.table, query: request.query, primaryKey: request.primaryKey
        )
        var record = current
        record.sourceTable = request.table
        record.sourceQuery = request.query
        record.primaryKey = request.primaryKey
        record.columns = columns
        return try self.catalog.updateModel(record, expectedVersion: Int64(clamping: request.expectedVersion))
    }

    func createModel(_ request: CreateModelRequest) async throws -> Model {
        try Validation.name(request.name, kind: "model", limit: self.limits.maxNameBytes)
        let warehouse = request.warehouse.isEmpty ? self.defaultWarehouse : request.warehouse
        let columns = try await self.introspect(
            warehouse: warehouse, table: request.table, query: request.query, primaryKey: request.primaryKey
        )
        let record = ModelRecord(
            name: request.name, warehouse: warehouse, sourceTable: request.table, sourceQuery: request.query,
            primaryKey: request.primaryKey, columns: columns, createdAtMilliseconds: self.now()
        )
        try self.catalog.createModel(record)
        return Model(record)
    }

    /// Checks that a model names exactly one of a table or a query and a primary key, then introspects that
    /// source in `warehouse` (which also checks the key against the columns and the limits).
    private func introspect(
        warehouse: String, table: String, query: String, primaryKey: String
    ) async throws -> [CatalogColumn] {
        let hasTable = !table.isEmpty
        guard hasTable != !query.isEmpty else {
            throw RPCError(
                .invalidArgument,
                "a model reads exactly one of a table or a query; \(hasTable ? "both" : "neither") given")
        }
        guard !primaryKey.isEmpty else { throw RPCError(.invalidArgument, "primary key is empty") }
        let source: ModelSource = hasTable ? .table(table) : .query(query)
        return try await self.engine.introspect(warehouse: warehouse, source: source, primaryKey: primaryKey).map(
            CatalogColumn.init)
    }

    func getModel(_ request: GetModelRequest) throws -> Model {
        let record = try self.catalog.model(named: request.name)
        return self.message(record)
    }

    /// The model with its served snapshot and latest run. A catalog that cannot say leaves those fields empty.
    func message(_ record: ModelRecord, latest: [String: SyncRunRecord]? = nil) -> Model {
        let snapshot = self.cache.snapshot(of: record.name)
        let last = latest.map { $0[record.name] } ?? (try? self.catalog.runs(model: record.name, limit: 1))?.first
        var served = last.flatMap { $0.id.map(UInt64.init) == snapshot?.version ? $0 : nil }
        if served == nil, let version = snapshot?.version, version > 0 {
            served = try? self.catalog.run(id: Int64(clamping: version))
        }
        return Model(record, snapshot: snapshot, served: served, latest: last)
    }

    func listModels(_ request: ListModelsRequest) throws -> ListModelsResponse {
        let size = request.pageSize == 0 ? 100 : Int(request.pageSize)
        guard size <= self.limits.maxPageSize else {
            throw RPCError(.invalidArgument, "page size \(size) exceeds the limit of \(self.limits.maxPageSize)")
        }
        // One extra row tells whether another page follows.
        let records = try self.catalog.listModels(
            after: request.pageToken.isEmpty ? nil : request.pageToken, limit: size + 1, prefix: request.namePrefix)
        let page = records.prefix(size)
        let latest = try? self.catalog.latestRuns()
        return ListModelsResponse(
            models: page.map { self.message($0, latest: latest) },
            nextPageToken: records.count > size ? page.last!.name : ""  // A non-empty page has a last element.
        )
    }
}
