import CProtos

extension Model: ProtobufCBridged {
    static let protoName = "enrich.v1.Model"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__Model>) { enrich__v1__model__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__Model>? {
        enrich__v1__model__unpack(a, n, d)
    }

    init(c m: UnsafePointer<Enrich__V1__Model>) {
        self.init(
            name: readString(m.pointee.name), warehouse: readString(m.pointee.warehouse),
            table: readString(m.pointee.table), query: readString(m.pointee.query),
            primaryKey: readString(m.pointee.primary_key),
            columns: readMessages(m.pointee.n_columns, m.pointee.columns, as: Column.self),
            createdAtMilliseconds: m.pointee.created_at_ms, version: m.pointee.version,
            cachedRows: m.pointee.cached_rows
        )
    }

    func fill(_ m: UnsafeMutablePointer<Enrich__V1__Model>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.warehouse = arena.string(self.warehouse)
        m.pointee.table = arena.string(self.table)
        m.pointee.query = arena.string(self.query)
        m.pointee.primary_key = arena.string(self.primaryKey)
        m.pointee.n_columns = self.columns.count
        m.pointee.columns = arena.messages(self.columns)
        m.pointee.created_at_ms = self.createdAtMilliseconds
        m.pointee.version = self.version
        m.pointee.cached_rows = self.cachedRows
    }
}

extension CreateModelRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.CreateModelRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__CreateModelRequest>) { enrich__v1__create_model_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__CreateModelRequest>? {
        enrich__v1__create_model_request__unpack(a, n, d)
    }

    init(c m: UnsafePointer<Enrich__V1__CreateModelRequest>) {
        self.init(
            name: readString(m.pointee.name), warehouse: readString(m.pointee.warehouse),
            table: readString(m.pointee.table), query: readString(m.pointee.query),
            primaryKey: readString(m.pointee.primary_key)
        )
    }

    func fill(_ m: UnsafeMutablePointer<Enrich__V1__CreateModelRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.warehouse = arena.string(self.warehouse)
        m.pointee.table = arena.string(self.table)
        m.pointee.query = arena.string(self.query)
        m.pointee.primary_key = arena.string(self.primaryKey)
    }
}

extension GetModelRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.GetModelRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__GetModelRequest>) { enrich__v1__get_model_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__GetModelRequest>? {
        enrich__v1__get_model_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__GetModelRequest>) { self.init(name: readString(m.pointee.name)) }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__GetModelRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
    }
}

extension ListModelsRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListModelsRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListModelsRequest>) { enrich__v1__list_models_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListModelsRequest>? {
        enrich__v1__list_models_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__ListModelsRequest>) {
        self.init(
            pageSize: m.pointee.page_size, pageToken: readString(m.pointee.page_token), namePrefix: readString(m.pointee.name_prefix)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListModelsRequest>, _ arena: CArena) {
        m.pointee.page_size = self.pageSize
        m.pointee.page_token = arena.string(self.pageToken)
        m.pointee.name_prefix = arena.string(self.namePrefix)
    }
}

extension ListModelsResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListModelsResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListModelsResponse>) { enrich__v1__list_models_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListModelsResponse>? {
        enrich__v1__list_models_response__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__ListModelsResponse>) {
        self.init(
            models: readMessages(m.pointee.n_models, m.pointee.models, as: Model.self),
            nextPageToken: readString(m.pointee.next_page_token)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListModelsResponse>, _ arena: CArena) {
        m.pointee.n_models = self.models.count
        m.pointee.models = arena.messages(self.models)
        m.pointee.next_page_token = arena.string(self.nextPageToken)
    }
}

extension HealthCheckRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.HealthCheckRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__HealthCheckRequest>) { enrich__v1__health_check_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__HealthCheckRequest>? {
        enrich__v1__health_check_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__HealthCheckRequest>) { self.init() }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__HealthCheckRequest>, _ arena: CArena) {}
}

extension HealthCheckResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.HealthCheckResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__HealthCheckResponse>) { enrich__v1__health_check_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__HealthCheckResponse>? {
        enrich__v1__health_check_response__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__HealthCheckResponse>) {
        self.init(
            status: readString(m.pointee.status), version: readString(m.pointee.version),
            modelsLoaded: m.pointee.models_loaded
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__HealthCheckResponse>, _ arena: CArena) {
        m.pointee.status = arena.string(self.status)
        m.pointee.version = arena.string(self.version)
        m.pointee.models_loaded = self.modelsLoaded
    }
}
