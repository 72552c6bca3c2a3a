import DequeModule
public import Logging
public import RPCCore
public import RPCMessages

#if canImport(Glibc)
    import Glibc
#endif

/// One connection's calls, between the transport (which frames bytes and moves them) and the services (which
/// answer). It owns, for every call: admission (ids, counts, the request header's limits), authentication and
/// authorization, where the work runs (`CostClass`), deadlines, status mapping, metrics, backpressure (bytes in
/// flight, the transport's writability) and draining.
///
/// Everything here runs on the connection's executor (an event loop); pool and stream tasks come back to it
/// through `ExecutorBound`. Nothing needs sockets: tests drive it through an in-process transport.
public final class ServerConnection<Transport: CallTransport, Payload: RequestPayload> {
    /// What the connection shares with every other connection of the server.
    public struct Shared: Sendable {
        public let router: Router
        public let authenticator: any CallAuthenticator
        public let limits: Limits
        public let pool: WorkPool
        public let budget: ServerBudget
        public let metrics: (any CallMetrics)?
        public let logger: Logger

        public init(
            router: Router, authenticator: any CallAuthenticator, limits: Limits, pool: WorkPool, budget: ServerBudget,
            metrics: (any CallMetrics)?, logger: Logger
        ) {
            self.router = router
            self.authenticator = authenticator
            self.limits = limits
            self.pool = pool
            self.budget = budget
            self.metrics = metrics
            self.logger = logger
        }
    }

    /// A call that outlives the frame that started it.
    struct Call {
        enum Kind {
            /// Waiting for its next slice on the event loop.
            case inline(any InlineJob)
            case pool
            case stream
        }

        var kind: Kind
        /// Tells a finishing task from a newer call that reused the id.
        let serial: UInt64
        let method: Router.Method
        let payload: Payload
        /// Where the message starts in the payload (after the header length and the header).
        let bodyOffset: Int
        let deadline: ContinuousClock.Instant
        let started: ContinuousClock.Instant
        var task: Task<Void, Never>?
        /// Cancels a pool call's handler (its task is made on the pool and registered here after).
        var cancelWork: (@Sendable () -> Void)?
        var timer: (any CallTimer)?
        /// A stream's write waiting for the transport to drain.
        var pendingWrite: CheckedContinuation<Void, any Error>?
        /// A stream's token, re-checked every `streamRevalidationInterval`.
        var token: [UInt8] = []
    }

    let shared: Shared
    let executor: any CallExecutor
    private var transport: Transport?
    let peer: String
    var logger: Logger

    var calls: [UInt32: Call] = [:]
    private var nextSerial: UInt64 = 0
    /// Inline jobs waiting for a slice, in arrival order.
    private var jobs = Deque<UInt32>()
    private var sliceScheduled = false
    var poolCalls = 0
    var streamCalls = 0
    /// Request bytes held by calls in flight on this connection.
    var inFlightBytes = 0
    var readingPaused = false
    var budgetWaiter: UInt64?
    var draining = false
    var lingerTimer: (any CallTimer)?
    private var authCache = AuthCache()
    /// The method of the previous request, to skip the name lookup when the next one asks for the same.
    private var lastMethod: Router.Method?
    private var longestSliceNanoseconds: Int64 = 0

    public init(shared: Shared, executor: any CallExecutor, transport: Transport, peer: String) {
        self.shared = shared
        self.executor = executor
        self.transport = transport
        self.peer = peer
        var logger = shared.logger
        logger[metadataKey: "peer"] = "\(peer)"
        self.logger = logger
    }

    var limits: Limits { self.shared.limits }

    /// Whether no call is in flight (an idle connection may be closed).
    public var isIdle: Bool { self.calls.isEmpty }

    // MARK: - Requests

