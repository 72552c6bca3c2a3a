package import ArgumentParser
package import EnrichClient
import Logging
package import Synchronization

#if canImport(Glibc)
    package import Glibc
#endif

/// Connection flags every command takes.
package struct ConnectionOptions: ParsableArguments {
    package init() {}

    @Option(help: "Server as host:port (env ENRICH_SERVER; default 127.0.0.1:7443).") package var server: String?
    @Option(help: "CA certificate (PEM) to verify the server (env ENRICH_CA_FILE; default certs/ca.pem).")
    package var caFile: String?
    @Option(help: "Name the server certificate must carry (default: the host).") package var serverName: String?
    @Option(help: "Client certificate (PEM) for a server that requires mutual TLS (env ENRICH_CLIENT_CERT).")
    package var clientCert: String?
    @Option(help: "Client key (PEM) for --client-cert (env ENRICH_CLIENT_KEY).") package var clientKey: String?
    @Option(help: "API token (env ENRICH_TOKEN). Prefer --token-file or a profile: flags show in `ps`.") package
        var token: String?
    @Option(help: "File holding the API token (env ENRICH_TOKEN_FILE), e.g. data/owner.token.") package var tokenFile:
        String?
    @Flag(help: "Connect without TLS, to a server run with --insecure-plaintext. INSECURE.") package
        var insecurePlaintext =
        false
    @Option(help: "Deadline for each call, in seconds.") package var timeout: Double = 30
    @Option(
        help: "Profile from the config file (env ENRICH_PROFILE; default \"default\"). See `enrichctl config --help`.")
    package var profile: String?
    @Flag(help: "Print JSON instead of tables (the same as --output json).") package var json = false
    @Option(
        name: [.customShort("o"), .long],
        help: "Output format: table (default), json, yaml, or csv (tables as CSV with a header row).")
    package var output: OutputFormat?

    /// Whether the command prints structured values (JSON, or YAML made from them) rather than tables.
    package var wantsJSON: Bool { self.json || self.output == .json || self.output == .yaml }

    /// The format asked for: --output, else --json, else table.
    package var format: OutputFormat { self.output ?? (self.json ? .json : .table) }
    @Flag(help: "On failure, also print the underlying error (OpenSSL's queue, socket errors) and transport logs.")
    package var verbose = false

    package static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// --token, then ENRICH_TOKEN, then the first line of --token-file / ENRICH_TOKEN_FILE / the profile's
    /// token_file.
    /// - Throws: `ClientProblem` when the file cannot be read (66) or holds no token (78).
    package func resolvedToken() throws -> String? {
        if let token = self.token ?? Self.environment("ENRICH_TOKEN") { return token }
        guard let path = try self.setting(self.tokenFile, "ENRICH_TOKEN_FILE", "token_file") else { return nil }
        let token = String(try readFile(path).split(separator: "\n").first ?? "").filter { !$0.isWhitespace }
        guard !token.isEmpty else {
            throw ClientProblem(
                message: "the token file '\(path)' is empty", detail: "", status: nil, exitCode: 78)
        }
        return token
    }

    /// A setting: the flag, else the environment variable, else the profile's entry.
    package func setting(_ flag: String?, _ variable: String, _ key: String) throws -> String? {
        if let flag { return flag }
        if let value = Self.environment(variable) { return value }
        return try Profiles.load(named: self.profile ?? Self.environment("ENRICH_PROFILE"))?[key]
    }

    /// The client configuration the flags, environment and profile describe.
    package func clientConfiguration() throws -> EnrichClient.Configuration {
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
        var configuration = EnrichClient.Configuration(
            host: host, port: port, security: security, serverName: self.serverName,
            defaultTimeout: .milliseconds(Int64(self.timeout * 1_000)))
        // The transport's own log lines would repeat the one line printed for a failure; --verbose shows them.
        configuration.logger.logLevel = self.verbose ? .debug : .critical
        return configuration
    }
}

/// Runs a command body against a connected client. Any failure (the server's answer, a transport or TLS
/// failure, an unreadable local file) is printed once as one plain line (with the underlying error under
/// --verbose) and the command exits with the sysexits code `ClientProblem` gives it.
package func withClient(
    _ options: ConnectionOptions, tool: String = "enrichctl", _ body: (EnrichClient) async throws -> Void
) async throws {
    OutputFormat.current.withLock { $0 = options.format }
    var configuration = try options.clientConfiguration()
    do {
        configuration.token = try options.resolvedToken()
        let client = try await EnrichClient.connect(configuration)
        defer { Task { await client.close() } }
        try await body(client)
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        throw ClientProblem(error, configuration: configuration, names: .commandLine).printed(
            by: tool, verbose: options.verbose)
    }
}

extension ClientProblem {
    /// Prints the problem as one line from `tool` (and, with `verbose`, the underlying error) and returns the exit
    /// code to throw.
    package func printed(by tool: String, verbose: Bool = false) -> ExitCode {
        printError("\(tool): \(self.message)")
        if verbose && self.detail != self.message { printError("  underlying error: \(self.detail)") }
        return ExitCode(self.exitCode)
    }
}

/// How a command prints its answer.
package enum OutputFormat: String, ExpressibleByArgument, Sendable, CaseIterable {
    case table, json, yaml, csv

    /// The format of the command running (one per process), set from its options before it connects.
    package static let current = Mutex(OutputFormat.table)

    /// The format of the command running.
    package static var selected: OutputFormat { Self.current.withLock { $0 } }
}

/// Runs local work before a command connects (reading a file it was given): a `ClientProblem` is printed as
/// one line and becomes its exit code, as `withClient` does for the calls.
package func reportingFailures<T>(tool: String = "enrichctl", _ body: () throws -> T) throws -> T {
    do { return try body() } catch let problem as ClientProblem { throw problem.printed(by: tool) }
}

package func printError(_ message: String) { writeStandardError(message + "\n") }

/// Writes to file descriptor 2 directly; the C `stderr` global is not concurrency-safe to touch from Swift 6.
package func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// Opens a local file for reading; a missing or unreadable one is a `ClientProblem` (exit 66, or 77 when not
/// permitted).
package func openLocalFile(_ path: String) throws(ClientProblem) -> UnsafeMutablePointer<FILE> {
    guard let file = fopen(path, "r") else {
        let code = errno
        throw ClientProblem(
            message: "cannot read '\(path)': \(String(cString: strerror(code)))", detail: "fopen: errno \(code)",
            status: nil, exitCode: code == EACCES ? 77 : 66)
    }
    return file
}

/// A local file's text (see `openLocalFile` for its errors).
package func readFile(_ path: String) throws -> String {
    let file = try openLocalFile(path)
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
