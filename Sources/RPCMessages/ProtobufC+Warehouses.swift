import CProtos

// Bridges the warehouse messages of admin.proto.

extension ListWarehousesRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListWarehousesRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>) { enrich__v1__list_warehouses_request__init(m) }
    static func cUnpack(_ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>? { enrich__v1__list_warehouses_request__unpack(nil, n, d) }
    static func cFree(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>) { enrich__v1__list_warehouses_request__free_unpacked(m, nil) }
    init(c m: UnsafePointer<Enrich__V1__ListWarehousesRequest>) { self.init(test: m.pointee.test != 0) }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>, _ arena: CArena) { m.pointee.test = self.test ? 1 : 0 }
}

extension WarehouseInfo: ProtobufCBridged {
    static let protoName = "enrich.v1.WarehouseInfo"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__WarehouseInfo>) { enrich__v1__warehouse_info__init(m) }
    static func cUnpack(_ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__WarehouseInfo>? { enrich__v1__warehouse_info__unpack(nil, n, d) }
    static func cFree(_ m: UnsafeMutablePointer<Enrich__V1__WarehouseInfo>) { enrich__v1__warehouse_info__free_unpacked(m, nil) }
    init(c m: UnsafePointer<Enrich__V1__WarehouseInfo>) {
        self.init(
            name: readString(m.pointee.name), kind: readString(m.pointee.kind), tested: m.pointee.tested != 0,
            reachable: m.pointee.reachable != 0, detail: readString(m.pointee.detail)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__WarehouseInfo>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.kind = arena.string(self.kind)
        m.pointee.tested = self.tested ? 1 : 0
        m.pointee.reachable = self.reachable ? 1 : 0
        m.pointee.detail = arena.string(self.detail)
    }
}

extension ListWarehousesResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListWarehousesResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>) { enrich__v1__list_warehouses_response__init(m) }
    static func cUnpack(_ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>? { enrich__v1__list_warehouses_response__unpack(nil, n, d) }
    static func cFree(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>) { enrich__v1__list_warehouses_response__free_unpacked(m, nil) }
    init(c m: UnsafePointer<Enrich__V1__ListWarehousesResponse>) {
        self.init(warehouses: readMessages(m.pointee.n_warehouses, m.pointee.warehouses, as: WarehouseInfo.self))
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>, _ arena: CArena) {
        m.pointee.n_warehouses = self.warehouses.count
        m.pointee.warehouses = arena.messages(self.warehouses)
    }
}
