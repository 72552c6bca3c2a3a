import EnrichClient
import EventJSON
import Foundation
import RPCTesting
import Testing

/// Issue 17: the `enrichctl` binary as a user runs it, against a real server: output shapes, new commands, exit
/// codes and one-line errors.
@Suite("enrichctl as a user runs it")
struct EnrichctlTests {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// The built `enrichctl`, found beside the test runner (`.build/<triple>/debug`).
    static func binary(_ name: String) throws -> String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name])
    }

    /// Runs `enrichctl arguments` against `fixture` (connection from ENRICH_* variables), feeding `input`.
    static func run(
        _ fixture: ServerFixture?, _ arguments: [String], input: String = "", environment: [String: String] = [:]
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.binary("enrichctl"))
        process.arguments = arguments
        var variables = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"]
        if let fixture {
            variables["ENRICH_SERVER"] = "127.0.0.1:\(fixture.client.configuration.port)"
            variables["ENRICH_CA_FILE"] = fixture.directory.file("ca.pem")
            variables["ENRICH_TOKEN"] = ServerFixture.ownerToken
        }
        process.environment = variables.merging(environment) { _, new in new }
        let output = Pipe()
        let errors = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
                stdin.fileHandleForWriting.write(Data(input.utf8))
                try stdin.fileHandleForWriting.close()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        return Result(
            status: status,
            output: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            errors: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test("models list shows age and last sync; lookup --json nests columns under row with ISO 8601 timestamps")
    func modelsAndLookup() async throws {
        let fixture = try await ServerFixture.start(users: 20, products: 10)
        let client = fixture.client
        _ = try await client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        // Columns named like the fields around them.
        _ = try await client.createModel(
            CreateModelRequest(
                name: "clash", query: "SELECT id, email AS key, plan AS found, signup_at FROM users", primaryKey: "id"))
        let run = try await fixture.waitForRun(try await client.triggerSync(model: "users").id)
        _ = try await fixture.waitForRun(try await client.triggerSync(model: "clash").id)

        let list = try await Self.run(fixture, ["models", "list"])
        #expect(list.status == 0, "\(list.errors)")
        let lines = list.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("AGE") == true && lines.first?.contains("LAST SYNC") == true)
        #expect(lines.contains { $0.hasPrefix("users ") && $0.contains("success (run \(run.id))") }, "\(list.output)")

        let models = try JSONParser.parse(try await Self.run(fixture, ["models", "get", "users", "--json"]).output)
        #expect(models[path: JSONPath("served_run")!] == .int(Int64(run.id)))
        #expect(models[path: JSONPath("last_status")!] == .string("success"))

        let lookup = try await Self.run(fixture, ["lookup", "clash", "3", "999", "--json"])
        #expect(lookup.status == 0, "\(lookup.errors)")
        let rows = try JSONParser.parse(lookup.output)
        #expect(rows[path: JSONPath("0.key")!] == .string("3") && rows[path: JSONPath("0.found")!] == .bool(true))
        guard case .string(let email)? = rows[path: JSONPath("0.row.key")!] else {
            Issue.record("the 'key' column is missing: \(lookup.output)")
            return
        }
        #expect(email.contains("@"))
        guard case .string(let signup)? = rows[path: JSONPath("0.row.signup_at")!] else {
            Issue.record("no signup_at: \(lookup.output)")
            return
        }
        // 2023-11-22T16:02:54.000Z
        #expect(signup.count == 24 && signup.hasSuffix("Z") && signup.dropFirst(10).first == "T", "\(signup)")
        #expect(rows[path: JSONPath("1.found")!] == .bool(false) && rows[path: JSONPath("1.row")!] == .null)

        // -o csv: tables as CSV with a header row; -o yaml: the JSON shape as YAML.
        let csv = try await Self.run(fixture, ["models", "list", "-o", "csv"])
        #expect(csv.output.hasPrefix("name,warehouse,source,primary key,cached rows,age,last sync\n"), "\(csv.output)")
        #expect(csv.output.contains("\nusers,embedded,users,id,20,"), "\(csv.output)")
        let yaml = try await Self.run(fixture, ["lookup", "clash", "3", "--columns", "found", "-o", "yaml"])
        #expect(yaml.output.hasPrefix("---\n- key: \"3\"\n  found: true\n  row:\n    found: \""), "\(yaml.output)")
        await fixture.stop()
    }

    @Test(
        "sync errors lists rejected rows with key, reason and attempt; sync runs spans models; cancel of a finished run is refused with exit 65"
    )
    func syncCommands() async throws {
        let fixture = try await ServerFixture.start(users: 20, products: 10)
        let client = fixture.client
        _ = try await client.createModel(
            CreateModelRequest(
                name: "holes", query: "SELECT CASE WHEN id = 3 THEN NULL ELSE id END AS id, email FROM users",
                primaryKey: "id"))
        _ = try await client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        let first = try await fixture.waitForRun(try await client.triggerSync(model: "holes").id)
        #expect(first.status == .partialSuccess && first.rowsFailed == 1)
        let second = try await fixture.waitForRun(try await client.triggerSync(model: "users").id)

        let issues = try await client.runIssues(id: first.id)
        #expect(issues.rowsFailed == 1 && issues.issues.count == 1)
        #expect(issues.issues.first?.keyPresent == false && issues.issues.first?.rowNumber == 3)
        let errors = try await Self.run(fixture, ["sync", "errors", "\(first.id)"])
        #expect(errors.status == 0, "\(errors.errors)")
        #expect(errors.output.contains("(null)") && errors.output.contains("NULL"), "\(errors.output)")

        let runs = try await Self.run(fixture, ["sync", "runs", "--json"])
        let listed = try JSONParser.parse(runs.output)
        #expect(listed[path: JSONPath("0.id")!] == .int(Int64(second.id)))
        #expect(listed[path: JSONPath("1.model")!] == .string("holes"))

        let status = try await Self.run(fixture, ["sync", "status", "\(first.id)"])
        #expect(status.output.contains("enrichctl sync errors \(first.id)"), "\(status.output)")

        let cancel = try await Self.run(fixture, ["sync", "cancel", "\(second.id)"])
        #expect(cancel.status == 65)
        #expect(
            cancel.errors
                == "enrichctl: FAILED_PRECONDITION: run \(second.id) already finished (success); nothing to cancel\n")
        await fixture.stop()
    }

    @Test("enrich --event-file - reads NDJSON from stdin and answers NDJSON naming each input line")
    func eventsFromStdin() async throws {
        let fixture = try await ServerFixture.start(users: 20, products: 10)
        _ = try await fixture.client.createModel(CreateModelRequest(name: "users", table: "users", primaryKey: "id"))
        _ = try await fixture.waitForRun(try await fixture.client.triggerSync(model: "users").id)
        let result = try await Self.run(
            fixture,
            [
                "enrich", "users", "--key-path", "userId", "--enrich", "plan=traits.plan", "--event-file", "-",
                "--batch-size", "2", "--json",
            ], input: "{\"userId\":1}\n\n{\"userId\":2}\nnot json\n{\"userId\":99999}\n")
        #expect(result.status == 0, "\(result.errors)")
        let lines = try result.output.split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.map { $0[path: JSONPath("line")!] } == [.int(1), .int(3), .int(4), .int(5)])
        #expect(
            lines.map { $0[path: JSONPath("outcome")!] } == [
                .string("enriched"), .string("enriched"), .string("not enriched"), .string("not enriched"),
            ])
        #expect(lines[0][path: JSONPath("event.traits.plan")!] != nil)
        #expect(lines[2][path: JSONPath("reason")!] == .string("invalid event"))
        await fixture.stop()
    }

    @Test("Failures print one line and exit with the sysexits code: server down 69, missing file 66, bad token 77")
    func failures() async throws {
        let fixture = try await ServerFixture.start(users: 5, products: 5)
        // Port 1 on loopback: nothing listens there.
        let down = try await Self.run(fixture, ["health"], environment: ["ENRICH_SERVER": "127.0.0.1:1"])
        #expect(down.status == 69)
        #expect(
            down.errors
                == "enrichctl: nothing listens on 127.0.0.1:1 — is enrichd running? Check --server or ENRICH_SERVER\n")

        let missing = try await Self.run(fixture, ["destinations", "create", "d", "--file", "/nonexistent/m.json"])
        #expect(missing.status == 66)
        #expect(missing.errors == "enrichctl: cannot read '/nonexistent/m.json': No such file or directory\n")

        let wrong = try await Self.run(fixture, ["models", "list"], environment: ["ENRICH_TOKEN": "enr_nope"])
        #expect(wrong.status == 77 && wrong.errors == "enrichctl: UNAUTHENTICATED: unknown token\n")
        let verbose = try await Self.run(
            fixture, ["health", "--verbose"], environment: ["ENRICH_SERVER": "127.0.0.1:1"])
        #expect(verbose.errors.contains("underlying error") && verbose.errors.contains("refused"), "\(verbose.errors)")
        await fixture.stop()
    }
}
