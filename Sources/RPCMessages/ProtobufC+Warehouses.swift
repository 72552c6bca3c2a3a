import CProtos

// Bridges the warehouse messages of admin.proto.

extension ListWarehousesRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListWarehousesRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>) { enrich__v1__list_warehouses_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>? { enrich__v1__list_warehouses_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListWarehousesRequest>) {
        self.init(
            test: m.pointee.test != 0, pageSize: m.pointee.page_size, pageToken: readString(m.pointee.page_token),
            namePrefix: readString(m.pointee.name_prefix)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesRequest>, _ arena: CArena) {
        m.pointee.test = self.test ? 1 : 0
        m.pointee.page_size = self.pageSize
        m.pointee.page_token = arena.string(self.pageToken)
        m.pointee.name_prefix = arena.string(self.namePrefix)
    }
}

extension WarehouseInfo: ProtobufCBridged {
    static let protoName = "enrich.v1.WarehouseInfo"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__WarehouseInfo>) { enrich__v1__warehouse_info__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__WarehouseInfo>? { enrich__v1__warehouse_info__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__WarehouseInfo>) {
        self.init(
            name: readString(m.pointee.name), kind: readString(m.pointee.kind), tested: m.pointee.tested != 0,
            reachable: m.pointee.reachable != 0, detail: readString(m.pointee.detail),
            connection: readString(m.pointee.connection), hasPassword: m.pointee.has_password != 0,
            builtin: m.pointee.builtin != 0, createdAtMilliseconds: m.pointee.created_at_ms, version: m.pointee.version
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__WarehouseInfo>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.kind = arena.string(self.kind)
        m.pointee.tested = self.tested ? 1 : 0
        m.pointee.reachable = self.reachable ? 1 : 0
        m.pointee.detail = arena.string(self.detail)
        m.pointee.connection = arena.string(self.connection)
        m.pointee.has_password = self.hasPassword ? 1 : 0
        m.pointee.builtin = self.builtin ? 1 : 0
        m.pointee.created_at_ms = self.createdAtMilliseconds
        m.pointee.version = self.version
    }
}

extension ListWarehousesResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListWarehousesResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>) { enrich__v1__list_warehouses_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>? { enrich__v1__list_warehouses_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListWarehousesResponse>) {
        self.init(
            warehouses: readMessages(m.pointee.n_warehouses, m.pointee.warehouses, as: WarehouseInfo.self),
            nextPageToken: readString(m.pointee.next_page_token)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListWarehousesResponse>, _ arena: CArena) {
        m.pointee.n_warehouses = self.warehouses.count
        m.pointee.warehouses = arena.messages(self.warehouses)
        m.pointee.next_page_token = arena.string(self.nextPageToken)
    }
}

extension CreateWarehouseRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.CreateWarehouseRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__CreateWarehouseRequest>) { enrich__v1__create_warehouse_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__CreateWarehouseRequest>? { enrich__v1__create_warehouse_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__CreateWarehouseRequest>) {
        self.init(
            name: readString(m.pointee.name), kind: readString(m.pointee.kind), connection: readString(m.pointee.connection),
            password: readString(m.pointee.password)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__CreateWarehouseRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.kind = arena.string(self.kind)
        m.pointee.connection = arena.string(self.connection)
        m.pointee.password = arena.string(self.password)
    }
}

extension GetWarehouseRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.GetWarehouseRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__GetWarehouseRequest>) { enrich__v1__get_warehouse_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__GetWarehouseRequest>? { enrich__v1__get_warehouse_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__GetWarehouseRequest>) {
        self.init(name: readString(m.pointee.name), test: m.pointee.test != 0)
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__GetWarehouseRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.test = self.test ? 1 : 0
    }
}

extension UpdateWarehouseRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.UpdateWarehouseRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__UpdateWarehouseRequest>) { enrich__v1__update_warehouse_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__UpdateWarehouseRequest>? { enrich__v1__update_warehouse_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__UpdateWarehouseRequest>) {
        self.init(
            name: readString(m.pointee.name), connection: readString(m.pointee.connection), password: readString(m.pointee.password),
            clearPassword: m.pointee.clear_password != 0, expectedVersion: m.pointee.expected_version
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__UpdateWarehouseRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.connection = arena.string(self.connection)
        m.pointee.password = arena.string(self.password)
        m.pointee.clear_password = self.clearPassword ? 1 : 0
        m.pointee.expected_version = self.expectedVersion
    }
}

extension DeleteWarehouseRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.DeleteWarehouseRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DeleteWarehouseRequest>) { enrich__v1__delete_warehouse_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DeleteWarehouseRequest>? { enrich__v1__delete_warehouse_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DeleteWarehouseRequest>) {
        self.init(name: readString(m.pointee.name))
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DeleteWarehouseRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
    }
}

extension DeleteWarehouseResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.DeleteWarehouseResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DeleteWarehouseResponse>) { enrich__v1__delete_warehouse_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DeleteWarehouseResponse>? { enrich__v1__delete_warehouse_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DeleteWarehouseResponse>) {
        self.init()
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DeleteWarehouseResponse>, _ arena: CArena) {

    }
}
