#if canImport(Glibc)
    import Glibc
#endif

#if FUZZING

    nonisolated(unsafe) var selected: Target = .json

    @_cdecl("LLVMFuzzerInitialize")
    public func initialize(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
    ) -> CInt {
        guard let name = getenv("ENRICH_FUZZ_TARGET").map({ String(cString: $0) }), let target = Target(rawValue: name)
        else {
            let message =
                "set ENRICH_FUZZ_TARGET to one of: \(Target.allCases.map(\.rawValue).joined(separator: ", "))\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            exit(2)
        }
        selected = target
        if target == .envelope { _ = Envelopes.shared }
        return 0
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        Fuzz.run(selected, UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    /// libFuzzer's driver, from its runtime (linked by -sanitize=fuzzer).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// SwiftPM links an executable's entry point under this name; it hands over to libFuzzer's driver.
    @_cdecl("enrich_fuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments) { data, size in testOneInput(data, size) }
    }

#else

    /// Replays inputs through a target: `enrich-fuzz TARGET FILE-OR-DIRECTORY...` (the regression runner).
    @main
    struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = Target(rawValue: name) else {
                print(
                    "usage: enrich-fuzz TARGET FILE-OR-DIRECTORY...; targets: \(Target.allCases.map(\.rawValue).joined(separator: ", "))"
                )
                exit(64)
            }
            var count = 0
            for path in arguments.dropFirst() {
                for file in Self.files(path) {
                    let bytes = Self.read(file)
                    bytes.withUnsafeBytes { Fuzz.run(target, $0) }
                    count += 1
                }
            }
            print("\(target.rawValue): \(count) inputs replayed, no invariant broken")
        }

        static func files(_ path: String) -> [String] {
            guard let directory = opendir(path) else { return [path] }
            defer { closedir(directory) }
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if !name.hasPrefix(".") { names.append("\(path)/\(name)") }
            }
            return names.sorted()
        }

        static func read(_ path: String) -> [UInt8] {
            guard let file = fopen(path, "r") else {
                print("enrich-fuzz: cannot read \(path): \(String(cString: strerror(errno)))")
                exit(66)
            }
            defer { fclose(file) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = fread(&chunk, 1, chunk.count, file)
                if count <= 0 { break }
                bytes += chunk[0..<count]
            }
            return bytes
        }
    }

#endif
