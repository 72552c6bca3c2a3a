public import CPrefetch  // its prefetch is called from the inlinable readers below
import EventJSON

/// Strings of one column stored back to back in one byte buffer, with a second buffer saying where rows start.
///
/// While every string is shorter than 256 bytes (names, SKUs, categories: the usual case) the index is compact:
/// per block of `blockRows` rows, the block's start as a UInt32 followed by one length byte per row, 20 bytes
/// for 16 rows (1.25 bytes a row instead of a 4-byte offset). A row's start is its block's start plus at most
/// 15 lengths, all in the same 20 bytes, so finding a row touches one cache line of index. The first longer
/// string switches the index to one UInt32 offset per row (`count + 1` of them). Offsets are UInt32 either way,
/// so one column holds at most 4 GiB of text; `SnapshotBuilder` refuses rows past that
/// (`SnapshotError.columnTooLarge`). Two buffers, so copying an arena costs two retains.
/// `public` (its members stay `package`) only so that its `@inlinable` readers inline into the Lookup encoder in
/// Services: Swift does not inline `@inlinable` members of a `package` type across modules.
public struct StringArena: Sendable {
    /// Whether every row is valid UTF-8, worked out once when the arena is finished (`trimmed`), so a reader
    /// writing rows into JSON need not check each one; false while building.
    package private(set) var isValidUTF8 = false

    /// Rows per block in the compact index.
    @usableFromInline static let blockRows = 16
    /// Bytes per block in the compact index: the start, then the lengths.
    @usableFromInline static let blockBytes = 4 + blockRows
    /// Longest string the compact index holds; one longer switches the arena to offsets.
    static let maxCompactLength = Int(UInt8.max)

    @usableFromInline package internal(set) var bytes: [UInt8] = []
    /// Compact: blocks of start + lengths. Wide: little-endian UInt32 offsets, row i spanning
    /// `offset(i) ..< offset(i + 1)`.
    @usableFromInline var index: [UInt8] = []
    @usableFromInline var isCompact = true
    package private(set) var count = 0

    /// Largest total of string bytes one column may hold.
    package static let maxBytes = Int(UInt32.max)

    package init() {}

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

    mutating func reserve(rows: Int) {
        self.index.reserveCapacity((rows / Self.blockRows + 1) * Self.blockBytes)
    }

