/// A model: a warehouse table or query plus its primary key, with introspected columns.
public struct Model: Sendable, Hashable {
    public var name: String
    public var warehouse: String
    public var table: String
    public var query: String
    public var primaryKey: String
    public var columns: [Column]
    public var createdAtMilliseconds: Int64
    public var version: UInt64
    public var cachedRows: UInt64

    public init(
        name: String = "", warehouse: String = "", table: String = "", query: String = "", primaryKey: String = "",
        columns: [Column] = [], createdAtMilliseconds: Int64 = 0, version: UInt64 = 0, cachedRows: UInt64 = 0
    ) {
        self.name = name
        self.warehouse = warehouse
        self.table = table
        self.query = query
        self.primaryKey = primaryKey
        self.columns = columns
        self.createdAtMilliseconds = createdAtMilliseconds
        self.version = version
        self.cachedRows = cachedRows
    }
}

public struct CreateModelRequest: Sendable, Hashable {
    public var name: String
    /// Empty means the server's embedded warehouse.
    public var warehouse: String
    public var table: String
    public var query: String
    public var primaryKey: String

    public init(name: String, warehouse: String = "", table: String = "", query: String = "", primaryKey: String) {
        self.name = name
        self.warehouse = warehouse
        self.table = table
        self.query = query
        self.primaryKey = primaryKey
    }
}

public struct GetModelRequest: Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct ListModelsRequest: Sendable, Hashable {
    public var pageSize: UInt32
    public var pageToken: String
    /// Only models whose name starts with this.
    public var namePrefix: String
    public init(pageSize: UInt32 = 0, pageToken: String = "", namePrefix: String = "") {
        self.pageSize = pageSize
        self.pageToken = pageToken
        self.namePrefix = namePrefix
    }
}

public struct ListModelsResponse: Sendable, Hashable {
    public var models: [Model]
    public var nextPageToken: String
    public init(models: [Model] = [], nextPageToken: String = "") {
        self.models = models
        self.nextPageToken = nextPageToken
    }
}

public struct HealthCheckRequest: Sendable, Hashable {
    public init() {}
}

public struct HealthCheckResponse: Sendable, Hashable {
    public var status: String
    public var version: String
    public var modelsLoaded: UInt64
    public init(status: String = "", version: String = "", modelsLoaded: UInt64 = 0) {
        self.status = status
        self.version = version
        self.modelsLoaded = modelsLoaded
    }
}