    /// Admits and starts the call a REQUEST frame carries.
    public func receiveRequest(id: UInt32, payload: Payload) {
        guard let transport = self.transport else { return }
        if self.draining {
            transport.writeStatus(id: id, Self.goingAway(for: "this call"))
            if self.calls.isEmpty { self.closeAfterDrain() }  // Linger again: more may be on their way.
            return
        }
        guard id != 0 else {
            self.protocolViolation(
                "protocol error: request id 0 is reserved for connection-level STATUS frames; number calls from 1")
            return
        }
        guard self.calls[id] == nil else {
            self.protocolViolation("protocol error: request id \(id) is already in flight")
            return
        }
        guard self.calls.count < self.limits.maxInFlightRequestsPerConnection else {
            transport.writeStatus(
                id: id,
                Status(
                    code: .resourceExhausted,
                    message:
                        "too many requests in flight on this connection (limit \(self.limits.maxInFlightRequestsPerConnection))"
                ))
            return
        }
        let started = ContinuousClock.now
        payload.withUnsafeReadableBytes { bytes in
            do throws(RPCError) {
                let (header, bodyOffset) = try self.header(bytes)
                let method = try self.method(header.method.bytes(in: bytes))
                self.shared.metrics?.callStarted(method: method.index)
                let context: ServerContext
                do throws(RPCError) {
                    context = try self.context(id: id, header: header, method: method, bytes: bytes, started: started)
                } catch {
                    self.finish(id: id, method: method, started: started, status: Self.status(error))
                    return
                }
                let body = UnsafeRawBufferPointer(rebasing: bytes[bodyOffset...])
                switch method.cost {
                case .inline:
                    self.runInline(
                        id: id, method: method, context: context, payload: payload, bodyOffset: bodyOffset, body: body)
                case .pool:
                    self.startPool(id: id, method: method, context: context, payload: payload, bodyOffset: bodyOffset)
                case .stream:
                    self.startStream(
                        id: id, method: method, context: context, payload: payload, bodyOffset: bodyOffset,
                        token: Self.token(header.authorization.bytes(in: bytes))
                    )
                }
            } catch {
                // The header did not decode or named no method: no method to count it under.
                transport.writeStatus(id: id, Self.status(error))
            }
        }
    }

    /// The request's header and where its message starts.
    private func header(_ bytes: UnsafeRawBufferPointer) throws(RPCError) -> (RequestHeaderView, Int) {
        guard bytes.count >= 4 else {
            throw RPCError(.invalidArgument, "request payload is shorter than its 4-byte header length")
        }
        let length = Int(bytes.loadUnaligned(as: UInt32.self).bigEndian)
        guard length <= self.limits.maxRequestHeaderBytes else {
            throw RPCError(
                .invalidArgument,
                "request header of \(length) bytes exceeds the limit of \(self.limits.maxRequestHeaderBytes) bytes"
            )
        }
        guard length <= bytes.count - 4 else {
            throw RPCError(
                .invalidArgument, "request header length \(length) exceeds the \(bytes.count - 4) bytes that follow")
        }
        let view = try RequestHeaderView.decode(
            UnsafeRawBufferPointer(rebasing: bytes[4..<4 + length]), maxMetadataEntries: self.limits.maxMetadataEntries
        )
        // The view's spans are relative to the header; move them to the payload.
        var header = view
        header.method.start += 4
        header.authorization.start += 4
        for index in header.metadata.indices {
            header.metadata[index].key.start += 4
            header.metadata[index].value.start += 4
        }
        return (header, 4 + length)
    }

    private func method(_ name: UnsafeRawBufferPointer) throws(RPCError) -> Router.Method {
        if let last = self.lastMethod, last.nameBytes.withUnsafeBytes({ Self.same($0, name) }) { return last }
        guard let method = self.shared.router.method(nameBytes: name) else {
            throw RPCError(.unimplemented, "unknown method '\(String(decoding: name, as: UTF8.self))'")
        }
        self.lastMethod = method
        return method
    }

    @inline(__always)
    static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// The token after "Bearer " (empty when the header has none).
    static func token(_ authorization: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let prefix = 7  // "Bearer "
        guard authorization.count > prefix, authorization.starts(with: "Bearer ".utf8) else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(rebasing: authorization[prefix...])
    }

