import EnrichClient
import EnrichServer
import Logging
import NIOCore
import NIOPosix
import RPCTesting
import RPCTransport
import Testing

/// Issue 17: every failure a client can meet is one plain line naming the address or file and the setting to
/// change, with a sysexits code; no OpenSSL queue or NIO type in the line (those are in `detail`, for --verbose).
@Suite("Client errors: one plain line with the fix, and an exit code")
struct ClientErrorTests {
    /// What connecting with `configuration` and calling Health (or `call`) fails with, as a user is told it.
    static func problem(
        _ configuration: EnrichClient.Configuration,
        _ call: @Sendable (EnrichClient) async throws -> Void = { _ = try await $0.health() }
    ) async -> ClientProblem? {
        var configuration = configuration
        configuration.logger.logLevel = .critical
        do {
            let client = try await EnrichClient.connect(configuration)
            do {
                try await call(client)
            } catch {
                await client.close()
                throw error
            }
            await client.close()
            return nil
        } catch {
            return ClientProblem(error, configuration: configuration, names: .commandLine)
        }
    }

    static func expectPlain(_ problem: ClientProblem?, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let problem else {
            Issue.record("the call succeeded", sourceLocation: sourceLocation)
            return
        }
        #expect(!problem.message.contains("\n"), sourceLocation: sourceLocation)
        for fragment in ["error:0A", "SingleConnectionFailure", "NIOConnectionError", "IOError", "errno"] {
            #expect(!problem.message.contains(fragment), "\(problem.message)", sourceLocation: sourceLocation)
        }
        #expect(!problem.detail.isEmpty, sourceLocation: sourceLocation)
    }

