package import Logging
package import RPCCall
package import RPCCore
package import RPCMessages
import Synchronization

/// The call layer without sockets: one `ServerConnection` driven directly, its answers collected in memory.
///
/// Everything the connection schedules (slices, finished pool calls, timers) waits in a queue the test runs on
/// its own thread with `runPending()`, so a test sees each step and counts the allocations of its thread. As
/// grpc-swift's in-process transport, it runs the real call layer: admission, authentication, cost classes,
/// deadlines, backpressure and draining.
package final class InProcessConnection: CallTransport, @unchecked Sendable {
    package typealias Connection = ServerConnection<InProcessConnection, InProcessPayload>

    /// One frame the server sent.
    package enum Output: Sendable, Equatable {
        case message(id: UInt32, bytes: [UInt8])
        case status(id: UInt32, Status)
    }

    private let executor: QueueExecutor
    package private(set) var connection: Connection!
    private let state = Mutex(State())

    struct State {
        var outputs: [Output] = []
        var unflushed: [Output] = []
        var writable = true
        var readingPaused = false
        var closed = false
        var flushes = 0
        /// When false, answers are serialized into `scratch` (reused) and only the last is kept.
        var recordsOutputs = true
        var scratch = SerializedBytes()
        var lastStatus: Status?
    }

    package init(
        router: Router, authenticator: any CallAuthenticator = TestAuthenticator(), limits: Limits = Limits(),
        pool: WorkPool? = nil, budget: ServerBudget? = nil, metrics: (any CallMetrics)? = nil,
        logger: Logger = Logger(label: "in-process")
    ) {
        self.executor = QueueExecutor()
        let shared = Connection.Shared(
            router: router, authenticator: authenticator, limits: limits,
            pool: pool ?? WorkPool(maxRunning: limits.poolRunners, maxQueued: limits.poolQueue),
            budget: budget ?? ServerBudget(limit: limits.maxServerInFlightBytes), metrics: metrics, logger: logger
        )
        self.connection = Connection(shared: shared, executor: self.executor, transport: self, peer: "in-process")
    }

    // MARK: - Client side

    /// The REQUEST payload for a call: header length, header, message.
    package static func payload(
        method: MethodDescriptor, token: String? = nil, timeout: Duration? = nil, metadata: Metadata = Metadata(),
        message: some MessageSerializer
    ) -> [UInt8] {
        var header = RequestHeader(method: method.fullName, metadata: metadata)
        if let token { header.authorization = "Bearer \(token)" }
        if let timeout {
            header.timeoutMilliseconds = UInt64(
                max(1, timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        }
        let headerBytes = header.serializedBytes()
        var payload: [UInt8] = []
        withUnsafeBytes(of: UInt32(headerBytes.count).bigEndian) { payload.append(contentsOf: $0) }
        payload += headerBytes
        payload += message.serializedBytes()
        return payload
    }

    /// Starts a call, on the caller's thread (as the event loop would).
    package func send(
        id: UInt32, method: MethodDescriptor, token: String? = nil, timeout: Duration? = nil,
        message: some MessageSerializer
    ) {
        self.send(id: id, payload: Self.payload(method: method, token: token, timeout: timeout, message: message))
    }

    /// Starts a call from raw payload bytes.
    package func send(id: UInt32, payload: [UInt8]) {
        self.state.withLock { $0.lastStatus = nil }
        self.connection.receiveRequest(id: id, payload: InProcessPayload(bytes: payload))
    }

    package func cancel(id: UInt32) { self.connection.receiveCancel(id: id) }

    /// The transport goes away, as a closed socket's does: calls are cancelled and the connection lets go of
    /// this transport (the two hold each other until then).
    package func shutdown() { self.connection.connectionClosed() }

    /// Runs what the connection scheduled (slices, finished pool calls, due timers) until nothing is left to run
    /// now.
    package func runPending() { self.executor.runPending() }

    /// Every frame the server sent so far, flushed or not.
    package var outputs: [Output] { self.state.withLock { $0.outputs + $0.unflushed } }

    /// The status call `id` ended with, if it has.
    package func status(of id: UInt32) -> Status? {
        for output in self.outputs { if case .status(id, let status) = output { return status } }
        return nil
    }

    /// The messages call `id` received.
    package func messages(of id: UInt32) -> [[UInt8]] {
        self.outputs.compactMap { if case .message(id, let bytes) = $0 { return bytes } else { return nil } }
    }

    /// Forgets the outputs collected so far (allocation tests reuse one connection).
    package func clearOutputs() {
        self.state.withLock { state in
            state.outputs.removeAll(keepingCapacity: true)
            state.unflushed.removeAll(keepingCapacity: true)
        }
    }

    /// Whether the transport accepts more output (a test plays a peer that stops reading).
    package var writable: Bool {
        get { self.state.withLock { $0.writable } }
        set {
            self.state.withLock { $0.writable = newValue }
            self.connection.writabilityChanged()
        }
    }

    package var readingPaused: Bool { self.state.withLock { $0.readingPaused } }
    package var isClosed: Bool { self.state.withLock { $0.closed } }
    package var flushCount: Int { self.state.withLock { $0.flushes } }

    // MARK: - CallTransport

    package func writeMessage(id: UInt32, _ message: some MessageSerializer) {
        self.state.withLock { state in
            guard state.recordsOutputs else {
                state.scratch.bytes.removeAll(keepingCapacity: true)
                message.serialize(into: &state.scratch)
                return
            }
            var bytes = SerializedBytes()
            message.serialize(into: &bytes)
            state.unflushed.append(.message(id: id, bytes: bytes.bytes))
        }
    }

    package func writeStatus(id: UInt32, _ status: Status) {
        self.state.withLock { state in
            guard state.recordsOutputs else {
                state.lastStatus = status
                return
            }
            state.unflushed.append(.status(id: id, status))
        }
    }

    /// Stops keeping every answer: each message is serialized into one reused buffer (`lastMessage`), each
    /// status replaces the last (`lastStatus`), so the transport itself allocates nothing per call.
    package func discardOutputs() { self.state.withLock { $0.recordsOutputs = false } }

    /// The last message serialized while discarding outputs.
    package var lastMessage: [UInt8] { self.state.withLock { $0.scratch.bytes } }

    /// The last status written while discarding outputs.
    package var lastStatus: Status? { self.state.withLock { $0.lastStatus } }

    package func flush() {
        self.state.withLock { state in
            state.outputs += state.unflushed
            state.unflushed.removeAll(keepingCapacity: true)
            state.flushes += 1
        }
    }

    package func setReadingPaused(_ paused: Bool) { self.state.withLock { $0.readingPaused = paused } }

    package func close() {
        self.flush()
        self.state.withLock { $0.closed = true }
    }

    package var isWritable: Bool { self.state.withLock { $0.writable } }
}

/// A request payload held in an array.
package struct InProcessPayload: RequestPayload {
    package let bytes: [UInt8]

    package var readableBytes: Int { self.bytes.count }

    package func withUnsafeReadableBytes<T, ErrorType: Error>(
        _ body: (UnsafeRawBufferPointer) throws(ErrorType) -> T
    ) throws(ErrorType) -> T {
        let result: Result<T, ErrorType> = self.bytes.withUnsafeBytes { bytes in
            do throws(ErrorType) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// An executor whose work waits until the test runs it, on the test's thread.
final class QueueExecutor: CallExecutor {
    private struct Pending {
        var work: [@Sendable () -> Void] = []
        var timers: [(at: ContinuousClock.Instant, id: Int, work: @Sendable () -> Void)] = []
        var nextTimer = 0
    }
    private let pending = Mutex(Pending())

    func execute(_ work: @escaping @Sendable () -> Void) { self.pending.withLock { $0.work.append(work) } }

    /// There is no I/O to poll in process: the work simply waits its turn.
    func executeAfterIO(_ work: @escaping @Sendable () -> Void) { self.execute(work) }

    func schedule(at deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () -> Void) -> any CallTimer {
        let id = self.pending.withLock { pending in
            pending.nextTimer += 1
            pending.timers.append((deadline, pending.nextTimer, work))
            return pending.nextTimer
        }
        return Timer(executor: self, id: id)
    }

    /// The test's thread is the executor.
    var inExecutor: Bool { true }

    func runPending() {
        while true {
            let now = ContinuousClock.now
            let next: (@Sendable () -> Void)? = self.pending.withLock { pending in
                if !pending.work.isEmpty { return pending.work.removeFirst() }
                if let index = pending.timers.firstIndex(where: { $0.at <= now }) {
                    return pending.timers.remove(at: index).work
                }
                return nil
            }
            guard let next else { return }
            next()
        }
    }

    struct Timer: CallTimer {
        let executor: QueueExecutor
        let id: Int
        /// A cancelled timer lets go of its work at once (the work holds the connection; a far deadline would
        /// keep both alive until it passed).
        func cancel() { self.executor.pending.withLock { $0.timers.removeAll { $0.id == self.id } } }
    }
}
