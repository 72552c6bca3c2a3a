import NIOCore
import NIOPosix
import RPCTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Any error an `EnrichClient` call can throw, said in one plain line with what to do about it, and the sysexits
/// code a command-line tool should exit with.
///
/// Transport failures (a refused connection, an untrusted certificate, a server that wants a client
/// certificate, a peer that does not speak TLS, a missing PEM file) become a sentence naming the address or the
/// file and the setting to change; an answer from the server keeps its status code and message. `detail` keeps
/// the underlying error (OpenSSL's error queue, NIO's connection errors) for `--verbose`.
///
/// ```swift
/// do { _ = try await client.health() } catch {
///     let problem = ClientProblem(error, configuration: client.configuration)
///     print(problem)                 // "nothing listens on 127.0.0.1:7443 — is enrichd running?"
///     exit(problem.exitCode)         // 69 (EX_UNAVAILABLE)
/// }
/// ```
public struct ClientProblem: Error, Sendable, CustomStringConvertible {
    /// Names of the settings a hint tells the user to change. The defaults are the SDK's; a command-line tool
    /// passes its flags.
    public struct SettingNames: Sendable {
        /// Where the server's address is set.
        public var server: String
        /// Where the CA file that verifies the server is set.
        public var caFile: String
        /// Where the name the server's certificate must carry is set.
        public var serverName: String
        /// Where the client certificate and key are set.
        public var clientCertificate: String
        /// Where the token is set.
        public var token: String
        /// Where TLS is turned off.
        public var insecurePlaintext: String

        /// Names for hints; the defaults are the SDK's configuration fields.
        public init(
            server: String = "Configuration.host and port", caFile: String = "Security.tls(caFile:)",
            serverName: String = "Configuration.serverName",
            clientCertificate: String = "Security.mutualTLS(caFile:certificateFile:keyFile:)",
            token: String = "Configuration.token", insecurePlaintext: String = "Security.insecurePlaintext"
        ) {
            self.server = server
            self.caFile = caFile
            self.serverName = serverName
            self.clientCertificate = clientCertificate
            self.token = token
            self.insecurePlaintext = insecurePlaintext
        }

        /// The names `enrichctl` and `enrich-load` use.
        public static let commandLine = SettingNames(
            server: "--server or ENRICH_SERVER", caFile: "--ca-file or ENRICH_CA_FILE", serverName: "--server-name",
            clientCertificate: "--client-cert and --client-key", token: "--token-file or ENRICH_TOKEN_FILE",
            insecurePlaintext: "--insecure-plaintext")
    }

    /// What went wrong, with the fix when there is one; one line.
    public let message: String
    /// The underlying error as the library reported it.
    public let detail: String
    /// The server's status code when the server answered; nil for transport and local failures.
    public let status: StatusCode?
    /// A sysexits(3) code: 64 usage, 65 data, 66 no input, 68 no host, 69 unavailable, 70 software, 75 temporary
    /// failure, 76 protocol, 77 permission, 78 configuration.
    public let exitCode: Int32

    /// The message.
    public var description: String { self.message }

    /// A problem of your own making (a tool's local failure), printed and exited the same way.
    public init(message: String, detail: String, status: StatusCode?, exitCode: Int32) {
        self.message = message
        self.detail = detail
        self.status = status
        self.exitCode = exitCode
    }

