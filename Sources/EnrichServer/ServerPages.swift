import Catalog
import Dispatch
import ModelCache
import NIOCore
import NIOHTTP1
import Prometheus
import Services
import SyncEngine

/// The pages of the HTTP port (`HTTPEndpoint`) for this server.
final class ServerPages: OperatorPages {
    let registry: PrometheusCollectorRegistry
    let readinessState: Readiness
    let catalog: Catalog
    let cache: ModelCache
    let services: Services
    let group: any EventLoopGroup
    let startedAtMilliseconds: Int64
    let now: @Sendable () -> Int64

    init(
        registry: PrometheusCollectorRegistry, readiness: Readiness, catalog: Catalog, cache: ModelCache,
        services: Services,
        group: any EventLoopGroup, now: @escaping @Sendable () -> Int64
    ) {
        self.registry = registry
        self.readinessState = readiness
        self.catalog = catalog
        self.cache = cache
        self.services = services
        self.group = group
        self.now = now
        self.startedAtMilliseconds = now()
    }

    // MARK: - /metrics

    /// What each family measures and in which unit; the facade (swift-metrics) has no place for it, so it is added
    /// to the text as `# HELP` lines.
    static let help: [String: String] = [
        "enrich_rpc_requests_total": "Calls answered, by method and status code.",
        "enrich_rpc_duration_seconds": "Time from a call's request to its status, in seconds, by method.",
        "enrich_rpc_in_flight": "Calls in flight (requests without a status yet).",
        "enrich_loop_slice_max_seconds": "Longest time one inline slice held an event loop, in seconds.",
        "enrich_sync_runs_total": "Sync runs finished, by model and status.",
        "enrich_sync_duration_seconds": "Duration of sync runs, in seconds, by model.",
        "enrich_cache_rows": "Rows of the snapshot served, by model.",
        "enrich_cache_bytes": "Resident bytes of the snapshot served (columns, dictionaries, index), by model.",
        "enrich_model_age_seconds": "Seconds since the sync run of the snapshot served finished, by model.",
        "enrich_model_version": "The sync run id of the snapshot served, by model.",
        "enrich_destination_events_total":
            "Events enriched through a destination, by outcome. Process counters: they start at 0 when the server starts, as Prometheus counters do (rate() handles the reset).",
    ]

    func metrics() -> HTTPAnswer {
        var text = String(decoding: self.registry.emitToBuffer(), as: UTF8.self)
        text = Self.addingHelp(to: text)
        return HTTPAnswer(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(text.utf8))
    }

