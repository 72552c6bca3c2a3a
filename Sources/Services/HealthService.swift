import ModelCache
import RPCCall
import RPCCore
import RPCMessages

/// The Health RPC: answers as long as the server is serving.
struct HealthService: Sendable {
    let cache: ModelCache
    let version: String
    let limits: Limits

    func register(into registry: inout Router) {
        registry.inline(Methods.healthCheck, limits: self.limits.wire) { (_: HealthCheckRequest, _) throws(RPCError) in
            HealthCheckResponse(status: "SERVING", version: self.version, modelsLoaded: UInt64(self.cache.models.count))
        }
    }
}
