public import CoreMetrics
import Synchronization

/// The request metrics of one server, recorded through swift-metrics: calls by method and status, their
/// durations by method, and the calls in flight. Handles are made once per (method, status) and reused, so the
/// per-call cost is a lock-protected lookup and two atomic updates.
public final class RPCMetrics: Sendable {
    private let factory: any MetricsFactory
    private let inFlight: Meter
    private let handles = Mutex<[String: (counter: CoreMetrics.Counter, timer: CoreMetrics.Timer)]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.inFlight = Meter(label: "enrich_rpc_in_flight", factory: factory)
    }

    func started() { self.inFlight.increment() }

    func finished(method: String, code: UInt32, nanoseconds: Int64) {
        self.inFlight.decrement()
        let key = "\(method)|\(code)"
        let handle = self.handles.withLock { handles in
            if let existing = handles[key] { return existing }
            let status = StatusCodeName.name(code)
            let made = (
                counter: CoreMetrics.Counter(
                    label: "enrich_rpc_requests_total", dimensions: [("method", method), ("code", status)], factory: self.factory
                ),
                timer: CoreMetrics.Timer(label: "enrich_rpc_duration", dimensions: [("method", method)], factory: self.factory)
            )
            handles[key] = made
            return made
        }
        handle.counter.increment()
        handle.timer.recordNanoseconds(nanoseconds)
    }
}

/// Status names for metric labels, without depending on RPCCore's description in the hot path.
enum StatusCodeName {
    static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    static func name(_ code: UInt32) -> String { Int(code) < Self.names.count ? Self.names[Int(code)] : "CODE_\(code)" }
}
