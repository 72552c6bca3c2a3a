import Logging
import RPCTesting
import Testing

@testable import EnrichServer

/// Issue 16: settings from a TOML file, ENRICHD_* variables and flags; precedence and validation; log lines.
@Suite("Settings and log lines")
struct SettingsTests {
    static let directory = TemporaryDirectory()
    static let cert = directory.write("server.pem", "not checked here")
    static let key = directory.write("server-key.pem", "not checked here")

    static func settings(
        _ toml: String?, environment: [String: String] = [:], flags: [String: String] = [:]
    )
        throws(SettingsError) -> ServerSettings
    {
        let file = toml.map { Self.directory.write("enrichd-\(abs($0.hashValue)).toml", $0) }
        return try ServerSettings(file: file, environment: environment, flags: flags)
    }

    @Test("Precedence: flag over environment over file over default, each value reporting where it came from")
    func precedence() throws {
        let file = """
            port = 7000
            data_dir = "/srv/enrich"
            log_format = "json"
            tls_cert = "\(Self.cert)"
            tls_key = "\(Self.key)"
            [postgres]
            dw = "host=10.0.0.5 dbname=analytics"
            """
        let settings = try Self.settings(
            file, environment: ["ENRICHD_PORT": "7100", "ENRICHD_DATA_DIR": "/env/data"], flags: ["port": "7200"])
        #expect(settings.values["port"] == .init(text: "7200", source: .flag))
        #expect(settings.values["data_dir"] == .init(text: "/env/data", source: .environment))
        #expect(settings.values["log_format"] == .init(text: "json", source: .file))
        #expect(settings.values["host"] == .init(text: "127.0.0.1", source: .default))
        let configuration = try settings.configuration()
        #expect(configuration.port == 7200 && configuration.dataDirectory == "/env/data")
        #expect(configuration.postgresWarehouses == ["dw": "host=10.0.0.5 dbname=analytics"])
        #expect(configuration.tls?.certificateChain == Self.cert)
        #expect(
            settings.report.contains("port = \"7200\"  # flag")
                && settings.report.contains("data_dir = \"/env/data\"  # environment"))
        // Warehouses from the environment (lines or ;) replace the file's.
        let fromEnvironment = try Self.settings(file, environment: ["ENRICHD_POSTGRES": "a=host=x; b=host=y"])
        #expect(try fromEnvironment.configuration().postgresWarehouses == ["a": "host=x", "b": "host=y"])
    }

    @Test(
        "Every value is checked: unknown keys and variables, wrong types, ranges, choices, TLS without files, conflicts"
    )
    func validation() throws {
        let tls = "tls_cert = \"\(Self.cert)\"\ntls_key = \"\(Self.key)\"\n"
        let refused: [(String?, [String: String], [String: String], String)] = [
            ("prot = 1", [:], [:], "unknown setting 'prot'"),
            ("port = \"7443\"", [:], [:], "port must be an integer"),
            ("port = 70000", [:], [:], "must be an integer in 0...65535"),
            ("port = = 1", [:], [:], "line 3"),  // after the two TLS lines
            (nil, ["ENRICHD_PROT": "1"], [:], "unknown environment variable ENRICHD_PROT"),
            (nil, ["ENRICHD_THREADS": "0"], [:], "ENRICHD_THREADS must be an integer in 1...256"),
            (nil, [:], ["log_format": "xml"], "--log-format must be one of text, json"),
            (nil, [:], ["drain_grace_seconds": "nan"], "--drain-grace-seconds must be a number"),
            (nil, [:], ["metrics": "maybe"], "must be true or false"),
            ("[postgres]\nembedded = \"host=x\"", [:], [:], "reserved"),
            ("postgres = \"host=x\"", [:], [:], "must be a table"),
        ]
        for (file, environment, flags, message) in refused {
            do {
                _ = try Self.settings(file.map { tls + $0 }, environment: environment, flags: flags)
                Issue.record("accepted: \(String(describing: file)) \(environment) \(flags)")
            } catch {
                #expect(error.description.contains(message), "\(error) (wanted \(message))")
            }
        }
        // Cross-setting checks happen in configuration().
        let conflicts: [(String, String)] = [
            ("port = 1", "TLS needs tls_cert and tls_key"),
            ("insecure_plaintext = true\n" + tls, "insecure_plaintext cannot be combined"),
            ("tls_cert = \"/nonexistent.pem\"\ntls_key = \"\(Self.key)\"", "tls_cert /nonexistent.pem cannot be read"),
        ]
        for (file, message) in conflicts {
            do {
                _ = try Self.settings(file).configuration()
                Issue.record("accepted: \(file)")
            } catch {
                #expect(error.description.contains(message), "\(error) (wanted \(message))")
            }
        }
        do {
            _ = try ServerSettings(file: "/nonexistent/enrichd.toml", environment: [:], flags: [:])
            Issue.record("a missing configuration file was accepted")
        } catch {
            #expect(error.description.contains("cannot read the configuration file /nonexistent/enrichd.toml"))
        }
    }

    @Test("Log lines: UTC to the millisecond, text or one JSON object per line, metadata sorted, text escaped")
    func logLines() {
        let time: Int64 = 1_733_454_765_123  // 2024-12-06T03:12:45.123Z
        let text = LogLines(label: "enrichd", level: .info, format: .text)
            .line(
                level: .notice, message: "sync failed", metadata: ["run": "7", "model": "users"], source: "SyncEngine",
                time: time)
        #expect(text == "2024-12-06T03:12:45.123Z notice enrichd: model=users run=7 [SyncEngine] sync failed\n")
        let json = LogLines(label: "enrichd", level: .info, format: .json)
            .line(
                level: .error, message: "a \"quoted\"\nline", metadata: ["request": "3"], source: "RPCCall", time: time)
        #expect(
            json
                == #"{"time":"2024-12-06T03:12:45.123Z","level":"error","logger":"enrichd","source":"RPCCall","message":"a \"quoted\"\nline","request":"3"}"#
                + "\n")
        #expect(LogLines.timestamp(milliseconds: 5) == "1970-01-01T00:00:00.005Z")
    }
}
