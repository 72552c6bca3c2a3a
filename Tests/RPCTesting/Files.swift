#if canImport(Glibc)
    import Glibc
#endif

/// Reads a whole file as UTF-8 text; nil when it cannot be opened. Paths are relative to the working
/// directory, which `swift test` sets to the package root.
package func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
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
