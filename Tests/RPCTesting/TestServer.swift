package import Logging
import NIOCore
import NIOPosix
package import RPCCall
package import RPCCore
package import RPCTransport
import Synchronization

/// An `RPCServer` on 127.0.0.1 and a free port, for transport tests.
package final class TestServer: Sendable {
    package let server: RPCServer
    package let port: Int

    package static func start(
        router: Router, authenticator: any CallAuthenticator = TestAuthenticator(), limits: Limits = Limits(),
        tls: TLSContext?, logger: Logger = Logger(label: "test-server"), metrics: (any CallMetrics)? = nil
    ) async throws -> TestServer {
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, tls: tls, limits: limits, metrics: metrics),
            router: router,
            authenticator: authenticator, group: MultiThreadedEventLoopGroup.singleton, logger: logger
        )
        let address = try await server.start()
        return TestServer(server: server, port: address.port!)  // A bound socket has a port.
    }

    private init(server: RPCServer, port: Int) {
        self.server = server
        self.port = port
    }

    package func stop() async { try? await self.server.stop() }
}