    /// Authenticates and authorizes the call, then makes its context.
    private func context(
        id: UInt32, header: RequestHeaderView, method: Router.Method, bytes: UnsafeRawBufferPointer,
        started: ContinuousClock.Instant
    ) throws(RPCError) -> ServerContext {
        var timeout =
            header.timeoutMilliseconds == 0
            ? self.limits.defaultDeadline : Duration.milliseconds(Int64(clamping: header.timeoutMilliseconds))
        if timeout > self.limits.maxDeadline { timeout = self.limits.maxDeadline }
        let metadata = header.metadata(in: bytes)
        guard case .roles(let allowed) = method.access else {
            return ServerContext(
                requestID: id, method: method.descriptor, principal: nil, metadata: metadata,
                deadline: started + timeout,
                peer: self.peer
            )
        }
        var caller: Principal?
        do throws(RPCError) {
            let principal = try self.authenticate(Self.token(header.authorization.bytes(in: bytes))).principal
            caller = principal
            guard allowed.contains(principal.roleBit) else {
                throw RPCError(.permissionDenied, "role \(principal.role) may not call \(method.descriptor.fullName)")
            }
        } catch {
            // The audit trail names the caller when the token was valid but its role is not allowed.
            let refused = ServerContext(
                requestID: id, method: method.descriptor, principal: caller, metadata: metadata,
                deadline: started + timeout,
                peer: self.peer
            )
            self.logger.info("refused \(method.descriptor.fullName): \(error.message)", metadata: ["request": "\(id)"])
            if method.isWrite { self.shared.authenticator.refused(refused, error: error) }
            throw error
        }
        return ServerContext(
            requestID: id, method: method.descriptor, principal: caller, metadata: metadata,
            deadline: started + timeout,
            peer: self.peer
        )
    }

    /// The token's caller, from the connection's cache when it holds the same token and nothing changed since.
    func authenticate(_ token: UnsafeRawBufferPointer) throws(RPCError) -> AuthenticatedToken {
        let authenticator = self.shared.authenticator
        let generation = authenticator.generation
        if let hit = self.authCache.hit(token, generation: generation, now: authenticator.nowMilliseconds) {
            return hit
        }
        let accepted = try authenticator.authenticate(token: token)
        self.authCache = AuthCache(token: Array(token), generation: generation, accepted: accepted)
        return accepted
    }

    // MARK: - Inline calls

    private func runInline(
        id: UInt32, method: Router.Method, context: ServerContext, payload: Payload, bodyOffset: Int,
        body: UnsafeRawBufferPointer
    ) {
        guard case .inline(let handler) = method.handler else {
            preconditionFailure("inline method without an inline handler")
        }
        let sliceStart = ContinuousClock.now
        guard sliceStart < context.deadline else {
            self.finish(
                id: id, method: method, started: sliceStart,
                status: Status(code: .deadlineExceeded, message: "deadline exceeded"))
            return
        }
        let outcome: InlineOutcome
        do throws(RPCError) { outcome = try handler(body, context) } catch {
            self.finish(id: id, method: method, started: sliceStart, status: Self.status(error))
            return
        }
        switch outcome {
        case .response(let response):
            self.transport?.writeMessage(id: id, response)
            self.finish(id: id, method: method, started: sliceStart, status: .ok)
        case .job(let job):
            let until = min(sliceStart + self.limits.inlineSliceBudget, context.deadline)
            // A large request may make a long first slice: time its CPU (two system calls, small against its work).
            let cpuStart = body.count > Self.cpuTimedRequestBytes ? Self.threadCPUNanoseconds() : nil
            let result: Result<(any MessageSerializer)?, RPCError>
            do throws(RPCError) { result = .success(try job.step(payload: body, until: until)) } catch {
                result = .failure(error)
            }
            self.recordSlice(since: sliceStart, cpuStart: cpuStart)
            switch result {
            case .success(let response?):
                self.transport?.writeMessage(id: id, response)
                self.finish(id: id, method: method, started: sliceStart, status: .ok)
            case .success(nil):
                guard ContinuousClock.now < context.deadline else {
                    self.finish(
                        id: id, method: method, started: sliceStart,
                        status: Status(code: .deadlineExceeded, message: "deadline exceeded"))
                    return
                }
                self.track(
                    id: id,
                    Call(
                        kind: .inline(job), serial: self.serial(), method: method, payload: payload,
                        bodyOffset: bodyOffset,
                        deadline: context.deadline, started: sliceStart
                    ))
                self.jobs.append(id)
                self.scheduleSlice()
            case .failure(let error):
                self.finish(id: id, method: method, started: sliceStart, status: Self.status(error))
            }
        case .offload(let job):
            self.startPool(id: id, method: method, context: context, payload: payload, bodyOffset: bodyOffset, job: job)
        }
    }

    private func scheduleSlice() {
        guard !self.sliceScheduled, !self.jobs.isEmpty else { return }
        self.sliceScheduled = true
        let bound = ExecutorBound(self, executor: self.executor)
        // After the loop polls for I/O, one slice per poll: other connections get their turn between slices.
        self.executor.executeAfterIO { bound.value.runSlice() }
    }

