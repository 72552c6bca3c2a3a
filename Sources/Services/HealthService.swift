import ModelCache
import RPCCall
import RPCCore
import RPCMessages

/// The Health RPC: SERVING when ready for traffic (`Readiness`, the same test as `/readyz`), NOT_SERVING with the
/// reasons otherwise. Answered inline from the last check, so it costs no catalog read.
struct HealthService: Sendable {
    let cache: ModelCache
    let version: String
    let limits: Limits
    let readiness: Readiness

    func register(into registry: inout Router) {
        registry.inline(Methods.healthCheck, limits: self.limits.wire) { (_: HealthCheckRequest, _) throws(RPCError) in
            let report = self.readiness.report
            return HealthCheckResponse(
                status: report.ready ? "SERVING" : "NOT_SERVING", version: self.version,
                modelsLoaded: UInt64(self.cache.models.count), reasons: report.reasons)
        }
    }
}