    /// Explains `error` for a client made with `configuration`.
    public init(
        _ error: any Error, configuration: EnrichClient.Configuration, names: SettingNames = SettingNames()
    ) {
        if let problem = error as? ClientProblem {
            self = problem
            return
        }
        let address = "\(configuration.host):\(configuration.port)"
        let detail = String(describing: error)
        func make(_ message: String, _ code: Int32, status: StatusCode? = nil) -> ClientProblem {
            ClientProblem(message: message, detail: detail, status: status, exitCode: code)
        }
        switch error {
        case let error as RPCError:
            self = Self.server(error, address: address, configuration: configuration, names: names, detail: detail)
        case let error as TLSError:
            self = Self.tls(error, address: address, configuration: configuration, names: names, detail: detail)
        case let error as NIOConnectionError:
            if error.connectionErrors.isEmpty {
                self = make("cannot resolve '\(configuration.host)' — check \(names.server)", 68)
            } else if let errno = error.connectionErrors.lazy.compactMap({ ($0.error as? IOError)?.errnoCode }).first {
                self = Self.socket(errno, address: address, names: names, detail: detail)
            } else if error.connectionErrors.contains(where: {
                if case ChannelError.connectTimeout = $0.error { return true } else { return false }
            }) {
                self = Self.timedOut(address: address, configuration: configuration, names: names, detail: detail)
            } else {
                self = make("cannot connect to \(address): \(error.connectionErrors.map { "\($0.error)" }[0])", 69)
            }
        case let error as IOError:
            self = Self.socket(error.errnoCode, address: address, names: names, detail: detail)
        case let error as ChannelError:
            if case .connectTimeout = error {
                self = Self.timedOut(address: address, configuration: configuration, names: names, detail: detail)
            } else {
                self = make("the connection to \(address) failed: \(error)", 69)
            }
        default:
            self = make("\(error)", 70)
        }
    }

    private static func timedOut(
        address: String, configuration: EnrichClient.Configuration, names: SettingNames, detail: String
    ) -> ClientProblem {
        ClientProblem(
            message: "no answer from \(address) within \(configuration.connectTimeout) — a firewall, or the wrong "
                + "address in \(names.server)?", detail: detail, status: nil, exitCode: 69)
    }

    private static func socket(_ errno: Int32, address: String, names: SettingNames, detail: String) -> ClientProblem {
        let message: String
        switch errno {
        case ECONNREFUSED: message = "nothing listens on \(address) — is enrichd running? Check \(names.server)"
        case EHOSTUNREACH, ENETUNREACH: message = "\(address) cannot be reached (no route to it)"
        case ECONNRESET, EPIPE: message = "\(address) closed the connection"
        case ETIMEDOUT: message = "no answer from \(address) — a firewall, or the wrong address?"
        default: message = "cannot connect to \(address): \(String(cString: strerror(errno)))"
        }
        return ClientProblem(message: message, detail: detail, status: nil, exitCode: 69)
    }

