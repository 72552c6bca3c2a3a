/// Strings of one column stored back to back in one byte buffer, with an offset per row.
///
/// Row i spans `bytes[offsets[i] ..< offsets[i + 1]]`. Offsets are UInt32, so one column holds at most 4 GiB of
/// text; `SnapshotBuilder` refuses rows past that (`SnapshotError.columnTooLarge`).
public struct StringArena: Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var offsets: [UInt32] = [0]

    /// Largest total of string bytes one column may hold.
    public static let maxBytes = Int(UInt32.max)

    public init() {}

    /// An arena from its parts (snapshot files); the caller has checked that the offsets fit the bytes.
    init(bytes: [UInt8], offsets: [UInt32]) {
        self.bytes = bytes
        self.offsets = offsets
    }

    public var count: Int { self.offsets.count - 1 }

    mutating func reserve(rows: Int) { self.offsets.reserveCapacity(rows + 1) }

    /// Appends a string; false when the column would pass `maxBytes`.
    mutating func append(_ utf8: UnsafeRawBufferPointer) -> Bool {
        guard self.bytes.count + utf8.count <= Self.maxBytes else { return false }
        self.bytes.append(contentsOf: utf8)
        self.offsets.append(UInt32(self.bytes.count))
        return true
    }

    mutating func removeLast() {
        self.offsets.removeLast()
        self.bytes.removeSubrange(Int(self.offsets.last!)...)  // offsets always holds the leading 0.
    }

    /// Calls `body` with the UTF-8 bytes of row `index`, without copying.
    @inline(__always)
    public func withBytes<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let start = Int(self.offsets[index])
        let end = Int(self.offsets[index + 1])
        return try self.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    public func string(at index: Int) -> String {
        self.withBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    var residentBytes: Int { self.bytes.capacity + self.offsets.capacity * 4 }
}
