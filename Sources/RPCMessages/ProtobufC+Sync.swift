import CProtos

extension SyncRun: ProtobufCBridged {
    static let protoName = "enrich.v1.SyncRun"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__SyncRun>) { enrich__v1__sync_run__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__SyncRun>? {
        enrich__v1__sync_run__unpack(a, n, d)
    }

    init(c m: UnsafePointer<Enrich__V1__SyncRun>) {
        let c = m.pointee
        self.init(
            id: c.id, model: readString(c.model),
            status: SyncStatus(rawValue: enumNumber(c.status)) ?? .unspecified,
            phase: SyncPhase(rawValue: enumNumber(c.phase)) ?? .unspecified,
            startedAtMilliseconds: c.started_at_ms, finishedAtMilliseconds: c.finished_at_ms,
            rowsRead: c.rows_read, rowsAdded: c.rows_added, rowsChanged: c.rows_changed,
            rowsRemoved: c.rows_removed, rowsFailed: c.rows_failed, error: readString(c.error),
            rowsExpected: c.rows_expected
        )
    }

    func fill(_ m: UnsafeMutablePointer<Enrich__V1__SyncRun>, _ arena: CArena) {
        m.pointee.id = self.id
        m.pointee.model = arena.string(self.model)
        m.pointee.status = cEnum(self.status.rawValue, as: Enrich__V1__SyncStatus.self)
        m.pointee.phase = cEnum(self.phase.rawValue, as: Enrich__V1__SyncPhase.self)
        m.pointee.started_at_ms = self.startedAtMilliseconds
        m.pointee.finished_at_ms = self.finishedAtMilliseconds
        m.pointee.rows_read = self.rowsRead
        m.pointee.rows_added = self.rowsAdded
        m.pointee.rows_changed = self.rowsChanged
        m.pointee.rows_removed = self.rowsRemoved
        m.pointee.rows_failed = self.rowsFailed
        m.pointee.error = arena.string(self.error)
        m.pointee.rows_expected = self.rowsExpected
    }
}

extension TriggerSyncRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.TriggerSyncRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__TriggerSyncRequest>) { enrich__v1__trigger_sync_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__TriggerSyncRequest>? {
        enrich__v1__trigger_sync_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__TriggerSyncRequest>) {
        self.init(model: readString(m.pointee.model), fullResync: m.pointee.full_resync != 0)
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__TriggerSyncRequest>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.full_resync = self.fullResync ? 1 : 0
    }
}

extension GetSyncRunRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.GetSyncRunRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__GetSyncRunRequest>) { enrich__v1__get_sync_run_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__GetSyncRunRequest>? {
        enrich__v1__get_sync_run_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__GetSyncRunRequest>) { self.init(id: m.pointee.id) }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__GetSyncRunRequest>, _ arena: CArena) { m.pointee.id = self.id }
}

extension ListSyncRunsRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.ListSyncRunsRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListSyncRunsRequest>) { enrich__v1__list_sync_runs_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListSyncRunsRequest>? {
        enrich__v1__list_sync_runs_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__ListSyncRunsRequest>) {
        self.init(model: readString(m.pointee.model), limit: m.pointee.limit)
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListSyncRunsRequest>, _ arena: CArena) {
        m.pointee.model = arena.string(self.model)
        m.pointee.limit = self.limit
    }
}

extension ListSyncRunsResponse: ProtobufCBridged {
    static let protoName = "enrich.v1.ListSyncRunsResponse"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__ListSyncRunsResponse>) { enrich__v1__list_sync_runs_response__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__ListSyncRunsResponse>? {
        enrich__v1__list_sync_runs_response__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__ListSyncRunsResponse>) {
        self.init(runs: readMessages(m.pointee.n_runs, m.pointee.runs, as: SyncRun.self))
    }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__ListSyncRunsResponse>, _ arena: CArena) {
        m.pointee.n_runs = self.runs.count
        m.pointee.runs = arena.messages(self.runs)
    }
}

extension WatchSyncRequest: ProtobufCBridged {
    static let protoName = "enrich.v1.WatchSyncRequest"
    static func cInit(_ m: UnsafeMutablePointer<Enrich__V1__WatchSyncRequest>) { enrich__v1__watch_sync_request__init(m) }
    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>) -> UnsafeMutablePointer<Enrich__V1__WatchSyncRequest>? {
        enrich__v1__watch_sync_request__unpack(a, n, d)
    }
    init(c m: UnsafePointer<Enrich__V1__WatchSyncRequest>) { self.init(id: m.pointee.id) }
    func fill(_ m: UnsafeMutablePointer<Enrich__V1__WatchSyncRequest>, _ arena: CArena) { m.pointee.id = self.id }
}