    /// Gives the next waiting job one slice, then queues it again if it is not done.
    private func runSlice() {
        self.sliceScheduled = false
        guard let id = self.jobs.popFirst(), let call = self.calls[id], case .inline(let job) = call.kind else {
            self.scheduleSlice()
            return
        }
        let sliceStart = ContinuousClock.now
        guard sliceStart < call.deadline else {
            self.end(id: id, status: Status(code: .deadlineExceeded, message: "deadline exceeded"))
            self.transport?.flush()
            self.scheduleSlice()
            return
        }
        let until = min(sliceStart + self.limits.inlineSliceBudget, call.deadline)
        // A job past its first slice is heavy by definition: its slices are timed by the thread's CPU clock.
        let cpuStart = Self.threadCPUNanoseconds()
        let result: Result<(any MessageSerializer)?, RPCError> = call.payload.withUnsafeReadableBytes { bytes in
            do throws(RPCError) {
                return .success(
                    try job.step(payload: UnsafeRawBufferPointer(rebasing: bytes[call.bodyOffset...]), until: until))
            } catch {
                return .failure(error)
            }
        }
        self.recordSlice(since: sliceStart, cpuStart: cpuStart)
        switch result {
        case .success(let response?):
            self.transport?.writeMessage(id: id, response)
            self.end(id: id, status: .ok)
            self.transport?.flush()
        case .success(nil):
            self.jobs.append(id)
        case .failure(let error):
            self.end(id: id, status: Self.status(error))
            self.transport?.flush()
        }
        self.scheduleSlice()
    }

    /// Requests larger than this have their first slice timed by the thread's CPU clock.
    static var cpuTimedRequestBytes: Int { 16 << 10 }

    /// The calling thread's CPU time (a system call on Linux: `CLOCK_THREAD_CPUTIME_ID` has no vDSO path).
    static func threadCPUNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Records how long a slice held the executor's thread. Slices that can be long (a large request's first, any
    /// later one) are timed by the thread's CPU clock, which is what the 2 ms bound is about: on a busy machine the
    /// kernel may preempt the thread mid-slice, and wall time would count that. Small requests' single slices are
    /// timed by the monotonic clock (a vDSO read), an upper bound of their CPU: the CPU clock is a system call,
    /// two per call, which cost batch-1 Lookups more than they measured.
    private func recordSlice(since start: ContinuousClock.Instant, cpuStart: Int64?) {
        let nanoseconds: Int64
        if let cpuStart {
            nanoseconds = Self.threadCPUNanoseconds() - cpuStart
        } else {
            let elapsed = ContinuousClock.now - start
            nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        }
        if nanoseconds > self.longestSliceNanoseconds {
            self.longestSliceNanoseconds = nanoseconds
            self.shared.metrics?.inlineSlice(nanoseconds: nanoseconds)
            let bound = self.limits.maxLoopHold
            if Duration.nanoseconds(nanoseconds) > bound {
                self.logger.warning(
                    "an inline slice held the event loop for \(nanoseconds / 1_000) µs (bound \(bound))")
            }
        }
    }

    // MARK: - Bookkeeping

    func serial() -> UInt64 {
        self.nextSerial += 1
        return self.nextSerial
    }

    /// Records a call that outlives its frame and counts its bytes.
    func track(id: UInt32, _ call: Call) {
        self.calls[id] = call
        let bytes = call.payload.readableBytes
        self.inFlightBytes += bytes
        self.shared.budget.reserve(bytes)
        self.updateReading()
    }

    /// Answers a call that was never tracked, and records it.
    func finish(id: UInt32, method: Router.Method, started: ContinuousClock.Instant, status: Status) {
        self.transport?.writeStatus(id: id, status)
        self.record(method: method, started: started, code: status.code)
    }

    /// Ends a tracked call with `status` (nil: no answer, the client gave up), releasing what it held.
    func end(id: UInt32, status: Status?) {
        guard let call = self.calls.removeValue(forKey: id) else { return }
        call.timer?.cancel()
        call.task?.cancel()
        call.cancelWork?()
        call.pendingWrite?.resume(throwing: CancellationError())
        switch call.kind {
        case .inline: break
        case .pool: self.poolCalls -= 1
        case .stream: self.streamCalls -= 1
        }
        let bytes = call.payload.readableBytes
        self.inFlightBytes -= bytes
        self.shared.budget.release(bytes)
        if let status { self.transport?.writeStatus(id: id, status) }
        self.record(method: call.method, started: call.started, code: status?.code ?? .cancelled)
        self.updateReading()
        if self.draining && self.calls.isEmpty { self.closeAfterDrain() }
    }

