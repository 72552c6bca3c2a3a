import Catalog
import EventJSON
import RPCCall
import RPCCore
import RPCMessages
import SyncEngine
import Warehouses

/// Admin RPCs for warehouses. Connections live in the catalog (passwords too, never returned or audited) and
/// in the sync engine's registry, which a write updates after the catalog transaction commits. Warehouses the
/// server was started with and the catalog does not hold (the embedded one) are built in: listed, not editable.
struct WarehouseService: Sendable {
    let catalog: Catalog
    let registry: WarehouseRegistry
    let limits: Limits
    let now: @Sendable () -> Int64
    let audit: AuditLog

    private func stored(_ name: String) -> String { AuditLog.json(try? self.catalog.warehouse(named: name)) }

    func register(into registry: inout Router) {
        registry.unary(Methods.listWarehouses) { (request: ListWarehousesRequest, _) in try await self.list(request) }
        registry.unary(Methods.getWarehouse) { (request: GetWarehouseRequest, _) in
            try Validation.name(request.name, kind: "warehouse", limit: self.limits.maxNameBytes)
            guard let info = try self.all().first(where: { $0.name == request.name }) else {
                throw CatalogError.warehouseNotFound(name: request.name)
            }
            return request.test ? await self.tested(info) : info
        }
        registry.unary(Methods.createWarehouse) { (request: CreateWarehouseRequest, context) in
            try await self.audit.write(context, object: "warehouse \(request.name)", before: { "" }) {
                (try await self.create(request), self.stored(request.name))
            }
        }
        registry.unary(Methods.updateWarehouse) { (request: UpdateWarehouseRequest, context) in
            try await self.audit.write(
                context, object: "warehouse \(request.name)", before: { self.stored(request.name) }
            ) {
                (try await self.update(request), self.stored(request.name))
            }
        }
        registry.unary(Methods.deleteWarehouse) { (request: DeleteWarehouseRequest, context) in
            try await self.audit.write(
                context, object: "warehouse \(request.name)", before: { self.stored(request.name) }
            ) {
                try Validation.name(request.name, kind: "warehouse", limit: self.limits.maxNameBytes)
                try self.refuseBuiltin(request.name)
                try self.catalog.deleteWarehouse(name: request.name)
                self.registry.remove(request.name)
                return (DeleteWarehouseResponse(), "")
            }
        }
    }

    /// Every warehouse by name: the catalog's and the built-in ones.
    private func all() throws -> [WarehouseInfo] {
        let records = try self.catalog.warehouses()
        let stored = Set(records.map(\.name))
        var infos = records.map(Self.info)
        for (name, kind) in self.registry.kinds where !stored.contains(name) {
            let warehouse = self.registry[name]
            let connection =
                (warehouse as? SQLiteWarehouse)?.path ?? (warehouse as? PostgresWarehouse)?.connectionString ?? ""
            infos.append(WarehouseInfo(name: name, kind: kind, connection: connection, builtin: true))
        }
        return infos.sorted { $0.name < $1.name }
    }

    static func info(_ record: WarehouseRecord) -> WarehouseInfo {
        WarehouseInfo(
            name: record.name, kind: record.kind, connection: record.connection, hasPassword: !record.password.isEmpty,
            createdAtMilliseconds: record.createdAtMilliseconds, version: UInt64(record.version)
        )
    }

    private func list(_ request: ListWarehousesRequest) async throws -> ListWarehousesResponse {
        let size = request.pageSize == 0 ? 100 : Int(request.pageSize)
        guard size <= self.limits.maxPageSize else {
            throw RPCError(.invalidArgument, "page size \(size) exceeds the limit of \(self.limits.maxPageSize)")
        }
        let matching = try self.all().filter { info in
            info.name.hasPrefix(request.namePrefix) && (request.pageToken.isEmpty || info.name > request.pageToken)
        }
        var page = Array(matching.prefix(size))
        if request.test {
            // Connect to all of them at once: each may take up to the connect timeout.
            page = await withTaskGroup(of: (Int, WarehouseInfo).self) { group in
                for (index, info) in page.enumerated() { group.addTask { (index, await self.tested(info)) } }
                var tested = page
                for await (index, info) in group { tested[index] = info }
                return tested
            }
        }
        return ListWarehousesResponse(warehouses: page, nextPageToken: matching.count > size ? page.last!.name : "")
    }

