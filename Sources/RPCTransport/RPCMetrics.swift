public import CoreMetrics
public import RPCCall
public import RPCCore
import Synchronization

/// The request metrics of one server, recorded through swift-metrics: calls by method and status, their
/// durations by method, the calls in flight, and the longest any one inline slice held an event loop. Handles
/// are made once per (method, status) on first use and kept in an array indexed by both, so recording a call
/// costs an index, a lock-free read after the first time, and the counter and timer updates.
public final class RPCMetrics: CallMetrics {
    private let factory: any MetricsFactory
    private let methodNames: [String]
    private let inFlight: Meter
    private let longestSlice: Gauge
    private let longestSliceNanoseconds = Atomic<Int64>(0)
    private static let codes = 17
    private let handles: Mutex<[(counter: CoreMetrics.Counter, timer: CoreMetrics.Timer)?]>

    /// - Parameter router: the methods calls are counted under (by their position in it).
    public init(factory: any MetricsFactory, router: Router) {
        self.factory = factory
        self.methodNames = router.methods.map(\.descriptor.fullName)
        self.inFlight = Meter(label: "enrich_rpc_in_flight", factory: factory)
        self.longestSlice = Gauge(label: "enrich_loop_slice_max_seconds", factory: factory)
        self.handles = Mutex(Array(repeating: nil, count: router.methods.count * (Self.codes + 1)))
    }

    public func callStarted(method: Int) { self.inFlight.increment() }

    public func callFinished(method: Int, code: StatusCode, nanoseconds: Int64) {
        self.inFlight.decrement()
        let slot = method * (Self.codes + 1) + min(Int(code.rawValue), Self.codes)
        let handle = self.handles.withLock { handles in
            if let existing = handles[slot] { return existing }
            let made = (
                counter: CoreMetrics.Counter(
                    label: "enrich_rpc_requests_total",
                    dimensions: [("method", self.methodNames[method]), ("code", code.description)],
                    factory: self.factory
                ),
                timer: CoreMetrics.Timer(
                    label: "enrich_rpc_duration_seconds", dimensions: [("method", self.methodNames[method])],
                    factory: self.factory)
            )
            handles[slot] = made
            return made
        }
        handle.counter.increment()
        handle.timer.recordNanoseconds(nanoseconds)
    }

    public func inlineSlice(nanoseconds: Int64) {
        var current = self.longestSliceNanoseconds.load(ordering: .relaxed)
        while nanoseconds > current {
            let (exchanged, original) = self.longestSliceNanoseconds.compareExchange(
                expected: current, desired: nanoseconds, ordering: .relaxed
            )
            if exchanged {
                self.longestSlice.record(Double(nanoseconds) / 1e9)
                return
            }
            current = original
        }
    }

    /// The longest inline slice seen so far, in nanoseconds.
    public var longestInlineSliceNanoseconds: Int64 { self.longestSliceNanoseconds.load(ordering: .relaxed) }
}
