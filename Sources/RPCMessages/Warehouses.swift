/// Warehouse messages; see admin.proto.
public struct ListWarehousesRequest: Sendable, Hashable {
    public var test: Bool
    public var pageSize: UInt32
    public var pageToken: String
    public var namePrefix: String
    public init(test: Bool = false, pageSize: UInt32 = 0, pageToken: String = "", namePrefix: String = "") {
        self.test = test
        self.pageSize = pageSize
        self.pageToken = pageToken
        self.namePrefix = namePrefix
    }
}

public struct WarehouseInfo: Sendable, Hashable {
    public var name: String
    public var kind: String
    public var tested: Bool
    public var reachable: Bool
    public var detail: String
    public var connection: String
    public var hasPassword: Bool
    public var builtin: Bool
    public var createdAtMilliseconds: Int64
    public var version: UInt64
    public init(
        name: String = "", kind: String = "", tested: Bool = false, reachable: Bool = false, detail: String = "",
        connection: String = "", hasPassword: Bool = false, builtin: Bool = false, createdAtMilliseconds: Int64 = 0,
        version: UInt64 = 0
    ) {
        self.name = name
        self.kind = kind
        self.tested = tested
        self.reachable = reachable
        self.detail = detail
        self.connection = connection
        self.hasPassword = hasPassword
        self.builtin = builtin
        self.createdAtMilliseconds = createdAtMilliseconds
        self.version = version
    }
}

public struct ListWarehousesResponse: Sendable, Hashable {
    public var warehouses: [WarehouseInfo]
    public var nextPageToken: String
    public init(warehouses: [WarehouseInfo] = [], nextPageToken: String = "") {
        self.warehouses = warehouses
        self.nextPageToken = nextPageToken
    }
}

public struct CreateWarehouseRequest: Sendable, Hashable {
    public var name: String
    public var kind: String
    public var connection: String
    public var password: String
    public init(name: String = "", kind: String = "", connection: String = "", password: String = "") {
        self.name = name
        self.kind = kind
        self.connection = connection
        self.password = password
    }
}

public struct GetWarehouseRequest: Sendable, Hashable {
    public var name: String
    public var test: Bool
    public init(name: String = "", test: Bool = false) {
        self.name = name
        self.test = test
    }
}

public struct UpdateWarehouseRequest: Sendable, Hashable {
    public var name: String
    public var connection: String
    public var password: String
    public var clearPassword: Bool
    public var expectedVersion: UInt64
    public init(name: String = "", connection: String = "", password: String = "", clearPassword: Bool = false, expectedVersion: UInt64 = 0) {
        self.name = name
        self.connection = connection
        self.password = password
        self.clearPassword = clearPassword
        self.expectedVersion = expectedVersion
    }
}

public struct DeleteWarehouseRequest: Sendable, Hashable {
    public var name: String
    public init(name: String = "") { self.name = name }
}

public struct DeleteWarehouseResponse: Sendable, Hashable {
    public init() {}
}