    /// `info` with the outcome of connecting to the warehouse now.
    private func tested(_ info: WarehouseInfo) async -> WarehouseInfo {
        var info = info
        info.tested = true
        guard let warehouse = self.registry[info.name] else {
            info.detail = "not loaded: the server could not build a connector for it at start"
            return info
        }
        switch await SyncEngine.test(warehouse) {
        case .success(let version): (info.reachable, info.detail) = (true, version)
        case .failure(let error): info.detail = error.description
        }
        return info
    }

    private func refuseBuiltin(_ name: String) throws {
        if self.registry[name] != nil, (try? self.catalog.warehouse(named: name)) == nil {
            throw RPCError(
                .failedPrecondition,
                "warehouse '\(name)' is built in (set when enrichd starts) and cannot be changed here")
        }
    }

    /// The connector for these settings, checked and connected to, or the reason it cannot be used.
    private func connect(kind: WarehouseKind, connection: String, password: String) async throws -> any Warehouse {
        guard connection.utf8.count <= self.limits.maxConnectionBytes,
            password.utf8.count <= self.limits.maxConnectionBytes
        else {
            throw RPCError(
                .invalidArgument, "connection settings exceed the limit of \(self.limits.maxConnectionBytes) bytes")
        }
        let warehouse = try kind.make(connection: connection, password: password)
        if case .failure(let error) = await SyncEngine.test(warehouse) { throw error }
        return warehouse
    }

    private func create(_ request: CreateWarehouseRequest) async throws -> WarehouseInfo {
        try Validation.name(request.name, kind: "warehouse", limit: self.limits.maxNameBytes)
        guard let kind = WarehouseKind(rawValue: request.kind) else {
            throw RPCError(.invalidArgument, "unknown warehouse kind '\(request.kind)': use postgres or sqlite")
        }
        guard kind.isImplemented else {
            throw RPCError(
                .unimplemented, "no \(kind.rawValue) connector is built into this server yet; use postgres or sqlite")
        }
        if self.registry[request.name] != nil { throw CatalogError.warehouseAlreadyExists(name: request.name) }
        // Checked before connecting too, so a full catalog answers at once.
        guard try self.catalog.warehouses().count < self.limits.maxWarehouses else {
            throw CatalogError.limitReached(kind: "warehouse", limit: self.limits.maxWarehouses)
        }
        let warehouse = try await self.connect(kind: kind, connection: request.connection, password: request.password)
        let record = WarehouseRecord(
            name: request.name, kind: kind.rawValue, connection: request.connection, password: request.password,
            createdAtMilliseconds: self.now()
        )
        try self.catalog.createWarehouse(record, limit: self.limits.maxWarehouses)
        self.registry.set(record.name, warehouse)
        return Self.info(record)
    }

    private func update(_ request: UpdateWarehouseRequest) async throws -> WarehouseInfo {
        try Validation.name(request.name, kind: "warehouse", limit: self.limits.maxNameBytes)
        try self.refuseBuiltin(request.name)
        var record = try self.catalog.warehouse(named: request.name)
        guard !(request.clearPassword && !request.password.isEmpty) else {
            throw RPCError(.invalidArgument, "give a new password or clear_password, not both")
        }
        if !request.connection.isEmpty { record.connection = request.connection }
        if request.clearPassword {
            record.password = ""
        } else if !request.password.isEmpty {
            record.password = request.password
        }
        let kind = WarehouseKind(rawValue: record.kind) ?? .postgres
        let warehouse = try await self.connect(kind: kind, connection: record.connection, password: record.password)
        let updated = try self.catalog.updateWarehouse(
            record, expectedVersion: Int64(clamping: request.expectedVersion))
        self.registry.set(updated.name, warehouse)
        return Self.info(updated)
    }
}
