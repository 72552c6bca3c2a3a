import RPCCore

/// Checks on names and sizes that every service applies the same way.
enum Validation {
    /// A name: 1 to `limit` bytes of letters, digits, '_', '-' and '.', starting with a letter.
    static func name(_ value: String, kind: String, limit: Int) throws(RPCError) {
        guard !value.isEmpty else { throw RPCError(.invalidArgument, "\(kind) name is empty") }
        guard value.utf8.count <= limit else {
            throw RPCError(.invalidArgument, "\(kind) name is \(value.utf8.count) bytes; the limit is \(limit)")
        }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        let first = value.utf8.first!  // Not empty, checked above.
        guard allowed, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) else {
            throw RPCError(
                .invalidArgument,
                "\(kind) name '\(value)' is invalid: use letters, digits, '_', '-' and '.', starting with a letter"
            )
        }
    }

    /// A count against its limit.
    static func count(_ count: Int, of what: String, limit: Int) throws(RPCError) {
        guard count <= limit else {
            throw RPCError(.resourceExhausted, "\(count) \(what) exceed the limit of \(limit) per request")
        }
    }
}
