public import RPCCore

/// Every method the server serves, named as requests name them.
public enum Methods {
    public static let createModel = MethodDescriptor(service: "enrich.v1.Admin", method: "CreateModel")
    public static let getModel = MethodDescriptor(service: "enrich.v1.Admin", method: "GetModel")
    public static let listModels = MethodDescriptor(service: "enrich.v1.Admin", method: "ListModels")
    public static let updateModel = MethodDescriptor(service: "enrich.v1.Admin", method: "UpdateModel")
    public static let deleteModel = MethodDescriptor(service: "enrich.v1.Admin", method: "DeleteModel")
    public static let listAudit = MethodDescriptor(service: "enrich.v1.Admin", method: "ListAudit")
    public static let createDestination = MethodDescriptor(service: "enrich.v1.Admin", method: "CreateDestination")
    public static let getDestination = MethodDescriptor(service: "enrich.v1.Admin", method: "GetDestination")
    public static let listDestinations = MethodDescriptor(service: "enrich.v1.Admin", method: "ListDestinations")
    public static let updateDestination = MethodDescriptor(service: "enrich.v1.Admin", method: "UpdateDestination")
    public static let deleteDestination = MethodDescriptor(service: "enrich.v1.Admin", method: "DeleteDestination")
    public static let createToken = MethodDescriptor(service: "enrich.v1.Admin", method: "CreateToken")
    public static let listTokens = MethodDescriptor(service: "enrich.v1.Admin", method: "ListTokens")
    public static let revokeToken = MethodDescriptor(service: "enrich.v1.Admin", method: "RevokeToken")
    public static let testMapping = MethodDescriptor(service: "enrich.v1.Enrich", method: "TestMapping")
    public static let healthCheck = MethodDescriptor(service: "enrich.v1.Health", method: "Check")
    public static let triggerSync = MethodDescriptor(service: "enrich.v1.Sync", method: "TriggerSync")
    public static let getSyncRun = MethodDescriptor(service: "enrich.v1.Sync", method: "GetSyncRun")
    public static let listSyncRuns = MethodDescriptor(service: "enrich.v1.Sync", method: "ListSyncRuns")
    public static let watchSync = MethodDescriptor(service: "enrich.v1.Sync", method: "WatchSync")
    public static let setSchedule = MethodDescriptor(service: "enrich.v1.Sync", method: "SetSchedule")
    public static let listSchedules = MethodDescriptor(service: "enrich.v1.Sync", method: "ListSchedules")
    public static let lookup = MethodDescriptor(service: "enrich.v1.Enrich", method: "Lookup")
    public static let enrich = MethodDescriptor(service: "enrich.v1.Enrich", method: "Enrich")
}
