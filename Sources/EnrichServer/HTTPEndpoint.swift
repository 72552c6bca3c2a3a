import Dispatch
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Services

/// The operator's HTTP port, apart from the RPC port (`http_host`:`http_port`, default the RPC host and 9464):
///
///     GET /metrics   Prometheus text, every family with HELP and its unit
///     GET /healthz   200 while the process and every event loop answer (a loop that does not within a second
///                    makes it 503)
///     GET /readyz    200 {"ready":true} when ready for traffic; 503 {"ready":false,"reasons":[...]} when the
///                    catalog cannot be read, a scheduled model has no snapshot loaded, or the server is draining
///     GET /          the status page: models, recent failed runs, destinations, build and uptime (read only,
///                    no external assets, no secrets)
///
/// Anything else is 404, a method other than GET or HEAD 405. Each request is answered and the connection closed;
/// pages that read the catalog are rendered off the event loop.
final class HTTPEndpoint: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    static func start(
        host: String, port: Int, pages: any OperatorPages, group: any EventLoopGroup
    ) async throws -> HTTPEndpoint {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(OperatorHTTPHandler(pages: pages))
                }
            }
            .bind(host: host, port: port).get()
        return HTTPEndpoint(channel: channel)
    }

    var port: Int { self.channel.localAddress?.port ?? 0 }

    func stop() async { try? await self.channel.close() }
}

/// One HTTP answer.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]

    static func text(_ status: HTTPResponseStatus, _ text: String) -> HTTPAnswer {
        HTTPAnswer(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// What the HTTP port serves, worked out by the server.
protocol OperatorPages: Sendable {
    func metrics() -> HTTPAnswer
    /// Called on an event loop; must not block.
    func liveness(on loop: any EventLoop) -> EventLoopFuture<HTTPAnswer>
    func readiness() -> HTTPAnswer
    /// May block (catalog reads); called off the event loops.
    func statusPage() -> HTTPAnswer
}

final class OperatorHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let pages: any OperatorPages

    init(pages: any OperatorPages) { self.pages = pages }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = self.unwrapInboundIn(data) else { return }
        let path = String(request.uri.split(separator: "?", maxSplits: 1).first ?? "")
        let head = request.method == .HEAD
        let loop = context.eventLoop
        let answer: EventLoopFuture<HTTPAnswer>
        if request.method != .GET && !head {
            answer = loop.makeSucceededFuture(.text(.methodNotAllowed, "GET or HEAD only\n"))
        } else {
            switch path {
            case "/metrics": answer = loop.makeSucceededFuture(self.pages.metrics())
            case "/healthz": answer = self.pages.liveness(on: loop)
            case "/readyz": answer = loop.makeSucceededFuture(self.pages.readiness())
            case "/", "/index.html":
                let promise = loop.makePromise(of: HTTPAnswer.self)
                let pages = self.pages
                DispatchQueue.global().async { promise.succeed(pages.statusPage()) }
                answer = promise.futureResult
            default:
                answer = loop.makeSucceededFuture(.text(.notFound, "not found; try /, /metrics, /healthz or /readyz\n"))
            }
        }
        let channel = context.channel
        let version = request.version
        answer.whenSuccess { answer in
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.contentType)
            headers.add(name: "Content-Length", value: "\(answer.body.count)")
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Connection", value: "close")
            headers.add(name: "X-Content-Type-Options", value: "nosniff")
            if answer.contentType.hasPrefix("text/html") {
                // The page loads nothing from anywhere: no scripts, styles inline.
                headers.add(name: "Content-Security-Policy", value: "default-src 'none'; style-src 'unsafe-inline'")
            }
            channel.write(
                HTTPServerResponsePart.head(
                    HTTPResponseHead(version: version, status: answer.status, headers: headers)), promise: nil)
            if !head {
                var body = channel.allocator.buffer(capacity: answer.body.count)
                body.writeBytes(answer.body)
                channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
            }
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
