public import CPrefetch  // its prefetch is called from the inlinable readers below

/// One bit per row, set where the value is NULL. Empty (no words) until the first NULL, so columns without
/// NULLs cost nothing.
/// `public` (its members stay `package`) only so that its `@inlinable` readers inline into the Lookup encoder in
/// Services: Swift does not inline `@inlinable` members of a `package` type across modules.
public struct NullBitmap: Sendable, Hashable {
    @usableFromInline var words: [UInt64] = []

    package init() {}

    @inlinable @inline(__always)
    package func isNull(_ row: Int) -> Bool {
        let word = row >> 6
        return word < self.words.count && self.words[word] & (1 << UInt64(row & 63)) != 0
    }

    /// Requests the word holding row `row`'s bit (nothing when the column has no NULLs).
    @inlinable @inline(__always)
    package func prefetch(_ row: Int) {
        let word = row >> 6
        guard word < self.words.count else { return }
        self.words.withUnsafeBufferPointer { enrich_prefetch($0.baseAddress! + word) }
    }

    mutating func set(_ row: Int, null: Bool) {
        let word = row >> 6
        if !null && word >= self.words.count { return }
        while word >= self.words.count { self.words.append(0) }
        if null {
            self.words[word] |= 1 << UInt64(row & 63)
        } else {
            self.words[word] &= ~(1 << UInt64(row & 63))
        }
    }

    var residentBytes: Int { self.words.count * 8 }
}
