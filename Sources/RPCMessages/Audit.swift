/// Model updates and deletes, and the audit trail; see admin.proto.
public struct UpdateModelRequest: Sendable, Hashable {
    public var name: String
    public var table: String
    public var query: String
    public var primaryKey: String
    public var expectedVersion: UInt64
    public init(name: String = "", table: String = "", query: String = "", primaryKey: String = "", expectedVersion: UInt64 = 0) {
        self.name = name
        self.table = table
        self.query = query
        self.primaryKey = primaryKey
        self.expectedVersion = expectedVersion
    }
}

public struct DeleteModelRequest: Sendable, Hashable {
    public var name: String
    public init(name: String = "") {
        self.name = name
    }
}

public struct DeleteModelResponse: Sendable, Hashable {
    public init() {
    }
}

public struct AuditEvent: Sendable, Hashable {
    public var id: UInt64
    public var atMilliseconds: Int64
    public var tokenID: String
    public var tokenName: String
    public var peer: String
    public var method: String
    public var object: String
    public var beforeJSON: String
    public var afterJSON: String
    public var outcomeCode: UInt32
    public var outcomeMessage: String
    public init(id: UInt64 = 0, atMilliseconds: Int64 = 0, tokenID: String = "", tokenName: String = "", peer: String = "", method: String = "", object: String = "", beforeJSON: String = "", afterJSON: String = "", outcomeCode: UInt32 = 0, outcomeMessage: String = "") {
        self.id = id
        self.atMilliseconds = atMilliseconds
        self.tokenID = tokenID
        self.tokenName = tokenName
        self.peer = peer
        self.method = method
        self.object = object
        self.beforeJSON = beforeJSON
        self.afterJSON = afterJSON
        self.outcomeCode = outcomeCode
        self.outcomeMessage = outcomeMessage
    }
}

public struct ListAuditRequest: Sendable, Hashable {
    public var method: String
    public var tokenID: String
    public var object: String
    public var sinceMilliseconds: Int64
    public var beforeID: UInt64
    public var limit: UInt32
    public init(method: String = "", tokenID: String = "", object: String = "", sinceMilliseconds: Int64 = 0, beforeID: UInt64 = 0, limit: UInt32 = 0) {
        self.method = method
        self.tokenID = tokenID
        self.object = object
        self.sinceMilliseconds = sinceMilliseconds
        self.beforeID = beforeID
        self.limit = limit
    }
}

public struct ListAuditResponse: Sendable, Hashable {
    public var events: [AuditEvent]
    public init(events: [AuditEvent] = []) {
        self.events = events
    }
}
