import ArgumentParser
import ClientCommandLine
import EnrichClient
import Histogram
import RPCTransport

#if canImport(Glibc)
    import Glibc
#endif

@main
struct EnrichLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrich-load",
        abstract: "Load-test an enrichd server with Lookup or Enrich calls (loopback only).",
        discussion: """
            Closed loop: `concurrency` calls in flight, spread over `connections` connections, until `requests` \
            calls are done or `duration` seconds pass, whichever comes first. Prints throughput and latency \
            percentiles from an HDR histogram.

            Example (100-key lookups of 8 columns against the 1M-row demo model):
              enrich-load --model products --key-format sku --key-max 1000000 --batch 100 \\
                --columns name,category,brand,price,in_stock,rating,weight_grams,created_at --requests 20000
            """
    )

    enum Method: String, ExpressibleByArgument { case lookup, enrich }
    enum KeyFormat: String, ExpressibleByArgument { case int, sku }
    enum Distribution: String, ExpressibleByArgument { case uniform, zipf }

    @OptionGroup(title: "Connection (as enrichctl: flags, then ENRICH_* variables, then the profile)")
    var connection: ConnectionOptions
    @Option(help: "lookup or enrich.") var method: Method = .lookup
    @Option(help: "Model to query.") var model = "products"
    @Option(help: "Keys per Lookup, or events per Enrich.") var batch = 100
    @Option(help: "Comma-separated columns (Lookup) or column=key pairs (Enrich).") var columns = ""
    @Option(help: "Event path of the key (Enrich).") var keyPath = "properties.sku"
    @Option(
        help:
            "Enrich through this destination's mappings (conditions, matches, enrichments, field mappings) instead of --columns/--key-path."
    )
    var destination = ""
    @Option(help: "int: keys 1...key-max; sku: SKU-0000001 style.") var keyFormat: KeyFormat = .sku
    @Option(help: "Largest key drawn (from 1...key-max).") var keyMax = 1_000_000
    @Option(help: "uniform, or zipf (a few hot keys, as real traffic has).") var distribution: Distribution = .uniform
    @Option(help: "Zipf exponent (with --distribution zipf).") var zipfExponent = 0.99
    @Option(
        help:
            "Open loop: calls per second in total, sent on schedule whether or not answers came back, with latency measured from the scheduled time (no coordinated omission). 0: closed loop."
    )
    var rate: Double = 0
    @Option(help: "Total calls to make (at most 10,000,000).") var requests = 10_000
    @Option(help: "Calls in flight at once (at most 4096).") var concurrency = 16
    @Option(help: "Connections to spread calls over (at most 64).") var connections = 2
    @Option(help: "Stop after this many seconds even if calls remain (at most 600).") var duration: Double = 60

    func validate() throws {
        guard (1...10_000_000).contains(self.requests) else { throw ValidationError("--requests must be 1...10000000") }
        guard (1...4_096).contains(self.concurrency) else { throw ValidationError("--concurrency must be 1...4096") }
        guard (1...64).contains(self.connections) else { throw ValidationError("--connections must be 1...64") }
        guard self.duration > 0 && self.duration <= 600 else { throw ValidationError("--duration must be in (0, 600]") }
        guard self.batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard self.rate >= 0 && self.rate <= 1_000_000 else { throw ValidationError("--rate must be 0...1000000") }
        guard (1...10_000_000).contains(self.keyMax) else { throw ValidationError("--key-max must be 1...10000000") }
        guard self.zipfExponent > 0 && self.zipfExponent <= 3 else {
            throw ValidationError("--zipf-exponent must be in (0, 3]")
        }
        let host = try self.connection.clientConfiguration().host
        guard host == "127.0.0.1" || host == "localhost" || host.hasPrefix("127.") || host == "[::1]" else {
            throw ValidationError("enrich-load only targets loopback addresses (127.0.0.0/8, localhost, [::1])")
        }
    }

    /// A Product Viewed track event around its SKU, assembled from bytes so building the load costs little.
    static let eventPrefix = Array(
        #"{"type":"track","event":"Product Viewed","userId":"u1","properties":{"sku":""#.utf8)
    static let eventSuffix = Array(#""}}"#.utf8)

    func key(_ number: Int) -> String {
        switch self.keyFormat {
        case .int: return String(number)
        case .sku:
            let digits = String(number)
            return "SKU-" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
        }
    }

    func run() async throws {
        var configuration = try self.connection.clientConfiguration()
        var clients: [EnrichClient] = []
        do {
            configuration.token = try self.connection.resolvedToken()
            for _ in 0..<self.connections { clients.append(try await EnrichClient.connect(configuration)) }
        } catch {
            // The same one line (and exit code) as enrichctl's for the same failure.
            throw ClientProblem(error, configuration: configuration, names: .commandLine).printed(
                by: "enrich-load", verbose: self.connection.verbose)
        }
        let columnList = self.columns.split(separator: ",").map(String.init)
        let enrichments = columnList.map { pair -> Enrichment in
            let pieces = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return Enrichment(column: pieces[0], key: pieces.count > 1 ? pieces[1] : "enriched.\(pieces[0])")
        }
        let zipf = self.distribution == .zipf ? ZipfTable(count: self.keyMax, exponent: self.zipfExponent) : nil
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(self.duration * 1_000))
        let start = clock.now
        let perWorker = (self.requests + self.concurrency - 1) / self.concurrency
        let results = try await withThrowingTaskGroup(of: WorkerResult.self) { group in
            for worker in 0..<self.concurrency {
                let client = clients[worker % clients.count]
                let count = min(perWorker, max(0, self.requests - worker * perWorker))
                let command = self
                // Open loop: worker w sends its i-th call at start + (i * concurrency + w) / rate.
                let schedule =
                    command.rate > 0
                    ? (
                        start: start, interval: Duration.seconds(Double(command.concurrency) / command.rate),
                        offset: Duration.seconds(Double(worker) / command.rate)
                    )
                    : nil
                group.addTask {
                    try await command.work(
                        client: client, count: count, seed: UInt64(worker + 1), deadline: deadline,
                        columns: columnList, enrichments: enrichments, zipf: zipf, schedule: schedule)
                }
            }
            var all: [WorkerResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let elapsed = clock.now - start
        for client in clients { await client.close() }
        self.report(results, elapsed: elapsed)
    }

    struct WorkerResult: Sendable {
        var latenciesMicroseconds: [UInt64] = []
        var items = 0
        var errors = 0
        var firstError: String?
        /// Failed calls by kind: "status CODE" (the server answered), "lost" (sent, the connection closed with no
        /// answer: must stay 0 against a server that drains), "not sent" (no connection to send it on).
        var failures: [String: Int] = [:]
        /// Events answered `enriched` (Enrich only): proof the load exercised the whole mapping.
        var enriched = 0
    }

    func work(
        client: EnrichClient, count: Int, seed: UInt64, deadline: ContinuousClock.Instant, columns: [String],
        enrichments: [Enrichment], zipf: ZipfTable?,
        schedule: (start: ContinuousClock.Instant, interval: Duration, offset: Duration)?
    ) async throws -> WorkerResult {
        var result = WorkerResult()
        result.latenciesMicroseconds.reserveCapacity(count)
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func random() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func next() -> Int {
            if let zipf { return zipf.sample(Double(random() >> 11) / Double(1 << 53)) }
            return Int(random() % UInt64(self.keyMax)) + 1
        }
        let clock = ContinuousClock()
        for call in 0..<count {
            if clock.now >= deadline { break }
            let keys = (0..<self.batch).map { _ in self.key(next()) }
            var started = clock.now
            if let schedule {
                // Latency counts from when the call was due, so a slow answer also charges the calls it delayed.
                let due = schedule.start + schedule.offset + schedule.interval * Double(call)
                if due > deadline { break }
                if due > started { try await Task.sleep(until: due, clock: .continuous) }
                started = due
            }
            do {
                switch self.method {
                case .lookup:
                    _ = try await client.lookup(model: self.model, stringKeys: keys, columns: columns)
                case .enrich:
                    let events = keys.map { key in Self.eventPrefix + key.utf8 + Self.eventSuffix }
                    let request =
                        self.destination.isEmpty
                        ? EnrichRequest(
                            model: self.model, keyPath: self.keyPath, enrichments: enrichments, events: events)
                        : EnrichRequest(events: events, destination: self.destination)
                    let counts = try await client.call(Methods.enrich, request, as: OutcomeCounts.self)
                    guard counts.events == events.count else {
                        throw RPCError(.dataLoss, "\(events.count) events sent, \(counts.events) answered")
                    }
                    result.enriched += counts.enriched
                }
                let latency = clock.now - started
                result.latenciesMicroseconds.append(
                    UInt64(latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000)
                )
                result.items += keys.count
            } catch {
                result.errors += 1
                if result.firstError == nil { result.firstError = "\(error)" }
                result.failures[Self.kind(of: error), default: 0] += 1
            }
        }
        return result
    }

    /// How a call failed, for the failure table.
    static func kind(of error: any Error) -> String {
        guard let error = error as? RPCError else { return "not sent" }
        switch error.metadata[RPCClientConnection.clientErrorKey] {
        case "lost": return "lost"
        case "not-sent": return "not sent"
        default: return "status \(error.code)"
        }
    }

    func report(_ results: [WorkerResult], elapsed: Duration) {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var calls = 0
        var items = 0
        var errors = 0
        var enriched = 0
        var firstError: String?
        var failures: [String: Int] = [:]
        for result in results {
            failures.merge(result.failures, uniquingKeysWith: +)
            enriched += result.enriched
            for latency in result.latenciesMicroseconds { _ = histogram.record(latency) }
            calls += result.latenciesMicroseconds.count
            items += result.items
            errors += result.errors
            firstError = firstError ?? result.firstError
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let callRate = Double(calls) / seconds
        let itemRate = Double(items) / seconds
        func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1_000 }
        let maxMs = Double(histogram.max) / 1_000
        let unit = self.method == .lookup ? "keys" : "events"
        if self.connection.wantsJSON {
            print(
                """
                {"method":"\(self.method.rawValue)","batch":\(self.batch),"concurrency":\(self.concurrency),\
                "connections":\(self.connections),"rate":\(fixed(self.rate, 1)),"distribution":"\(self.distribution.rawValue)",\
                "calls":\(calls),"errors":\(errors),"enriched":\(enriched),"seconds":\(fixed(seconds, 3)),\
                "calls_per_second":\(fixed(callRate, 1)),"\(unit)_per_second":\(fixed(itemRate, 1)),\
                "p50_ms":\(fixed(ms(50), 3)),"p90_ms":\(fixed(ms(90), 3)),"p99_ms":\(fixed(ms(99), 3)),\
                "p999_ms":\(fixed(ms(99.9), 3)),"max_ms":\(fixed(maxMs, 3)),"lost":\(failures["lost", default: 0]),\
                "failures":{\(failures.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ","))}}
                """)
        } else {
            let loop = self.rate > 0 ? "open loop at \(fixed(self.rate, 0)) calls/s" : "closed loop"
            print(
                "method \(self.method.rawValue), batch \(self.batch), concurrency \(self.concurrency), connections \(self.connections), \(loop), keys \(self.distribution.rawValue)"
            )
            print(
                "calls \(calls) (\(errors) errors) in \(fixed(seconds, 2)) s"
                    + (self.method == .enrich ? ", \(enriched) events enriched" : ""))
            print("throughput  \(fixed(callRate, 0)) calls/s  \(fixed(itemRate, 0)) \(unit)/s")
            print(
                "latency ms  p50 \(fixed(ms(50), 3))  p90 \(fixed(ms(90), 3))  p99 \(fixed(ms(99), 3))  p99.9 \(fixed(ms(99.9), 3))  max \(fixed(maxMs, 3))"
            )
        }
        if !self.connection.wantsJSON && !failures.isEmpty {
            print(
                "failures    "
                    + failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        }
        if let firstError, !self.connection.wantsJSON { print("first error: \(firstError)") }
    }
}

/// Formats with a fixed number of decimals, without Foundation.
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int64(scaled / scale)
    guard decimals > 0 else { return String(Int64(scaled)) }
    let fraction = Int64(abs(scaled - Double(whole) * scale))
    let text = String(fraction)
    return "\(whole).\(String(repeating: "0", count: max(0, decimals - text.count)))\(text)"
}

/// Zipf-distributed ranks 1...count (rank k has weight 1/k^s), sampled by binary search over the cumulative
/// weights, built once.
final class ZipfTable: Sendable {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var total = 0.0
        var cumulative = [Double](repeating: 0, count: count)
        for rank in 1...count {
            total += 1 / pow(Double(rank), exponent)
            cumulative[rank - 1] = total
        }
        self.cumulative = cumulative.map { $0 / total }
    }

    /// The rank for a uniform draw in [0, 1).
    func sample(_ uniform: Double) -> Int {
        var low = 0
        var high = self.cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if self.cumulative[middle] < uniform { low = middle + 1 } else { high = middle }
        }
        return low + 1
    }
}
