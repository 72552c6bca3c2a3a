package import EnrichPolicy

#if canImport(Glibc)
    import Glibc
#endif

/// What one event's condition evaluation may cost: text examined by the string operators and leaves evaluated.
/// A condition is at most `Limits.maxConditionBytes` (4 KiB, so about 80 `contains`) and an event at most 32 KiB;
/// without a budget one event could cost 80 scans of 32 KiB, and a batch a thousand times that.
package struct ConditionBudget: Sendable {
    /// Bytes of text the string operators may examine for one event (`ConditionLimits.maxScanBytes` says why).
    package var maxScanBytes: Int
    /// Leaves one event's evaluation may evaluate.
    package var maxLeaves: Int
    package private(set) var scannedBytes = 0
    package private(set) var leaves = 0

    package init(maxScanBytes: Int = ConditionLimits().maxScanBytes, maxLeaves: Int = ConditionLimits().maxLeaves) {
        self.maxScanBytes = maxScanBytes
        self.maxLeaves = maxLeaves
    }

    /// A budget of `limits` (EnrichPolicy's `ConditionLimits`).
    package init(_ limits: ConditionLimits) {
        self.init(maxScanBytes: limits.maxScanBytes, maxLeaves: limits.maxLeaves)
    }

    mutating func leaf() throws(ConditionBudgetExceeded) {
        self.leaves += 1
        guard self.leaves <= self.maxLeaves else { throw .leaves(self.maxLeaves) }
    }

    mutating func scan(_ bytes: Int) throws(ConditionBudgetExceeded) {
        self.scannedBytes += bytes
        guard self.scannedBytes <= self.maxScanBytes else { throw .scan(self.maxScanBytes) }
    }
}

/// Why a condition was not decided for an event.
package enum ConditionBudgetExceeded: Error, Equatable, Sendable, CustomStringConvertible {
    case scan(Int)
    case leaves(Int)

    package var description: String {
        switch self {
        case .scan(let limit):
            "the condition examined more than \(limit) bytes of text for this event (the per-event limit)"
        case .leaves(let limit):
            "the condition evaluated more than \(limit) comparisons for this event (the per-event limit)"
        }
    }
}

/// The string operators on UTF-8 bytes, in linear time. Bytes compare as JavaScript's code units compare for
/// well-formed text, so the answers are `String.prototype.includes`, `startsWith` and `endsWith`'s (Swift's own
/// `contains` compares grapheme clusters, which differs, and is quadratic in the worst case).
enum TextSearch {
    /// Knuth-Morris-Pratt over bytes, skipping with `memchr` while no prefix of the needle is matched: O(text +
    /// needle) whatever the input (a needle of 4,000 "a"s then "b" against 32 KiB of "a"s included), and close to
    /// `memchr`'s speed on ordinary text.
    static func contains(_ text: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        let n = text.count
        let m = needle.count
        guard m > 0 else { return true }
        guard n >= m else { return false }
        let first = Int32(needle[0])
        if m == 1 { return memchr(text.baseAddress!, first, n) != nil }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: m) { failure in
            // failure[j]: length of the longest proper prefix of needle[0...j] that is also its suffix.
            failure[0] = 0
            var k = 0
            for j in 1..<m {
                while k > 0 && needle[j] != needle[k] { k = failure[k - 1] }
                if needle[j] == needle[k] { k += 1 }
                failure[j] = k
            }
            var i = 0
            var j = 0
            while i < n {
                if j == 0 {
                    guard let hit = memchr(text.baseAddress! + i, first, n - i) else { return false }
                    i = text.baseAddress!.distance(to: UnsafeRawPointer(hit)) + 1
                    j = 1
                } else if text[i] == needle[j] {
                    i += 1
                    j += 1
                } else {
                    j = failure[j - 1]
                    continue
                }
                if j == m { return true }
                // Not enough text left for the rest of the needle.
                if n - i < m - j { return false }
            }
            return false
        }
    }

    static func hasPrefix(_ text: UnsafeRawBufferPointer, _ prefix: UnsafeRawBufferPointer) -> Bool {
        guard text.count >= prefix.count else { return false }
        return prefix.isEmpty || memcmp(text.baseAddress!, prefix.baseAddress!, prefix.count) == 0
    }

    static func hasSuffix(_ text: UnsafeRawBufferPointer, _ suffix: UnsafeRawBufferPointer) -> Bool {
        guard text.count >= suffix.count else { return false }
        return suffix.isEmpty
            || memcmp(text.baseAddress! + (text.count - suffix.count), suffix.baseAddress!, suffix.count) == 0
    }

    /// Runs `body` with the UTF-8 of both strings.
    static func withUTF8<T, E: Error>(
        _ a: String, _ b: String, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> T
    ) throws(E) -> T {
        var a = a
        var b = b
        let result: Result<T, E> = a.withUTF8 { a in
            b.withUTF8 { b in
                do throws(E) { return .success(try body(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b))) } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get()
    }
}
