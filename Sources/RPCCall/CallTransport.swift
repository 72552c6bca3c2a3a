public import RPCCore
public import RPCMessages

/// The thread a connection's calls run on (an event loop), as the call layer sees it.
public protocol CallExecutor: Sendable {
    /// Runs `work` on the executor, after what it is doing now (possibly before it next polls for I/O).
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Runs `work` on the executor after it has next polled for I/O, and at most one such piece of work per
    /// poll across every connection it serves: how inline jobs take turns, so a connection's I/O never waits
    /// behind more than one slice of somebody else's job.
    func executeAfterIO(_ work: @escaping @Sendable () -> Void)
    /// Runs `work` on the executor at `deadline`, unless cancelled first.
    func schedule(at deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () -> Void) -> any CallTimer
    /// Whether the caller is on the executor now.
    var inExecutor: Bool { get }
}

/// A scheduled piece of work that can be called off.
public protocol CallTimer: Sendable {
    func cancel()
}

/// A request's bytes as the transport holds them; kept alive (and shared, not copied) while the call runs.
public protocol RequestPayload: Sendable {
    /// Bytes of the payload.
    var readableBytes: Int { get }
    /// Calls `body` with the payload's bytes.
    func withUnsafeReadableBytes<T, ErrorType: Error>(
        _ body: (UnsafeRawBufferPointer) throws(ErrorType) -> T
    ) throws(ErrorType) -> T
}

/// One connection's side of the transport, as the call layer drives it. Every method is called on the
/// connection's executor only.
public protocol CallTransport: AnyObject, SendableMetatype {
    /// Appends a MESSAGE frame for call `id`.
    func writeMessage(id: UInt32, _ message: some MessageSerializer)
    /// Appends a STATUS frame for call `id` (0: the connection as a whole).
    func writeStatus(id: UInt32, _ status: Status)
    /// Sends what was appended.
    func flush()
    /// Stops or resumes reading from the peer (backpressure).
    func setReadingPaused(_ paused: Bool)
    /// Closes the connection after what was written is sent.
    func close()
    /// Whether the transport accepts more output without exceeding its outbound limit.
    var isWritable: Bool { get }
}

/// A value owned by one executor, passed through `Sendable` closures to get back to it. Accessing it elsewhere
/// is a programming error, caught in debug builds.
public struct ExecutorBound<Value>: @unchecked Sendable {
    private let storedValue: Value
    private let executor: any CallExecutor

    public init(_ value: Value, executor: any CallExecutor) {
        self.storedValue = value
        self.executor = executor
    }

    public var value: Value {
        assert(self.executor.inExecutor, "ExecutorBound value accessed off its executor")
        return self.storedValue
    }
}

/// Moves a value that only one thread uses at a time (an offloaded job) across an isolation boundary.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
}
