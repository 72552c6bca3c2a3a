@_exported public import InProcessTransport
package import RPCCore
import RPCMessages

// The asynchronous helpers of the in-process transport, for tests (the fuzz binary uses the transport without
// them: the compiler crashes splitting these coroutines under -sanitize=fuzzer,address).
extension InProcessConnection {
    /// Runs scheduled work until `condition` holds or `timeout` passes (pool calls finish on other threads).
    @discardableResult
    package func run(timeout: Duration = .seconds(10), until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            self.runPending()
            if condition() { return true }
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Sends a call and waits for its status: the decoded message when OK, the status as an error otherwise.
    package func unary<Response: MessageDeserializer>(
        id: UInt32, method: MethodDescriptor, token: String? = nil, timeout: Duration? = nil,
        message: some MessageSerializer, as type: Response.Type = Response.self
    ) async throws -> Response {
        self.send(id: id, method: method, token: token, timeout: timeout, message: message)
        await self.run { self.status(of: id) != nil }
        guard let status = self.status(of: id) else { throw RPCError(.deadlineExceeded, "no answer in time") }
        guard status.code == .ok else { throw RPCError(status.code, status.message, metadata: status.metadata) }
        return try Response(serializedBytes: self.messages(of: id).last ?? [])
    }

}
