/// Parsing and formatting of UTC times as microseconds since the Unix epoch, without Foundation.
package enum Timestamp {
    /// Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.ffffff]]" with ' ' or 'T', and an optional 'Z' or ±HH[[:]MM]
    /// offset. Returns nil for anything else.
    package static func parseMicroseconds(_ text: UnsafeRawBufferPointer) -> Int64? {
        var position = 0
        func digits(_ count: Int) -> Int? {
            guard position + count <= text.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = text[position]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                position += 1
            }
            return value
        }
        func take(_ byte: UInt8) -> Bool {
            guard position < text.count, text[position] == byte else { return false }
            position += 1
            return true
        }
        guard let year = digits(4), take(UInt8(ascii: "-")), let month = digits(2), take(UInt8(ascii: "-")),
            let day = digits(2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var micros = 0
        var offsetSeconds = 0
        if take(UInt8(ascii: " ")) || take(UInt8(ascii: "T")) {
            guard let h = digits(2), take(UInt8(ascii: ":")), let m = digits(2), h < 24, m < 60 else { return nil }
            hour = h
            minute = m
            if take(UInt8(ascii: ":")) {
                guard let s = digits(2), s < 61 else { return nil }
                second = s
                if take(UInt8(ascii: ".")) {
                    var scale = 100_000
                    var count = 0
                    while position < text.count, text[position] >= 0x30, text[position] <= 0x39 {
                        if count < 6 { micros += Int(text[position] - 0x30) * scale }
                        scale /= 10
                        count += 1
                        position += 1
                    }
                    guard count > 0 else { return nil }
                }
            }
            if take(UInt8(ascii: "Z")) {
            } else if position < text.count, text[position] == UInt8(ascii: "+") || text[position] == UInt8(ascii: "-")
            {
                let sign = text[position] == UInt8(ascii: "-") ? -1 : 1
                position += 1
                guard let oh = digits(2) else { return nil }
                // ±HH:MM, ±HHMM or ±HH (PostgreSQL prints "+00").
                var om = 0
                if take(UInt8(ascii: ":")) || position < text.count {
                    guard let minutes = digits(2) else { return nil }
                    om = minutes
                }
                offsetSeconds = sign * (oh * 3_600 + om * 60)
            }
        }
        guard position == text.count else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3_600 + minute * 60 + second - offsetSeconds)
        return seconds * 1_000_000 + Int64(micros)
    }

    package static func parseMicroseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { Self.parseMicroseconds(UnsafeRawBufferPointer($0)) }
    }

    /// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ", the form Segment's payloads use.
    package static func iso8601(microseconds: Int64) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let millis = Int((microseconds - seconds * 1_000_000) / 1_000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civilFromDays(Int(days))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3_600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    // Howard Hinnant's days_from_civil and civil_from_days (public domain), proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Days since the Unix epoch to (year, month, day).
    package static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
