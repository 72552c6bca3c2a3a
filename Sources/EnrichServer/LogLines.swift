package import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// enrichd's log handler: one line per event on standard error, UTC timestamps to the millisecond, as text
/// (`2026-12-06T03:12:45.123Z notice enrichd: [RPCCall] message key=value`) or as one JSON object per line
/// (`--log-format json`), for collectors that parse fields. Each line is written with a single `write(2)`, so
/// lines from different threads never interleave.
package struct LogLines: LogHandler {
    package enum Format: String, Sendable { case text, json }

    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: Format
    private let descriptor: Int32

    package init(label: String, level: Logger.Level, format: Format, descriptor: Int32 = 2) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.descriptor = descriptor
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var merged = self.metadata
        if let metadata = event.metadata { merged.merge(metadata) { $1 } }
        var text = self.line(
            level: event.level, message: "\(event.message)", metadata: merged, source: event.source, time: Self.now())
        text.withUTF8 { bytes in _ = write(self.descriptor, bytes.baseAddress, bytes.count) }
    }

    /// One formatted line (with its newline); `time` is milliseconds since the Unix epoch.
    package func line(
        level: Logger.Level, message: String, metadata: Logger.Metadata, source: String, time: Int64
    ) -> String {
        let stamp = Self.timestamp(milliseconds: time)
        let keys = metadata.keys.sorted()
        switch self.format {
        case .text:
            var line = "\(stamp) \(level) \(self.label):"
            for key in keys { line += " \(key)=\(metadata[key]!)" }  // Listed from the dictionary's keys.
            line += " [\(source)] \(message)\n"
            return line
        case .json:
            var line = "{\"time\":\"\(stamp)\",\"level\":\"\(level)\",\"logger\":" + Self.quoted(self.label)
            line += ",\"source\":" + Self.quoted(source) + ",\"message\":" + Self.quoted(message)
            for key in keys { line += "," + Self.quoted(key) + ":" + Self.quoted("\(metadata[key]!)") }  // As above.
            return line + "}\n"
        }
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func timestamp(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(milliseconds % 1_000)
        let fraction = millis < 10 ? "00\(millis)" : (millis < 100 ? "0\(millis)" : "\(millis)")
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
