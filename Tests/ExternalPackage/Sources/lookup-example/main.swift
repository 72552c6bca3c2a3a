import EnrichClient

#if canImport(Glibc)
    import Glibc
#endif

// Looks up keys in a model: `lookup-example HOST PORT CA_FILE TOKEN MODEL KEY...`.
let arguments = CommandLine.arguments
guard arguments.count >= 7, let port = Int(arguments[2]) else {
    print("usage: lookup-example HOST PORT CA_FILE TOKEN MODEL KEY...")
    exit(64)
}
let client = try await EnrichClient.connect(
    .init(
        host: arguments[1], port: port, security: .tls(caFile: arguments[3]), token: arguments[4]
    ))
let response = try await client.lookup(model: arguments[5], stringKeys: Array(arguments[6...]))
for (index, found) in response.found.enumerated() {
    print(arguments[6 + index], found ? "found" : "not found")
}
await client.close()
