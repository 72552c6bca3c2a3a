import CProtos

// Bridges the schedule messages of sync.proto.

extension ModelSchedule: ProtobufCBridged {
    static let protoName = "enrich.v1.ModelSchedule"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ModelSchedule>) { enrich__v1__model_schedule__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ModelSchedule>? { enrich__v1__model_schedule__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ModelSchedule>) {
        self.init(
            model: readString(m.pointee.model),
            schedule: readString(m.pointee.schedule),
            nextRunMilliseconds: m.pointee.next_run_ms
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ModelSchedule>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.schedule = arena.string(self.schedule)
        m.pointee.next_run_ms = self.nextRunMilliseconds
    }
}

extension SetScheduleRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.SetScheduleRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__SetScheduleRequest>) { enrich__v1__set_schedule_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__SetScheduleRequest>? { enrich__v1__set_schedule_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__SetScheduleRequest>) {
        self.init(
            model: readString(m.pointee.model),
            schedule: readString(m.pointee.schedule)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__SetScheduleRequest>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.schedule = arena.string(self.schedule)
    }
}

extension ListSchedulesRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListSchedulesRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListSchedulesRequest>) { enrich__v1__list_schedules_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListSchedulesRequest>? { enrich__v1__list_schedules_request__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListSchedulesRequest>) { self.init() }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListSchedulesRequest>, _ arena: CArena) {}
}

extension ListSchedulesResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListSchedulesResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListSchedulesResponse>) { enrich__v1__list_schedules_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListSchedulesResponse>? { enrich__v1__list_schedules_response__unpack(a, n, d) }
    init(c m: UnsafePointer<Enrich__V1__ListSchedulesResponse>) {
        self.init(
            schedules: readMessages(m.pointee.n_schedules, m.pointee.schedules, as: ModelSchedule.self)
        )
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListSchedulesResponse>, _ arena: CArena) {
        m.pointee.n_schedules = self.schedules.count
        m.pointee.schedules = arena.messages(self.schedules)
    }
}
