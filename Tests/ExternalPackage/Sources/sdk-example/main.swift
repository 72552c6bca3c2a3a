import EnrichClient

#if canImport(Glibc)
    import Glibc
#endif

// Where the server is, from the variables enrichctl reads (after Scripts/demo.sh: the defaults, and
// ENRICH_TOKEN=$(cat data/owner.token)).
func setting(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}
let address = setting("ENRICH_SERVER", "127.0.0.1:7443").split(separator: ":")
let configuration = EnrichClient.Configuration(
    host: String(address[0]), port: Int(address[1]) ?? 7443,
    security: .tls(caFile: setting("ENRICH_CA_FILE", "certs/ca.pem")), token: setting("ENRICH_TOKEN", ""),
    // A broken or drained connection is replaced on the next call: up to 6 tries, 50 ms doubling to 2 s.
    reconnectAttempts: 6, reconnectBackoff: .milliseconds(50), maxReconnectBackoff: .seconds(2))

do {
    let client = try await EnrichClient.connect(configuration)

    // Lookup: keys in, the columns asked for out; found[i] says whether key i has a row.
    let keys = ["SKU-0000001", "SKU-0000042", "SKU-9999999"]
    let rows = try await client.lookup(model: "products", stringKeys: keys, columns: ["name", "price"])
    for (index, key) in keys.enumerated() {
        let name = rows.columns[0].stringValues[index]
        print(key, rows.found[index] ? "\(name), \(rows.columns[1].doubleValues[index])" : "not found")
    }

    // Enrich: JSON events in; each comes back with the row's columns written at the keys given.
    let event = #"{"type":"track","event":"Product Viewed","properties":{"sku":"SKU-0000042"}}"#
    let enriched = try await client.enrich(
        model: "products", keyPath: "properties.sku",
        enrichments: [Enrichment(column: "name", key: "properties.name")], events: [Array(event.utf8)])
    print(enriched.events[0].outcome, String(decoding: enriched.events[0].event, as: UTF8.self))

    // Sync: start a run and follow it to its end.
    let run = try await client.triggerSync(model: "products")
    for try await state in client.watchSync(id: run.id) where state.status != .inProgress {
        print("run \(state.id): \(state.status), \(state.rowsRead) rows read")
    }
    await client.close()
} catch {
    // One plain line saying what is wrong and what to change, and a sysexits code.
    let problem = ClientProblem(error, configuration: configuration)
    print("sdk-example: \(problem.message)")
    exit(problem.exitCode)
}
