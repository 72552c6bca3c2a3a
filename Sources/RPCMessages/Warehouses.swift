/// Warehouse listing; see admin.proto.
public struct ListWarehousesRequest: Sendable, Hashable {
    public var test: Bool
    public init(test: Bool = false) { self.test = test }
}

public struct WarehouseInfo: Sendable, Hashable {
    public var name: String
    public var kind: String
    public var tested: Bool
    public var reachable: Bool
    public var detail: String
    public init(name: String = "", kind: String = "", tested: Bool = false, reachable: Bool = false, detail: String = "") {
        self.name = name
        self.kind = kind
        self.tested = tested
        self.reachable = reachable
        self.detail = detail
    }
}

public struct ListWarehousesResponse: Sendable, Hashable {
    public var warehouses: [WarehouseInfo]
    public init(warehouses: [WarehouseInfo] = []) { self.warehouses = warehouses }
}
