import Logging
import RPCCore
import RPCMessages

// Pool and stream calls, backpressure and draining.

extension ServerConnection {
    // MARK: - Pool calls

    /// Starts a call on the work pool: a unary method's handler, or an inline job moved off the event loop.
    func startPool(
        id: UInt32, method: Router.Method, context: ServerContext, payload: Payload, bodyOffset: Int,
        job: (any InlineJob)? = nil
    ) {
        let started = ContinuousClock.now
        guard self.poolCalls < self.limits.maxPoolCallsPerConnection else {
            self.finish(
                id: id, method: method, started: started,
                status: Status(
                    code: .resourceExhausted,
                    message:
                        "too many calls waiting for the work pool on this connection (limit \(self.limits.maxPoolCallsPerConnection))"
                ))
            return
        }
        let serial = self.serial()
        let bound = ExecutorBound(self, executor: self.executor)
        let executor = self.executor
        let limits = self.limits.wire
        let deadline = context.deadline
        let handoff = Handoff(value: job)
        let handler = method.handler
        let isWrite = method.isWrite
        let work: @Sendable () async -> Void = {
            let result: Result<any MessageSerializer, any Error>
            if !isWrite && ContinuousClock.now >= deadline {
                result = .failure(RPCError(.deadlineExceeded, "deadline exceeded while waiting for the work pool"))
            } else if let job = handoff.value {
                // An offloaded inline job runs to its end here, the deadline checked between its steps.
                result = payload.withUnsafeReadableBytes { bytes in
                    let body = UnsafeRawBufferPointer(rebasing: bytes[bodyOffset...])
                    do throws(RPCError) {
                        while true {
                            if let response = try job.step(payload: body, until: deadline) { return .success(response) }
                            guard ContinuousClock.now < deadline else {
                                throw RPCError(.deadlineExceeded, "deadline exceeded")
                            }
                        }
                    } catch {
                        return .failure(error)
                    }
                }
            } else if case .pool(let prepare) = handler {
                let prepared = payload.withUnsafeReadableBytes { bytes in
                    Result { () throws(RPCError) in
                        try prepare(UnsafeRawBufferPointer(rebasing: bytes[bodyOffset...]), limits, context)
                    }
                }
                switch prepared {
                case .success(let run):
                    // The handler runs in a task of its own, so a deadline or a cancel can stop it and free the
                    // pool's runner.
                    let work = Task { try await run() }
                    executor.execute { bound.value.registerCancel(id: id, serial: serial) { work.cancel() } }
                    do { result = .success(try await work.value) } catch { result = .failure(error) }
                case .failure(let error):
                    result = .failure(error)
                }
            } else {
                preconditionFailure("pool call without a pool handler or a job")
            }
            executor.execute { bound.value.finishPool(id: id, serial: serial, result: result) }
        }
        self.track(
            id: id,
            Call(
                kind: .pool, serial: serial, method: method, payload: payload, bodyOffset: bodyOffset,
                deadline: deadline,
                started: started
            ))
        self.poolCalls += 1
        guard self.shared.pool.submit(work) else {
            self.end(
                id: id,
                status: Status(
                    code: .resourceExhausted,
                    message:
                        "the server's work pool is full (\(self.shared.pool.maxQueued) calls waiting); retry with backoff"
                ))
            return
        }
        // Reads are answered at the deadline; writes answer what happened, having checked it before committing.
        if !isWrite {
            self.calls[id]?.timer = self.executor.schedule(at: deadline) {
                bound.value.deadlinePassed(id: id, serial: serial)
            }
        }
    }

    private func finishPool(id: UInt32, serial: UInt64, result: Result<any MessageSerializer, any Error>) {
        guard let call = self.calls[id], call.serial == serial else { return }  // Answered already, or cancelled.
        switch result {
        case .success(let response):
            self.currentTransport?.writeMessage(id: id, response)
            self.end(id: id, status: .ok)
        case .failure(let error):
            var status = self.status(for: error, id: id)
            if status.code == .cancelled && ContinuousClock.now >= call.deadline {
                status = Status(code: .deadlineExceeded, message: "deadline exceeded")
            }
            self.end(id: id, status: status)
        }
        self.currentTransport?.flush()
    }

