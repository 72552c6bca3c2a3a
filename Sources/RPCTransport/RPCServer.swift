public import Logging
public import NIOCore
import NIOPosix
public import RPCCall
public import RPCCore
import Synchronization

/// A listening socket that serves a `Router` over the framed protocol, with TLS unless told otherwise.
///
/// Pipeline per connection: `OpenSSLHandler` (absent in plaintext mode) → `IdleStateHandler` →
/// `RPCServerConnectionHandler`, which hands frames to the call layer (`ServerConnection`).
public final class RPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// nil serves plaintext; only the explicitly named insecure flag of `enrichd` gets here.
        public var tls: TLSContext?
        public var limits: Limits
        /// Where call counts and durations go; nil records nothing.
        public var metrics: (any CallMetrics)?

        public init(host: String, port: Int, tls: TLSContext?, limits: Limits, metrics: (any CallMetrics)? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
            self.metrics = metrics
        }
    }

    private let configuration: Configuration
    private let shared: ServerConnection<RPCServerConnectionHandler, ByteBuffer>.Shared
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = Mutex<(any Channel)?>(nil)
    /// Every open connection, so a drain reaches each one.
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    /// Each event loop's inline turns, shared by the connections on it.
    private let turns: [ObjectIdentifier: LoopTurns]

    public init(
        configuration: Configuration, router: Router, authenticator: any CallAuthenticator, group: any EventLoopGroup,
        logger: Logger
    ) {
        let limits = configuration.limits
        self.configuration = configuration
        self.shared = .init(
            router: router, authenticator: authenticator, limits: limits,
            pool: WorkPool(maxRunning: limits.poolRunners, maxQueued: limits.poolQueue),
            budget: ServerBudget(limit: limits.maxServerInFlightBytes), metrics: configuration.metrics, logger: logger
        )
        self.group = group
        self.logger = logger
        var turns: [ObjectIdentifier: LoopTurns] = [:]
        for loop in group.makeIterator() { turns[ObjectIdentifier(loop)] = LoopTurns(eventLoop: loop) }
        self.turns = turns
    }

    /// Connections open right now.
    public var connectionCount: Int { self.connections.withLock { $0.count } }

    /// The accepted connections' channels, for tests that check their socket options.
    package var openChannels: [any Channel] { self.connections.withLock { Array($0.values) } }

    /// The work pool's load, for health and tests.
    public var poolLoad: (running: Int, queued: Int) { self.shared.pool.load }

    /// Request bytes held by calls in flight across the server.
    public var inFlightBytes: Int { self.shared.budget.inFlight }

    /// Binds and starts accepting connections.
    /// - Returns: the bound address (useful with port 0).
    /// - Throws: the socket error when the address cannot be bound.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let configuration = self.configuration
        let outbound = configuration.limits.maxConnectionOutboundBytes
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // tcpOption, not socketOption: TCP_NODELAY at the SOL_SOCKET level is option 1, which is SO_DEBUG (a
            // privileged option: accepted connections were closed when the server did not run as root).
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // Past the high mark the channel is unwritable and the call layer stops reading the connection. The
            // mark is half the limit: what is already being answered when it is crossed (an answer, TLS records,
            // a read burst of requests) fits in the other half.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: outbound / 8, high: outbound / 2))
            .childChannelInitializer { [self] channel in self.initialize(channel: channel) }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        self.channel.withLock { $0 = channel }
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        self.logger.info("listening on \(address) (\(configuration.tls == nil ? "PLAINTEXT, INSECURE" : "TLS"))")
        return address
    }

    private func initialize(channel: any Channel) -> EventLoopFuture<Void> {
        let limits = self.configuration.limits
        let key = ObjectIdentifier(channel)
        let open = self.connections.withLock { connections in
            connections[key] = channel
            return connections.count
        }
        channel.closeFuture.whenComplete { [self] _ in _ = self.connections.withLock { $0.removeValue(forKey: key) } }
        var logger = self.logger
        if let peer = channel.remoteAddress { logger[metadataKey: "peer"] = "\(peer)" }
        guard open <= limits.maxConnections else {
            logger.warning("refusing connection: \(open - 1) connections open (limit \(limits.maxConnections))")
            return channel.close()
        }
        do {
            let sync = channel.pipeline.syncOperations
            if let tls = self.configuration.tls {
                try sync.addHandler(
                    OpenSSLHandler(context: tls, handshakeTimeout: limits.handshakeTimeout, logger: logger))
            }
            try sync.addHandler(IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)))
            // A loop outside the group (never, with ServerBootstrap) would get turns of its own.
            let turns = self.turns[ObjectIdentifier(channel.eventLoop)] ?? LoopTurns(eventLoop: channel.eventLoop)
            try sync.addHandler(RPCServerConnectionHandler(shared: self.shared, turns: turns))
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            logger.error("cannot set up connection: \(error)")
            return channel.close()
        }
    }

    /// Stops accepting and closes the listening socket. Open connections are left alone.
    public func stopAccepting() async {
        let channel = self.channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await channel?.close()
    }

    /// Drains the server: stops accepting, tells every connection it is going away (calls in flight finish, new
    /// calls are refused with the drain signal), waits up to `grace` for them to close, then answers what is
    /// left UNAVAILABLE and closes it.
    /// - Returns: the connections that were still open when the grace period ended.
    @discardableResult
    public func drain(grace: Duration) async -> Int {
        await self.stopAccepting()
        let open = self.connections.withLock { Array($0.values) }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(RPCServerConnectionHandler.LifecycleEvent.drain)
        }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline && self.connectionCount > 0 {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = self.connections.withLock { Array($0.values) }
        for channel in left {
            channel.pipeline.fireUserInboundEventTriggered(RPCServerConnectionHandler.LifecycleEvent.terminate)
        }
        for channel in left { try? await channel.closeFuture.get() }
        if !left.isEmpty {
            self.logger.warning("closed \(left.count) connection(s) whose calls outlived the \(grace) grace period")
        }
        return left.count
    }

    /// Stops accepting and closes every connection at once (calls in flight are answered UNAVAILABLE).
    public func stop() async throws {
        await self.drain(grace: .zero)
    }
}
