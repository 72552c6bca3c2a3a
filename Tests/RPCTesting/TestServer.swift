public import Logging
import NIOCore
import NIOPosix
public import RPCCall
public import RPCCore
public import RPCTransport
import Synchronization

/// An `RPCServer` on 127.0.0.1 and a free port, for transport tests.
public final class TestServer: Sendable {
    public let server: RPCServer
    public let port: Int

    public static func start(
        router: Router, authenticator: any CallAuthenticator = TestAuthenticator(), limits: Limits = Limits(),
        tls: TLSContext?, logger: Logger = Logger(label: "test-server"), metrics: (any CallMetrics)? = nil
    ) async throws -> TestServer {
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, tls: tls, limits: limits, metrics: metrics), router: router,
            authenticator: authenticator, group: MultiThreadedEventLoopGroup.singleton, logger: logger
        )
        let address = try await server.start()
        return TestServer(server: server, port: address.port!)  // A bound socket has a port.
    }

    private init(server: RPCServer, port: Int) {
        self.server = server
        self.port = port
    }

    public func stop() async { try? await self.server.stop() }
}

