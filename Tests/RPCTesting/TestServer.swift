public import Logging
import NIOCore
import NIOPosix
public import RPCCore
public import RPCTransport

/// An `RPCServer` on 127.0.0.1 and a free port, for transport tests.
public final class TestServer: Sendable {
    public let server: RPCServer
    public let port: Int

    public static func start(
        registry: ServiceRegistry, limits: Limits = Limits(), tls: TLSContext?, logger: Logger = Logger(label: "test-server")
    ) async throws -> TestServer {
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, tls: tls, limits: limits), registry: registry,
            group: MultiThreadedEventLoopGroup.singleton, logger: logger
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
