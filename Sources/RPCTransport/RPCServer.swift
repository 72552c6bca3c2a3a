public import Logging
public import NIOCore
import NIOPosix
public import RPCCore
import Synchronization

/// A listening socket that serves a `ServiceRegistry` over the framed protocol, with TLS unless told otherwise.
///
/// Pipeline per connection: `OpenSSLHandler` (absent in plaintext mode) → `IdleStateHandler` →
/// `FramingHandler` → `RPCServerConnectionHandler`.
public final class RPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// nil serves plaintext; only the explicitly named insecure flag of `enrichd` gets here.
        public var tls: TLSContext?
        public var limits: Limits
        /// Where call counts and durations go; nil records nothing.
        public var metrics: RPCMetrics?

        public init(host: String, port: Int, tls: TLSContext?, limits: Limits, metrics: RPCMetrics? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
            self.metrics = metrics
        }
    }

    private let configuration: Configuration
    private let registry: ServiceRegistry
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = Mutex<(any Channel)?>(nil)
    private let openConnections = Atomic<Int>(0)

    public init(configuration: Configuration, registry: ServiceRegistry, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.group = group
        self.logger = logger
    }

    /// Connections open right now.
    public var connectionCount: Int { self.openConnections.load(ordering: .relaxed) }

    /// Binds and starts accepting connections.
    /// - Returns: the bound address (useful with port 0).
    /// - Throws: the socket error when the address cannot be bound.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let configuration = self.configuration
        let registry = self.registry
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                self.initialize(channel: channel, configuration: configuration, registry: registry, logger: logger)
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        self.channel.withLock { $0 = channel }
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        self.logger.info("listening on \(address) (\(configuration.tls == nil ? "PLAINTEXT, INSECURE" : "TLS"))")
        return address
    }

    private func initialize(
        channel: any Channel, configuration: Configuration, registry: ServiceRegistry, logger: Logger
    ) -> EventLoopFuture<Void> {
        let limits = configuration.limits
        let open = self.openConnections.add(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { [self] _ in _ = self.openConnections.subtract(1, ordering: .relaxed) }
        var logger = logger
        if let peer = channel.remoteAddress { logger[metadataKey: "peer"] = "\(peer)" }
        guard open <= limits.maxConnections else {
            logger.warning("refusing connection: \(open - 1) connections open (limit \(limits.maxConnections))")
            return channel.close()
        }
        do {
            let sync = channel.pipeline.syncOperations
            if let tls = configuration.tls {
                try sync.addHandler(OpenSSLHandler(context: tls, handshakeTimeout: limits.handshakeTimeout, logger: logger))
            }
            try sync.addHandler(IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)))
            try sync.addHandler(FramingHandler(
                maxPayloadBytes: limits.maxFramePayloadBytes, partialFrameTimeout: limits.partialFrameTimeout
            ))
            try sync.addHandler(RPCServerConnectionHandler(
                registry: registry, limits: limits, logger: logger, metrics: configuration.metrics
            ))
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            logger.error("cannot set up connection: \(error)")
            return channel.close()
        }
    }

    /// Stops accepting and closes the listening socket. Open connections finish on their own.
    public func stop() async throws {
        let channel = self.channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try await channel?.close()
    }
}