    private func record(method: Router.Method, started: ContinuousClock.Instant, code: StatusCode) {
        guard let metrics = self.shared.metrics else { return }
        let elapsed = ContinuousClock.now - started
        metrics.callFinished(
            method: method.index, code: code,
            nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        )
    }

    /// The status a failed call ends with. Only RPC errors and domain errors that map themselves reach the
    /// client; anything else is logged under the request id and reported as INTERNAL.
    static func status(_ error: RPCError) -> Status {
        Status(code: error.code, message: error.message, metadata: error.metadata)
    }

    func status(for error: any Error, id: UInt32) -> Status {
        switch error {
        case let error as RPCError:
            return Self.status(error)
        case let error as any RPCErrorConvertible:
            let rpc = error.rpcError
            guard rpc.code == .internalError else { return Self.status(rpc) }
            // A failure below the service (the catalog's storage, say): the client gets the request id, the log
            // gets the cause under it.
            self.logger.error("\(String(describing: error))", metadata: ["request": "\(id)"])
            return Status(code: .internalError, message: "\(rpc.message) (request \(id))", metadata: rpc.metadata)
        case is CancellationError:
            return Status(code: .cancelled, message: "call cancelled")
        default:
            self.logger.error("internal error: \(String(reflecting: error))", metadata: ["request": "\(id)"])
            return Status(code: .internalError, message: "internal error (request \(id))")
        }
    }

    /// The answer to a call the server will not run because it is going away; clients retry it elsewhere.
    static func goingAway(for what: String) -> Status {
        Status(
            code: .unavailable,
            message: "the server is shutting down and did not start \(what); retry on a new connection",
            metadata: Metadata([(Self.goAwayKey, "draining")])
        )
    }

    /// Metadata key of the drain signal (docs/PROTOCOL.md, "Draining").
    public static var goAwayKey: String { "enrich-goaway" }

    func protocolViolation(_ message: String) {
        guard let transport = self.transport else { return }
        self.logger.warning("closing connection: \(message)")
        transport.writeStatus(id: 0, Status(code: .invalidArgument, message: message))
        transport.flush()
        self.close()
    }

    func close() {
        guard let transport = self.transport else { return }
        transport.close()
    }

    var currentTransport: Transport? { self.transport }

    /// The transport went away: every call is cancelled and what they held is released.
    public func connectionClosed() {
        self.lingerTimer?.cancel()
        for id in Array(self.calls.keys) { self.end(id: id, status: nil) }
        if let waiter = self.budgetWaiter { self.shared.budget.withdraw(waiter) }
        self.budgetWaiter = nil
        self.transport = nil
    }

    /// The client no longer wants call `id`'s answer.
    public func receiveCancel(id: UInt32) {
        self.end(id: id, status: nil)
    }
}

@available(*, unavailable)
extension ServerConnection: Sendable {}

extension ServerConnection {
    /// Checks the header of a large request whose rest has not arrived: the method must exist and the caller be
    /// allowed to call it. Returns the refusal, or nil to go on buffering the frame.
    public func preview(header: Payload) -> Status? {
        header.withUnsafeReadableBytes { bytes -> Status? in
            do throws(RPCError) {
                let view = try RequestHeaderView.decode(bytes, maxMetadataEntries: self.limits.maxMetadataEntries)
                let method = try self.method(view.method.bytes(in: bytes))
                guard case .roles(let allowed) = method.access else { return nil }
                let principal = try self.authenticate(Self.token(view.authorization.bytes(in: bytes))).principal
                guard allowed.contains(principal.roleBit) else {
                    throw RPCError(
                        .permissionDenied, "role \(principal.role) may not call \(method.descriptor.fullName)")
                }
                return nil
            } catch {
                self.logger.info("refused a large request before reading it: \(error.message)")
                return Self.status(error)
            }
        }
    }
}

extension ServerConnection {
    /// Records how to cancel a pool call's handler; cancels it at once when the call already ended.
    func registerCancel(id: UInt32, serial: UInt64, _ cancel: @escaping @Sendable () -> Void) {
        guard let call = self.calls[id], call.serial == serial else {
            cancel()
            return
        }
        self.calls[id]?.cancelWork = cancel
    }
}