    private mutating func appendUInt32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { self.index.append(contentsOf: $0) }
    }

    @inlinable @inline(__always)
    static func uint32(_ index: UnsafeRawBufferPointer, at offset: Int) -> Int {
        Int(UInt32(littleEndian: index.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// Appends a string; false when the column would pass `maxBytes`.
    mutating func append(_ utf8: UnsafeRawBufferPointer) -> Bool {
        guard self.bytes.count + utf8.count <= Self.maxBytes else { return false }
        if self.isCompact && utf8.count > Self.maxCompactLength { self.widen() }
        if self.isCompact {
            if self.count % Self.blockRows == 0 { self.appendUInt32(UInt32(self.bytes.count)) }
            self.index.append(UInt8(utf8.count))
        } else {
            if self.index.isEmpty { self.appendUInt32(0) }
            self.appendUInt32(UInt32(self.bytes.count + utf8.count))
        }
        self.bytes.append(contentsOf: utf8)
        self.count += 1
        return true
    }

    mutating func removeLast() {
        let span = self.span(of: self.count - 1)
        self.count -= 1
        self.bytes.removeSubrange(span.lowerBound...)
        if self.isCompact {
            self.index.removeLast(self.count % Self.blockRows == 0 ? 5 : 1)  // the length, and an emptied block's start
        } else {
            self.index.removeLast(4)
        }
    }

    /// Switches to one offset per row (a string longer than the compact index holds arrived).
    private mutating func widen() {
        var wide = StringArena()
        wide.isCompact = false
        wide.index.reserveCapacity((Swift.max(self.count, self.index.capacity) + 1) * 4)
        wide.appendUInt32(0)
        for row in 0..<self.count { wide.appendUInt32(UInt32(self.span(of: row).upperBound)) }
        self.index = wide.index
        self.isCompact = false
    }

    /// Where row `row` starts and ends in `bytes`.
    @inlinable @inline(__always)
    func span(of row: Int) -> Range<Int> {
        self.index.withUnsafeBytes { index in
            if !self.isCompact {
                return Self.uint32(index, at: row * 4)..<Self.uint32(index, at: row * 4 + 4)
            }
            let block = row / Self.blockRows
            let base = block * Self.blockBytes
            var start = Self.uint32(index, at: base)
            let lengths = base + 4
            for position in 0..<(row - block * Self.blockRows) { start &+= Int(index[lengths + position]) }
            return start..<(start &+ Int(index[lengths + row - block * Self.blockRows]))
        }
    }

    /// Calls `body` with the arena's text and its index, for readers that resolve many rows in a row
    /// (`span(of:lengths:)`, `prefetchSpan(of:lengths:)`) without a buffer access per call.
    @inlinable @inline(__always)
    package func withStorage<Result>(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try self.bytes.withUnsafeBytes { text in try self.index.withUnsafeBytes { index in try body(text, index) } }
    }

    /// `span(of:)` with the index from `withStorage`.
    @inlinable @inline(__always)
    package func span(of row: Int, lengths index: UnsafeRawBufferPointer) -> Range<Int> {
        if !self.isCompact {
            return Self.uint32(index, at: row * 4)..<Self.uint32(index, at: row * 4 + 4)
        }
        let block = row / Self.blockRows
        let base = block * Self.blockBytes
        var start = Self.uint32(index, at: base)
        let lengths = base + 4
        let within = row - block * Self.blockRows
        for position in 0..<within { start &+= Int(index[lengths + position]) }
        return start..<(start &+ Int(index[lengths + within]))
    }

    /// `prefetchSpan(of:lengths:)` for a single row.
    @inlinable @inline(__always)
    package func prefetchSpan(of row: Int) {
        self.index.withUnsafeBytes { self.prefetchSpan(of: row, lengths: $0) }
    }

    /// Asks the CPU to bring in the first line of row `row`'s text (reads the line `prefetchSpan` requested).
    @inlinable @inline(__always)
    package func prefetchText(of row: Int) {
        self.withStorage { text, lengths in self.prefetchText(of: row, text: text, lengths: lengths) }
    }

    /// `prefetchText(of:)` with the storage from `withStorage`.
    @inlinable @inline(__always)
    package func prefetchText(of row: Int, text: UnsafeRawBufferPointer, lengths: UnsafeRawBufferPointer) {
        let start = self.span(of: row, lengths: lengths).lowerBound
        if start < text.count { enrich_prefetch(text.baseAddress! + start) }
    }

    /// Asks the CPU to bring in the index line that locates row `row` (one line: a compact block is 20 bytes).
    @inlinable @inline(__always)
    package func prefetchSpan(of row: Int, lengths index: UnsafeRawBufferPointer) {
        let offset = self.isCompact ? (row / Self.blockRows) * Self.blockBytes : row * 4
        enrich_prefetch(index.baseAddress! + offset)
    }

    /// The UTF-8 length of row `row`.
    @inline(__always)
    package func length(at row: Int) -> Int {
        if self.isCompact {
            return Int(self.index[(row / Self.blockRows) * Self.blockBytes + 4 + row % Self.blockRows])
        }
        return self.span(of: row).count
    }

    /// Calls `body` with the UTF-8 bytes of row `index`, without copying.
    @inlinable @inline(__always)
    package func withBytes<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
    {
        let span = self.span(of: index)
        return try self.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[span])) }
    }

    package func string(at index: Int) -> String {
        self.withBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with each row's end offset in order (the `count + 1` offsets minus the leading 0), for
    /// writing the portable form without building it.
    func forEachEnd(_ body: (UInt32) -> Void) {
        for row in 0..<self.count { body(UInt32(self.span(of: row).upperBound)) }
    }

    /// This arena with its buffers trimmed to their contents (a snapshot lives until the next sync), and its
    /// UTF-8 checked: the whole text is valid and every row starts on a character (not a continuation byte),
    /// which together mean every row is valid on its own.
    func trimmed() -> StringArena {
        var arena = self
        arena.bytes = fitted(self.bytes)
        arena.index = fitted(self.index)
        arena.isValidUTF8 = arena.bytes.withUnsafeBufferPointer { bytes in
            guard UTF8Text.isValid(bytes) else { return false }
            for row in 0..<arena.count {
                let start = arena.span(of: row).lowerBound
                if start < bytes.count && bytes[start] & 0xC0 == 0x80 { return false }
            }
            return true
        }
        return arena
    }

    var residentBytes: Int { self.bytes.capacity + self.index.capacity }
}