    /// The exposition with a `# HELP` line before each family's `# TYPE` line.
    static func addingHelp(to text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2_048)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).split(separator: " ").first.map(String.init) ?? ""
                if let help = Self.help[name] { out += "# HELP \(name) \(help)\n" }
            }
            out += line
            out += "\n"
        }
        if out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }

    // MARK: - /healthz, /readyz

    func liveness(on loop: any EventLoop) -> EventLoopFuture<HTTPAnswer> {
        // Every event loop must run a task within a second: a loop stuck in a call would not.
        let probes = self.group.makeIterator().map { other in
            other.submit {}.map { true }
        }
        let deadline = loop.scheduleTask(in: .seconds(1)) {}
        let answered = EventLoopFuture.whenAllComplete(probes, on: loop).map { results in
            results.allSatisfy { if case .success = $0 { true } else { false } }
        }
        let promise = loop.makePromise(of: HTTPAnswer.self)
        answered.whenSuccess { allAnswered in
            deadline.cancel()
            promise.succeed(
                allAnswered
                    ? .text(.ok, "ok\n") : .text(.serviceUnavailable, "an event loop did not answer\n"))
        }
        deadline.futureResult.whenSuccess {
            promise.succeed(.text(.serviceUnavailable, "an event loop did not answer within 1 s\n"))
        }
        return promise.futureResult
    }

    func readiness() -> HTTPAnswer {
        let report = self.readinessState.report
        var body = "{\"ready\":\(report.ready),\"reasons\":["
        body += report.reasons.map { LogLines.quoted($0) }.joined(separator: ",")
        body += "],\"checked_at\":\"\(LogLines.timestamp(milliseconds: report.checkedAtMilliseconds))\"}\n"
        return HTTPAnswer(
            status: report.ready ? .ok : .serviceUnavailable, contentType: "application/json", body: Array(body.utf8))
    }

    /// Why the server is not ready, worked out now (the monitor calls this once a second, off the loops).
    func check() -> [String] {
        var reasons: [String] = []
        do {
            for schedule in try self.catalog.schedules() where schedule.spec != "manual" {
                if self.cache.snapshot(of: schedule.model) == nil {
                    reasons.append("model \(schedule.model) (schedule \(schedule.spec)) has no snapshot loaded yet")
                }
            }
        } catch {
            reasons.append("the catalog cannot be read: \(error)")
        }
        return reasons
    }

    // MARK: - Status page

    struct ModelRow {
        var name: String
        var warehouse: String
        var source: String
        var rows: Int?
        var bytes: Int?
        var version: UInt64?
        var ageSeconds: Int64?
        var lastRun: SyncRunRecord?
    }

    /// The models with what is served and their last run, at most `limit` of them.
    func models(limit: Int = 500) throws -> [ModelRow] {
        var rows: [ModelRow] = []
        var after: String? = nil
        while rows.count < limit {
            let page = try self.catalog.listModels(after: after, limit: min(200, limit - rows.count))
            for model in page {
                let snapshot = self.cache.snapshot(of: model.name)
                var row = ModelRow(
                    name: model.name, warehouse: model.warehouse,
                    source: model.sourceTable.isEmpty ? "query" : model.sourceTable, rows: snapshot?.rowCount,
                    bytes: snapshot?.residentBytes, version: snapshot?.version)
                row.lastRun = try self.catalog.runs(model: model.name, limit: 1).first
                if let snapshot, let run = try? self.catalog.run(id: Int64(snapshot.version)) {
                    row.ageSeconds = (self.now() - (run.finishedAtMilliseconds ?? run.startedAtMilliseconds)) / 1_000
                }
                rows.append(row)
            }
            guard page.count == 200, let last = page.last else { break }
            after = last.name
        }
        return rows
    }

    func statusPage() -> HTTPAnswer {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>enrichd status</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
            table{border-collapse:collapse;margin:.5em 0 1.5em}
            th,td{border-bottom:1px solid #ddd;padding:.25em .75em;text-align:left}
            td.n{text-align:right;font-variant-numeric:tabular-nums}
            .ok{color:#176a2a}.bad{color:#a31515}
            </style></head><body>
            """
        let report = self.readinessState.report
        let uptime = (self.now() - self.startedAtMilliseconds) / 1_000
        html += "<h1>enrichd <span id=\"version\">\(Self.escape(Services.version))</span></h1>\n"
        html +=
            "<p>Up <span id=\"uptime\">\(Self.duration(uptime))</span> (since "
            + "\(Self.escape(LogLines.timestamp(milliseconds: self.startedAtMilliseconds)))). Ready: "
        html +=
            report.ready
            ? "<b id=\"ready\" class=\"ok\">yes</b>"
            : "<b id=\"ready\" class=\"bad\">no</b>: " + report.reasons.map(Self.escape).joined(separator: "; ")
        html += "</p>\n"
        do {
            let models = try self.models()
            html +=
                "<h2>Models</h2>\n<table id=\"models\"><tr><th>model</th><th>warehouse</th><th>source</th>"
                + "<th>rows</th><th>bytes</th><th>version</th><th>age</th><th>last run</th></tr>\n"
            for model in models {
                html += "<tr><td>\(Self.escape(model.name))</td><td>\(Self.escape(model.warehouse))</td>"
                html += "<td>\(Self.escape(model.source))</td>"
                html += "<td class=\"n\">\(model.rows.map(Self.grouped) ?? "not loaded")</td>"
                html += "<td class=\"n\">\(model.bytes.map(Self.grouped) ?? "-")</td>"
                html += "<td class=\"n\">\(model.version.map { String($0) } ?? "-")</td>"
                html += "<td>\(model.ageSeconds.map(Self.duration) ?? "-")</td><td>"
                if let run = model.lastRun {
                    let good = run.status == .success
                    html +=
                        "<span class=\"\(good ? "ok" : "bad")\">#\(run.id ?? 0) \(Self.escape(run.status.rawValue))</span>"
                    if let error = run.error { html += ": " + Self.escape(String(error.prefix(300))) }
                } else {
                    html += "never synced"
                }
                html += "</td></tr>\n"
            }
            html += "</table>\n"
            var failed: [SyncRunRecord] = []
            for model in models.prefix(200) {
                failed += try self.catalog.runs(model: model.name, limit: 10).filter {
                    $0.status != .success && $0.status != .inProgress
                }
            }
            failed.sort { $0.startedAtMilliseconds > $1.startedAtMilliseconds }
            html +=
                "<h2>Recent runs with errors</h2>\n<table id=\"failed-runs\"><tr><th>run</th><th>model</th><th>status</th>"
                + "<th>started</th><th>error</th></tr>\n"
            for run in failed.prefix(20) {
                html += "<tr><td class=\"n\">\(run.id ?? 0)</td><td>\(Self.escape(run.model))</td>"
                html += "<td class=\"bad\">\(Self.escape(run.status.rawValue))</td>"
                html += "<td>\(Self.escape(LogLines.timestamp(milliseconds: run.startedAtMilliseconds)))</td>"
                html += "<td>\(Self.escape(String((run.error ?? "").prefix(300))))</td></tr>\n"
            }
            if failed.isEmpty { html += "<tr><td colspan=\"5\">none</td></tr>\n" }
            html += "</table>\n"
            let destinations = try self.services.destinationStatistics()
            html +=
                "<h2>Destinations</h2>\n<table id=\"destinations\"><tr><th>destination</th><th>mappings</th>"
                + "<th>events</th><th>enriched</th><th>partially</th><th>not enriched</th><th>no mapping matched</th></tr>\n"
            for destination in destinations {
                html += "<tr><td>\(Self.escape(destination.name))</td><td class=\"n\">\(destination.mappings)</td>"
                for count in [
                    destination.events, destination.enriched, destination.partiallyEnriched, destination.notEnriched,
                    destination.unmatched,
                ] {
                    html += "<td class=\"n\">\(Self.grouped(Int(count)))</td>"
                }
                html += "</tr>\n"
            }
            if destinations.isEmpty { html += "<tr><td colspan=\"7\">none</td></tr>\n" }
            html += "</table>\n<p>Event counts are since this process started.</p>\n"
        } catch {
            html += "<p class=\"bad\" id=\"catalog-error\">The catalog cannot be read: \(Self.escape("\(error)"))</p>\n"
        }
        html += "</body></html>\n"
        return HTTPAnswer(status: .ok, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func grouped(_ number: Int) -> String {
        let digits = Array(String(number.magnitude))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return (number < 0 ? "-" : "") + out
    }

    static func duration(_ seconds: Int64) -> String {
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7_200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3_600) h" }
        return "\(seconds / 86_400) d"
    }
}
