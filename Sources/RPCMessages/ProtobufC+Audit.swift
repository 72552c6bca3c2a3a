import CProtos

// Bridges the model-update, model-delete and audit messages of admin.proto.

extension UpdateModelRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.UpdateModelRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__UpdateModelRequest>) { enrich__v1__update_model_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__UpdateModelRequest>? { enrich__v1__update_model_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__UpdateModelRequest>) {
        self.init(
            name: readString(m.pointee.name),
            table: readString(m.pointee.table),
            query: readString(m.pointee.query),
            primaryKey: readString(m.pointee.primary_key),
            expectedVersion: m.pointee.expected_version
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__UpdateModelRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
        m.pointee.table = arena.string(self.table)
        m.pointee.query = arena.string(self.query)
        m.pointee.primary_key = arena.string(self.primaryKey)
        m.pointee.expected_version = self.expectedVersion
    }
}

extension DeleteModelRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.DeleteModelRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DeleteModelRequest>) { enrich__v1__delete_model_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DeleteModelRequest>? { enrich__v1__delete_model_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DeleteModelRequest>) {
        self.init(
            name: readString(m.pointee.name)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DeleteModelRequest>, _ arena: CArena) {
        m.pointee.name = arena.string(self.name)
    }
}

extension DeleteModelResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.DeleteModelResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__DeleteModelResponse>) { enrich__v1__delete_model_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__DeleteModelResponse>? { enrich__v1__delete_model_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__DeleteModelResponse>) { self.init() }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__DeleteModelResponse>, _ arena: CArena) {}
}

extension AuditEvent: ProtobufCBridged {
    static let protoName = "enrich.v1.AuditEvent"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__AuditEvent>) { enrich__v1__audit_event__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__AuditEvent>? { enrich__v1__audit_event__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__AuditEvent>) {
        self.init(
            id: m.pointee.id,
            atMilliseconds: m.pointee.at_ms,
            tokenID: readString(m.pointee.token_id),
            tokenName: readString(m.pointee.token_name),
            peer: readString(m.pointee.peer),
            method: readString(m.pointee.method),
            object: readString(m.pointee.object),
            beforeJSON: readString(m.pointee.before_json),
            afterJSON: readString(m.pointee.after_json),
            outcomeCode: m.pointee.outcome_code,
            outcomeMessage: readString(m.pointee.outcome_message)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__AuditEvent>, _ arena: CArena) {
        m.pointee.id = self.id
        m.pointee.at_ms = self.atMilliseconds
        m.pointee.token_id = arena.string(self.tokenID)
        m.pointee.token_name = arena.string(self.tokenName)
        m.pointee.peer = arena.string(self.peer)
        m.pointee.method = arena.string(self.method)
        m.pointee.object = arena.string(self.object)
        m.pointee.before_json = arena.string(self.beforeJSON)
        m.pointee.after_json = arena.string(self.afterJSON)
        m.pointee.outcome_code = self.outcomeCode
        m.pointee.outcome_message = arena.string(self.outcomeMessage)
    }
}

extension ListAuditRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListAuditRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListAuditRequest>) { enrich__v1__list_audit_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListAuditRequest>? { enrich__v1__list_audit_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListAuditRequest>) {
        self.init(
            method: readString(m.pointee.method),
            tokenID: readString(m.pointee.token_id),
            object: readString(m.pointee.object),
            sinceMilliseconds: m.pointee.since_ms,
            beforeID: m.pointee.before_id,
            limit: m.pointee.limit
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListAuditRequest>, _ arena: CArena) {
        m.pointee.method = arena.string(self.method)
        m.pointee.token_id = arena.string(self.tokenID)
        m.pointee.object = arena.string(self.object)
        m.pointee.since_ms = self.sinceMilliseconds
        m.pointee.before_id = self.beforeID
        m.pointee.limit = self.limit
    }
}

extension ListAuditResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListAuditResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListAuditResponse>) { enrich__v1__list_audit_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListAuditResponse>? { enrich__v1__list_audit_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListAuditResponse>) {
        self.init(
            events: readMessages(m.pointee.n_events, m.pointee.events, as: AuditEvent.self)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListAuditResponse>, _ arena: CArena) {
        m.pointee.n_events = self.events.count
        m.pointee.events = arena.messages(self.events)
    }
}