    func deadlinePassed(id: UInt32, serial: UInt64) {
        guard let call = self.calls[id], call.serial == serial else { return }
        self.end(id: id, status: Status(code: .deadlineExceeded, message: "deadline exceeded"))
        self.currentTransport?.flush()
    }

    // MARK: - Streams

    func startStream(
        id: UInt32, method: Router.Method, context: ServerContext, payload: Payload, bodyOffset: Int,
        token: UnsafeRawBufferPointer
    ) {
        let started = ContinuousClock.now
        guard self.streamCalls < self.limits.maxStreamsPerConnection else {
            self.finish(
                id: id, method: method, started: started,
                status: Status(
                    code: .resourceExhausted,
                    message: "too many streams open on this connection (limit \(self.limits.maxStreamsPerConnection))"
                ))
            return
        }
        guard case .stream(let handler) = method.handler else {
            preconditionFailure("stream method without a stream handler")
        }
        let serial = self.serial()
        let bound = ExecutorBound(self, executor: self.executor)
        let executor = self.executor
        let limits = self.limits.wire
        let writer = StreamWriter<AnyMessage> { message in
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                executor.execute { bound.value.streamWrite(id: id, serial: serial, message, continuation) }
            }
        }
        var call = Call(
            kind: .stream, serial: serial, method: method, payload: payload, bodyOffset: bodyOffset,
            deadline: context.deadline, started: started
        )
        call.token = Array(token)
        self.track(id: id, call)
        self.streamCalls += 1
        self.calls[id]?.task = Task {
            let result: Result<Void, any Error>
            // The request decodes on the task's thread, not the event loop.
            let prepared = payload.withUnsafeReadableBytes { bytes in
                Result { () throws(RPCError) in
                    try handler(UnsafeRawBufferPointer(rebasing: bytes[bodyOffset...]), limits, context, writer)
                }
            }
            switch prepared {
            case .success(let run):
                do {
                    try await run()
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
            case .failure(let error):
                result = .failure(error)
            }
            executor.execute { bound.value.finishStream(id: id, serial: serial, result: result) }
        }
        self.calls[id]?.timer = self.executor.schedule(
            at: min(context.deadline, started + self.limits.streamRevalidationInterval)
        ) {
            bound.value.revalidate(id: id, serial: serial)
        }
    }

    private func streamWrite(
        id: UInt32, serial: UInt64, _ message: any MessageSerializer,
        _ continuation: CheckedContinuation<Void, any Error>
    ) {
        guard let call = self.calls[id], call.serial == serial, let transport = self.currentTransport else {
            continuation.resume(throwing: CancellationError())
            return
        }
        transport.writeMessage(id: id, message)
        transport.flush()
        if transport.isWritable {
            continuation.resume()
        } else {
            // Resumed by `writabilityChanged` once the peer reads, or failed when the call ends.
            self.calls[id]?.pendingWrite = continuation
        }
    }

    private func finishStream(id: UInt32, serial: UInt64, result: Result<Void, any Error>) {
        guard let call = self.calls[id], call.serial == serial else { return }
        switch result {
        case .success: self.end(id: id, status: .ok)
        case .failure(let error):
            var status = self.status(for: error, id: id)
            if status.code == .cancelled && ContinuousClock.now >= call.deadline {
                status = Status(code: .deadlineExceeded, message: "deadline exceeded")
            }
            self.end(id: id, status: status)
        }
        self.currentTransport?.flush()
    }

    /// Re-checks a stream's token; ends the stream when it was revoked or has expired, or at its deadline.
    private func revalidate(id: UInt32, serial: UInt64) {
        guard let call = self.calls[id], call.serial == serial else { return }
        let now = ContinuousClock.now
        guard now < call.deadline else {
            self.end(id: id, status: Status(code: .deadlineExceeded, message: "deadline exceeded"))
            self.currentTransport?.flush()
            return
        }
        if case .roles = call.method.access {
            let checked: Result<AuthenticatedToken, RPCError> = call.token.withUnsafeBytes { token in
                do throws(RPCError) { return .success(try self.authenticate(token)) } catch { return .failure(error) }
            }
            if case .failure(let error) = checked {
                self.logger.info(
                    "ending \(call.method.descriptor.fullName): \(error.message)", metadata: ["request": "\(id)"])
                self.end(id: id, status: Self.status(error))
                self.currentTransport?.flush()
                return
            }
        }
        let bound = ExecutorBound(self, executor: self.executor)
        self.calls[id]?.timer = self.executor.schedule(
            at: min(call.deadline, now + self.limits.streamRevalidationInterval)
        ) {
            bound.value.revalidate(id: id, serial: serial)
        }
    }

