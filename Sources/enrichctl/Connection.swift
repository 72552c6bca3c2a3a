import ArgumentParser
import EnrichClient

#if canImport(Glibc)
    import Glibc
#endif

/// Connection flags every command takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server as host:port (env ENRICH_SERVER; default 127.0.0.1:7443).") var server: String?
    @Option(help: "CA certificate (PEM) to verify the server (env ENRICH_CA_FILE; default certs/ca.pem).")
    var caFile: String?
    @Option(help: "Name the server certificate must carry (default: the host).") var serverName: String?
    @Option(help: "Client certificate (PEM) for a server that requires mutual TLS (env ENRICH_CLIENT_CERT).")
    var clientCert: String?
    @Option(help: "Client key (PEM) for --client-cert (env ENRICH_CLIENT_KEY).") var clientKey: String?
    @Option(help: "API token (env ENRICH_TOKEN). Prefer --token-file or a profile: flags show in `ps`.") var token:
        String?
    @Option(help: "File holding the API token (env ENRICH_TOKEN_FILE), e.g. data/owner.token.") var tokenFile: String?
    @Flag(help: "Connect without TLS, to a server run with --insecure-plaintext. INSECURE.") var insecurePlaintext =
        false
    @Option(help: "Deadline for each call, in seconds.") var timeout: Double = 30
    @Option(
        help: "Profile from the config file (env ENRICH_PROFILE; default \"default\"). See `enrichctl config --help`.")
    var profile: String?
    @Flag(help: "Print JSON instead of tables.") var json = false

    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// --token, then ENRICH_TOKEN, then the first line of --token-file / ENRICH_TOKEN_FILE.
    func resolvedToken() throws -> String? {
        if let token = self.token ?? Self.environment("ENRICH_TOKEN") { return token }
        guard let path = try self.setting(self.tokenFile, "ENRICH_TOKEN_FILE", "token_file") else { return nil }
        let text = try readFile(path)
        return String(text.split(separator: "\n").first ?? "").filter { !$0.isWhitespace }
    }

    /// A setting: the flag, else the environment variable, else the profile's entry.
    func setting(_ flag: String?, _ variable: String, _ key: String) throws -> String? {
        if let flag { return flag }
        if let value = Self.environment(variable) { return value }
        return try Profiles.load(named: self.profile ?? Self.environment("ENRICH_PROFILE"))?[key]
    }

    func connect() async throws -> EnrichClient {
        let server = try self.setting(self.server, "ENRICH_SERVER", "server") ?? "127.0.0.1:7443"
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be host:port, got '\(server)'")
        }
        let host = String(server[..<colon])
        let caFile = try self.setting(self.caFile, "ENRICH_CA_FILE", "ca_file") ?? "certs/ca.pem"
        var security: EnrichClient.Configuration.Security =
            self.insecurePlaintext ? .insecurePlaintext : .tls(caFile: caFile)
        if let certificate = try self.setting(self.clientCert, "ENRICH_CLIENT_CERT", "client_cert"),
            let key = try self.setting(self.clientKey, "ENRICH_CLIENT_KEY", "client_key"), !self.insecurePlaintext
        {
            security = .mutualTLS(caFile: caFile, certificateFile: certificate, keyFile: key)
        }
        do {
            return try await EnrichClient.connect(
                .init(
                    host: host, port: port, security: security, serverName: self.serverName,
                    token: try self.resolvedToken(), defaultTimeout: .milliseconds(Int64(self.timeout * 1_000))
                ))
        } catch {
            throw CommandFailure.unreachable("cannot connect to \(server): \(error)")
        }
    }
}

/// Failures mapped to the exit codes documented in `enrichctl --help`.
enum CommandFailure: Error, CustomStringConvertible {
    case unreachable(String)
    case server(RPCError)

    var description: String {
        switch self {
        case .unreachable(let message): message
        case .server(let error): "\(error.code): \(error.message)"
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .unreachable: ExitCode(69)
        case .server(let error):
            switch error.code {
            case .unauthenticated, .permissionDenied: ExitCode(77)
            case .unavailable: ExitCode(69)
            case .invalidArgument: ExitCode(64)
            default: ExitCode(1)
            }
        }
    }
}

/// Runs a command body against a connected client, turning errors into a message and an exit code.
func withClient(_ options: ConnectionOptions, _ body: (EnrichClient) async throws -> Void) async throws {
    do {
        let client = try await options.connect()
        defer { Task { await client.close() } }
        do {
            try await body(client)
        } catch let error as RPCError {
            throw CommandFailure.server(error)
        }
    } catch let failure as CommandFailure {
        printError("enrichctl: \(failure)")
        throw failure.exitCode
    }
}

func printError(_ message: String) { writeStandardError(message + "\n") }

/// Writes to file descriptor 2 directly; the C `stderr` global is not concurrency-safe to touch from Swift 6.
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
