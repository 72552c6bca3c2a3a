import ModelCache
import RPCCore
import RPCMessages

/// The Health RPC: answers as long as the server is serving.
struct HealthService: Sendable {
    let cache: ModelCache
    let version: String

    func register(into registry: inout ServiceRegistry) {
        registry.inline(Methods.healthCheck) { (_: HealthCheckRequest, _) in
            HealthCheckResponse(status: "SERVING", version: self.version, modelsLoaded: UInt64(self.cache.models.count))
        }
    }
}