    // MARK: - Backpressure

    /// The transport's outbound buffer crossed its limit one way or the other.
    public func writabilityChanged() {
        guard let transport = self.currentTransport else { return }
        if transport.isWritable {
            for id in Array(self.calls.keys) {
                if let waiting = self.calls[id]?.pendingWrite {
                    self.calls[id]?.pendingWrite = nil
                    waiting.resume()
                }
            }
        }
        self.updateReading()
    }

    /// Stops reading while the connection's output is over its limit, its calls hold more request bytes than
    /// `maxConnectionInFlightBytes`, or the server's hold more than `maxServerInFlightBytes`; resumes when all
    /// three are back under.
    func updateReading() {
        guard let transport = self.currentTransport else { return }
        let overServer = self.shared.budget.isOver
        let pause = !transport.isWritable || self.inFlightBytes > self.limits.maxConnectionInFlightBytes || overServer
        if overServer && self.budgetWaiter == nil {
            let bound = ExecutorBound(self, executor: self.executor)
            let executor = self.executor
            self.budgetWaiter = self.shared.budget.waitForRoom {
                executor.execute {
                    let connection = bound.value
                    connection.budgetWaiter = nil
                    connection.updateReading()
                }
            }
        }
        guard pause != self.readingPaused else { return }
        self.readingPaused = pause
        transport.setReadingPaused(pause)
    }

    // MARK: - Draining

    /// The server is going away: tell the client (a connection-level STATUS with `goAwayKey`), end streams,
    /// refuse new calls with UNAVAILABLE, and close once the calls in flight are answered.
    public func drain() {
        guard !self.draining, let transport = self.currentTransport else { return }
        self.draining = true
        transport.writeStatus(
            id: 0,
            Status(
                code: .unavailable,
                message: "the server is shutting down; calls in flight finish, new calls go to a new connection",
                metadata: Metadata([(Self.goAwayKey, "draining")])
            ))
        for (id, call) in self.calls {
            guard case .stream = call.kind else { continue }
            self.end(
                id: id,
                status: Status(
                    code: .unavailable, message: "the server is shutting down; watch again on a new connection",
                    metadata: Metadata([(Self.goAwayKey, "draining")])
                ))
        }
        transport.flush()
        if self.calls.isEmpty { self.closeAfterDrain() }
    }

    /// The grace period ended: every call still in flight is answered UNAVAILABLE, then the connection closes.
    public func terminate() {
        for id in Array(self.calls.keys) {
            self.end(
                id: id,
                status: Status(
                    code: .unavailable, message: "the server stopped before this call finished",
                    metadata: Metadata([(Self.goAwayKey, "stopped")])
                ))
        }
        self.currentTransport?.flush()
        self.close()
    }

    /// Closes a draining connection once it has been idle for `drainLinger`: a request the client sent before it
    /// read the drain signal still arrives and is answered (refused with the signal, so it is retried elsewhere)
    /// rather than lost to a close. Clients close drained connections themselves once their calls are answered;
    /// this is for those that do not.
    func closeAfterDrain() {
        self.currentTransport?.flush()
        self.lingerTimer?.cancel()
        let bound = ExecutorBound(self, executor: self.executor)
        self.lingerTimer = self.executor.schedule(at: .now + Self.drainLinger) {
            let connection = bound.value
            guard connection.calls.isEmpty else { return }  // A call arrived after all; its end re-arms this.
            connection.close()
        }
    }

    /// How long a draining, idle connection stays open for requests already on their way.
    static var drainLinger: Duration { .milliseconds(250) }
}
