import Foundation
import Testing

@testable import ModelCache

/// A snapshot's buffers moved into 2 MiB pages in place: what the kernel reports, and lookups unchanged.
@Suite("Huge pages")
struct HugePageTests {
    /// The kernel's transparent huge page mode ("always", "madvise" or "never"), nil where there is none.
    static var mode: String? {
        guard let text = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
            let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]")
        else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// The AnonHugePages kB of the mapping that holds `address`, from /proc/self/smaps.
    static func hugePageKilobytes(at address: UInt) throws -> Int {
        // Read to the end: a /proc file reports size 0, and String(contentsOfFile:) stops after its first page.
        let file = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? file.close() }
        let smaps = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count >= 2 {
                return Int(fields[1]) ?? 0
            }
        }
        return 0
    }

    @Test("the index and the columns move to huge pages; every key finds the same row")
    func collapses() throws {
        let rows = 600_000  // 8 MiB of index slots, 5 MiB of key text
        let snapshot = try BatchLookupTests.snapshot(rows: rows, stringKeys: true)
        let probes = stride(from: 0, to: rows * 2, by: 997).map { $0 }
        let before = BatchLookupTests.check(snapshot, keys: probes, stringKeys: true)
        let pages = snapshot.backWithHugePages()
        switch Self.mode {
        case nil, "never":
            #expect(pages.bytes == 0)
            #expect(pages.error != nil)
        default:
            #expect(pages.error == nil)
            #expect(pages.bytes >= 8 << 20, "bytes in huge pages: \(pages.bytes)")
            // The first whole huge page of the index's slots.
            let slots = snapshot.index.slots.withUnsafeBytes {
                (UInt(bitPattern: $0.baseAddress!) + (2 << 20) - 1) & ~((2 << 20) - 1)
            }
            #expect(try Self.hugePageKilobytes(at: slots) >= 2048)
        }
        #expect(BatchLookupTests.check(snapshot, keys: probes, stringKeys: true) == before)
        #expect(before == probes.filter { $0 % 2 == 0 }.count)
    }

    @Test("buffers under 2 MiB are left alone")
    func small() throws {
        let snapshot = try BatchLookupTests.snapshot(rows: 1_000, stringKeys: true)
        #expect(snapshot.backWithHugePages() == ModelSnapshot.HugePages())
    }
}
