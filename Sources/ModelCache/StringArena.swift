/// Strings of one column stored back to back in one byte buffer.
///
/// Where a row starts is kept compactly. While every string is shorter than 256 bytes (names, SKUs,
/// categories: the usual case), the arena keeps one length byte per row plus the start of every block of
/// `blockRows` rows as a UInt32: 1.25 bytes per row instead of a 4-byte offset, and a row's start is its
/// block's start plus at most 15 lengths. The first longer string switches the column to one UInt32 offset
/// per row. Offsets are UInt32 either way, so one column holds at most 4 GiB of text; `SnapshotBuilder`
/// refuses rows past that (`SnapshotError.columnTooLarge`).
public struct StringArena: Sendable {
    /// Rows per block start in the compact form.
    static let blockRows = 16
    /// Longest string the compact form holds; one longer switches the arena to offsets.
    static let maxCompactLength = Int(UInt8.max)

    public private(set) var bytes: [UInt8] = []
    /// Compact form: each row's length, and each block's start (`starts[i / blockRows]`). Empty when wide.
    private var lengths: [UInt8] = []
    private var starts: [UInt32] = []
    /// Wide form: row i spans `offsets[i] ..< offsets[i + 1]`. Empty while compact.
    private var offsets: [UInt32] = []
    public private(set) var count = 0

    /// Largest total of string bytes one column may hold.
    public static let maxBytes = Int(UInt32.max)

    public init() {}

    /// An arena from its bytes and `count + 1` offsets (snapshot files); the caller has checked that the
    /// offsets fit the bytes.
    init(bytes: [UInt8], offsets: [UInt32]) {
        self.reserve(rows: offsets.count - 1)
        bytes.withUnsafeBytes { text in
            for row in 0..<(offsets.count - 1) {
                _ = self.append(UnsafeRawBufferPointer(rebasing: text[Int(offsets[row])..<Int(offsets[row + 1])]))
            }
        }
        self = self.trimmed()
    }

    var isCompact: Bool { self.offsets.isEmpty }

    mutating func reserve(rows: Int) {
        self.lengths.reserveCapacity(rows)
        self.starts.reserveCapacity(rows / Self.blockRows + 1)
    }

    /// Appends a string; false when the column would pass `maxBytes`.
    mutating func append(_ utf8: UnsafeRawBufferPointer) -> Bool {
        guard self.bytes.count + utf8.count <= Self.maxBytes else { return false }
        if self.isCompact && utf8.count > Self.maxCompactLength { self.widen() }
        if self.isCompact {
            if self.count % Self.blockRows == 0 { self.starts.append(UInt32(self.bytes.count)) }
            self.lengths.append(UInt8(utf8.count))
            self.bytes.append(contentsOf: utf8)
        } else {
            self.bytes.append(contentsOf: utf8)
            self.offsets.append(UInt32(self.bytes.count))
        }
        self.count += 1
        return true
    }

    mutating func removeLast() {
        self.count -= 1
        if self.isCompact {
            let length = Int(self.lengths.removeLast())
            self.bytes.removeSubrange((self.bytes.count - length)...)
            if self.count % Self.blockRows == 0 { self.starts.removeLast() }
        } else {
            self.offsets.removeLast()
            self.bytes.removeSubrange(Int(self.offsets.last!)...)  // wide offsets always hold the leading 0.
        }
    }

    /// Switches to one offset per row (a string longer than the compact form holds arrived).
    private mutating func widen() {
        var offsets: [UInt32] = [0]
        offsets.reserveCapacity(Swift.max(self.lengths.capacity, self.count) + 1)
        var end: UInt32 = 0
        for length in self.lengths {
            end += UInt32(length)
            offsets.append(end)
        }
        self.offsets = offsets
        self.lengths = []
        self.starts = []
    }

    /// Where row `index` starts and ends in `bytes`.
    @inline(__always)
    func span(of index: Int) -> Range<Int> {
        if !self.isCompact { return Int(self.offsets[index])..<Int(self.offsets[index + 1]) }
        return self.lengths.withUnsafeBufferPointer { lengths in
            let block = index / Self.blockRows
            var start = Int(self.starts[block])
            for row in (block * Self.blockRows)..<index { start &+= Int(lengths[row]) }
            return start..<(start &+ Int(lengths[index]))
        }
    }

    /// The UTF-8 length of row `index`.
    @inline(__always)
    public func length(at index: Int) -> Int {
        self.isCompact ? Int(self.lengths[index]) : Int(self.offsets[index + 1] - self.offsets[index])
    }

    /// Calls `body` with the UTF-8 bytes of row `index`, without copying.
    @inline(__always)
    public func withBytes<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let span = self.span(of: index)
        return try self.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[span])) }
    }

    public func string(at index: Int) -> String {
        self.withBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with each row's end offset in order (the `count + 1` offsets minus the leading 0), for
    /// writing the portable form without building it.
    func forEachEnd(_ body: (UInt32) -> Void) {
        if !self.isCompact {
            for offset in self.offsets.dropFirst() { body(offset) }
            return
        }
        var end: UInt32 = 0
        for length in self.lengths {
            end += UInt32(length)
            body(end)
        }
    }

    /// This arena with its buffers trimmed to their contents (a snapshot lives until the next sync).
    func trimmed() -> StringArena {
        var arena = self
        arena.bytes = fitted(self.bytes)
        arena.lengths = fitted(self.lengths)
        arena.starts = fitted(self.starts)
        arena.offsets = fitted(self.offsets)
        return arena
    }

    var residentBytes: Int { self.bytes.capacity + self.lengths.capacity + (self.starts.capacity + self.offsets.capacity) * 4 }
}