    private static func tls(
        _ error: TLSError, address: String, configuration: EnrichClient.Configuration, names: SettingNames,
        detail: String
    ) -> ClientProblem {
        func make(_ message: String, _ code: Int32) -> ClientProblem {
            ClientProblem(message: message, detail: detail, status: nil, exitCode: code)
        }
        var caFile: String?
        var hasClientCertificate = false
        switch configuration.security {
        case .tls(let file): caFile = file
        case .mutualTLS(let file, _, _):
            caFile = file
            hasClientCertificate = true
        case .tlsWithCAPEM, .insecurePlaintext: break
        }
        let trusted = caFile.map { "signed by \($0)" } ?? "signed by the CA given"
        switch error {
        case .configuration(let reason):
            // The files are named in the reason as "CA file 'x'", "certificate chain 'x'", "private key 'x'".
            let missing = reason.contains("No such file") || reason.contains("no such file")
            let what =
                reason.hasPrefix("CA file")
                ? "the CA file"
                : reason.hasPrefix("certificate chain")
                    ? "the client certificate"
                    : reason.hasPrefix("private key") ? "the client key" : "the TLS settings"
            let file =
                reason.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false).dropFirst().first
                .map { " '\($0)'" } ?? ""
            if missing { return make("cannot read \(what)\(file): no such file", 66) }
            if reason.contains("does not match") {
                return make("the client key does not match the client certificate", 78)
            }
            if reason.contains("Permission denied") { return make("cannot read \(what)\(file): permission denied", 77) }
            return make("\(what)\(file) is not usable PEM: \(Self.lastReason(reason))", 78)
        case .handshakeFailed(let reason), .protocolError(let reason):
            if reason.contains("certificate verify failed") {
                if reason.contains("hostname mismatch") || reason.contains("IP address mismatch") {
                    let name = configuration.serverName ?? configuration.host
                    return make(
                        "the server's certificate is not for '\(name)' — connect by a name it carries, or pass "
                            + "\(names.serverName)", 78)
                }
                if reason.contains("expired") {
                    return make("the server's certificate has expired (or this machine's clock is wrong)", 78)
                }
                if reason.contains("not yet valid") {
                    return make("the server's certificate is not valid yet (or this machine's clock is wrong)", 78)
                }
                return make(
                    "the server's certificate at \(address) is not \(trusted) — pass \(names.caFile) with the CA "
                        + "that signed it", 78)
            }
            if reason.contains("certificate required")
                || (!hasClientCertificate && reason.contains("handshake failure"))
            {
                return hasClientCertificate
                    ? make("the server did not accept the client certificate", 77)
                    : make("the server requires a client certificate — pass \(names.clientCertificate)", 77)
            }
            if reason.contains("unknown ca") || reason.contains("bad certificate")
                || reason.contains("certificate unknown")
            {
                return make(
                    "the server does not trust the client certificate (it is not signed by a CA the server was "
                        + "given with --client-ca)", 77)
            }
            if reason.contains("wrong version number") || reason.contains("packet length too long")
                || reason.contains("record layer failure") || reason.contains("http request")
            {
                return make(
                    "\(address) does not speak TLS — is it enrichd's RPC port? (\(names.insecurePlaintext) only for a "
                        + "server run with it)", 76)
            }
            return make("TLS with \(address) failed: \(Self.lastReason(reason))", 76)
        case .closedDuringHandshake:
            return make(
                "\(address) closed the connection during the TLS handshake — is it enrichd's RPC port, serving TLS?",
                76)
        case .handshakeTimeout:
            return make(
                "\(address) accepted the connection but did not finish the TLS handshake within "
                    + "\(configuration.connectTimeout) — is it enrichd's RPC port?", 69)
        }
    }

    private static func server(
        _ error: RPCError, address: String, configuration: EnrichClient.Configuration, names: SettingNames,
        detail: String
    ) -> ClientProblem {
        var message = "\(error.code): \(error.message)"
        switch error.code {
        case .unauthenticated where configuration.token == nil:
            message = "\(error.code): no token was given — pass \(names.token)"
        case .unavailable where !configuration.isTLS && error.message.contains("closed"):
            message += " — if the server serves TLS, drop \(names.insecurePlaintext)"
        default: break
        }
        return ClientProblem(message: message, detail: detail, status: error.code, exitCode: Self.exitCode(error.code))
    }

    /// The sysexits(3) code for a status the server answered with.
    public static func exitCode(_ code: StatusCode) -> Int32 {
        switch code {
        case .ok: 0
        case .invalidArgument, .failedPrecondition, .outOfRange, .notFound, .alreadyExists, .aborted: 65  // EX_DATAERR
        case .unauthenticated, .permissionDenied: 77  // EX_NOPERM
        case .unavailable, .unimplemented: 69  // EX_UNAVAILABLE
        case .deadlineExceeded, .resourceExhausted: 75  // EX_TEMPFAIL
        case .internalError, .unknown, .dataLoss: 70  // EX_SOFTWARE
        default: 1  // CANCELLED, and codes this client does not know
        }
    }

    /// The last reason in an OpenSSL queue ("error:0A000086:SSL routines::certificate verify failed" → the text).
    private static func lastReason(_ reason: String) -> String {
        let last = reason.split(separator: ";").last.map(String.init) ?? reason
        let characters = Array(last)
        for index in characters.indices.dropLast() where characters[index] == ":" && characters[index + 1] == ":" {
            return String(characters[(index + 2)...])
        }
        return last
    }
}

extension EnrichClient.Configuration {
    var isTLS: Bool {
        if case .insecurePlaintext = self.security { return false }
        return true
    }
}