    @Test("Nothing listening: 'nothing listens on ADDRESS — is enrichd running?', exit 69")
    func nothingListening() async throws {
        // A port that was just free: bound, then closed.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        let problem = await Self.problem(.init(host: "127.0.0.1", port: port, security: .insecurePlaintext))
        Self.expectPlain(problem)
        #expect(
            problem?.message
                == "nothing listens on 127.0.0.1:\(port) — is enrichd running? Check --server or ENRICH_SERVER"
        )
        #expect(problem?.exitCode == 69 && problem?.status == nil)
    }

    @Test("An unresolvable host: 'cannot resolve', exit 68")
    func unresolvable() async throws {
        let problem = await Self.problem(.init(host: "no-such-host.invalid", port: 7443, security: .insecurePlaintext))
        Self.expectPlain(problem)
        #expect(problem?.message == "cannot resolve 'no-such-host.invalid' — check --server or ENRICH_SERVER")
        #expect(problem?.exitCode == 68)
    }

    @Test(
        "TLS: a server certificate from another CA, the wrong name, a missing CA file, a server wanting a client certificate, a port that does not speak TLS"
    )
    func tlsFailures() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        let port = fixture.client.configuration.port
        let otherCA = fixture.directory.write("other-ca.pem", fixture.certificates.otherCA.certificatePEM)
        let untrusted = await Self.problem(.init(host: "127.0.0.1", port: port, security: .tls(caFile: otherCA)))
        Self.expectPlain(untrusted)
        #expect(
            untrusted?.message == "the server's certificate at 127.0.0.1:\(port) is not signed by \(otherCA) — pass "
                + "--ca-file or ENRICH_CA_FILE with the CA that signed it")
        #expect(untrusted?.exitCode == 78)
        #expect(untrusted?.detail.contains("certificate verify failed") == true)

        let ca = fixture.directory.file("ca.pem")
        let wrongName = await Self.problem(
            .init(host: "127.0.0.1", port: port, security: .tls(caFile: ca), serverName: "db.example"))
        Self.expectPlain(wrongName)
        #expect(
            wrongName?.message
                == "the server's certificate is not for 'db.example' — connect by a name it carries, or pass --server-name"
        )
        #expect(wrongName?.exitCode == 78)

        let missing = await Self.problem(
            .init(host: "127.0.0.1", port: port, security: .tls(caFile: "/nonexistent/ca.pem")))
        Self.expectPlain(missing)
        #expect(missing?.message == "cannot read the CA file '/nonexistent/ca.pem': no such file")
        #expect(missing?.exitCode == 66)

        // The HTTP port speaks HTTP, not TLS.
        let httpPort = try #require(fixture.server.metricsPort)
        let notTLS = await Self.problem(.init(host: "127.0.0.1", port: httpPort, security: .tls(caFile: ca)))
        Self.expectPlain(notTLS)
        #expect(notTLS?.message.hasPrefix("127.0.0.1:\(httpPort) ") == true, "\(notTLS?.message ?? "")")
        #expect(notTLS?.exitCode == 76 || notTLS?.exitCode == 69, "\(notTLS?.message ?? "")")

        // A plaintext client against the TLS port.
        let plaintext = await Self.problem(.init(host: "127.0.0.1", port: port, security: .insecurePlaintext))
        Self.expectPlain(plaintext)
        #expect(plaintext?.message.hasSuffix("if the server serves TLS, drop --insecure-plaintext") == true)
        await fixture.stop()

        let mutual = try await ServerFixture.start(users: 10, products: 10, requireClientCertificates: true)
        let noCertificate = await Self.problem(
            .init(
                host: "127.0.0.1", port: mutual.client.configuration.port,
                security: .tls(caFile: mutual.directory.file("ca.pem")), token: ServerFixture.ownerToken))
        Self.expectPlain(noCertificate)
        #expect(
            noCertificate?.message == "the server requires a client certificate — pass --client-cert and --client-key")
        #expect(noCertificate?.exitCode == 77)
        await mutual.stop()
    }

    @Test("Answers from the server keep their code and message; no token says which setting; exit codes by status")
    func serverAnswers() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        var configuration = EnrichClient.Configuration(
            host: "127.0.0.1", port: fixture.client.configuration.port,
            security: .tlsWithCAPEM(fixture.certificates.ca.certificatePEM))
        let noToken = await Self.problem(configuration) { _ = try await $0.listModels() }
        #expect(noToken?.message == "UNAUTHENTICATED: no token was given — pass --token-file or ENRICH_TOKEN_FILE")
        #expect(noToken?.exitCode == 77 && noToken?.status == .unauthenticated)

        configuration.token = "enr_wrong"
        let wrong = await Self.problem(configuration) { _ = try await $0.listModels() }
        #expect(wrong?.message == "UNAUTHENTICATED: unknown token" && wrong?.exitCode == 77)

        configuration.token = ServerFixture.ownerToken
        let missing = await Self.problem(configuration) { _ = try await $0.getModel("nope") }
        #expect(missing?.message == "NOT_FOUND: model 'nope' does not exist" && missing?.exitCode == 65)
        await fixture.stop()

        // sysexits: data errors 65, permission 77, unavailable 69, temporary 75, software 70.
        let table: [(StatusCode, Int32)] = [
            (.invalidArgument, 65), (.failedPrecondition, 65), (.notFound, 65), (.alreadyExists, 65), (.aborted, 65),
            (.outOfRange, 65), (.unauthenticated, 77), (.permissionDenied, 77), (.unavailable, 69),
            (.unimplemented, 69), (.deadlineExceeded, 75), (.resourceExhausted, 75), (.internalError, 70),
            (.unknown, 70), (.dataLoss, 70), (.cancelled, 1), (.ok, 0),
        ]
        for (code, exit) in table { #expect(ClientProblem.exitCode(code) == exit, "\(code)") }
    }
}

@Suite("The Swift SDK's README")
struct SDKReadmeTests {
    @Test("The README's example is, character for character, the example package Scripts/interop.sh runs")
    func exampleIsTheExamplePackage() throws {
        let readme = try #require(readTextFile("Sources/EnrichClient/README.md"))
        let example = try #require(readTextFile("Tests/ExternalPackage/Sources/sdk-example/main.swift"))
        let blocks = readme.split(separator: "```swift\n", omittingEmptySubsequences: false).dropFirst().map {
            String($0.split(separator: "```", maxSplits: 1, omittingEmptySubsequences: false)[0])
        }
        #expect(blocks.contains(example), "Sources/EnrichClient/README.md's example differs from sdk-example")
    }
}
