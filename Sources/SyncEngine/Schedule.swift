package import EnrichPolicy
import Foundation
import ModelCache

/// When a model syncs by itself: never (manual), every interval, at a time of day on chosen weekdays in a time
/// zone, or on a cron expression (UTC).
///
/// Text forms (what `enrichctl schedules set` takes and what is stored):
/// `manual` · `every 15m` … `every 24h` (15 minutes to 1 day) · `daily 09:30 Europe/Paris` ·
/// `weekly mon,thu 09:30 UTC` · `cron */30 * * * *`.
package enum Schedule: Sendable, Equatable, CustomStringConvertible {
    case manual
    case interval(seconds: Int)
    /// `weekdays` are 1 (Sunday) … 7 (Saturday), as Foundation's Calendar numbers them; all seven for daily.
    case weekly(weekdays: Set<Int>, hour: Int, minute: Int, timeZone: String)
    case cron(CronExpression)

    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses the text form; `every` intervals must be within `limits`' schedule interval bounds.
    /// - Throws: `ScheduleError` saying what is wrong and what is accepted.
    package init(parsing text: String, limits: SyncLimits = SyncLimits()) throws(ScheduleError) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let kind = words.first?.lowercased() else {
            throw .invalid(
                "empty schedule; use manual, every 1h, daily 09:30 UTC, weekly mon 09:30 UTC or cron */30 * * * *")
        }
        switch kind {
        case "manual" where words.count == 1:
            self = .manual
        case "every" where words.count == 2:
            let amount = words[1]
            guard let unit = amount.last, let number = Int(amount.dropLast()), number > 0 else {
                throw .invalid("'\(amount)' is not an interval like 15m, 2h or 1d")
            }
            let seconds: Int
            switch unit {
            case "m": seconds = number * 60
            case "h": seconds = number * 3_600
            case "d": seconds = number * 86_400
            default: throw .invalid("'\(amount)' is not an interval like 15m, 2h or 1d")
            }
            guard (limits.minimumScheduleIntervalSeconds...limits.maximumScheduleIntervalSeconds).contains(seconds)
            else {
                throw .invalid(
                    "an interval must be between \(limits.minimumScheduleIntervalSeconds / 60)m and "
                        + "\(limits.maximumScheduleIntervalSeconds / 60)m; got \(amount)"
                )
            }
            self = .interval(seconds: seconds)
        case "daily" where words.count == 2 || words.count == 3:
            let (hour, minute) = try Self.time(words[1])
            let zone = words.count == 3 ? words[2] : "UTC"
            try Self.checkZone(zone)
            self = .weekly(weekdays: Set(1...7), hour: hour, minute: minute, timeZone: zone)
        case "weekly" where words.count == 3 || words.count == 4:
            var days = Set<Int>()
            for name in words[1].lowercased().split(separator: ",") {
                guard let index = Self.dayNames.firstIndex(of: String(name)) else {
                    throw .invalid("'\(name)' is not a weekday; use sun, mon, tue, wed, thu, fri, sat")
                }
                days.insert(index + 1)
            }
            let (hour, minute) = try Self.time(words[2])
            let zone = words.count == 4 ? words[3] : "UTC"
            try Self.checkZone(zone)
            self = .weekly(weekdays: days, hour: hour, minute: minute, timeZone: zone)
        case "cron":
            self = .cron(try CronExpression(parsing: words.dropFirst().joined(separator: " ")))
        default:
            throw .invalid(
                "'\(text)' is not a schedule; use manual, every 1h, daily 09:30 UTC, weekly mon,thu 09:30 Europe/Paris or cron */30 * * * *"
            )
        }
    }

    private static func time(_ text: String) throws(ScheduleError) -> (Int, Int) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { throw .invalid("'\(text)' is not a time like 09:30") }
        return (hour, minute)
    }

    private static func checkZone(_ zone: String) throws(ScheduleError) {
        guard TimeZone(identifier: zone) != nil else {
            throw .invalid("unknown time zone '\(zone)'; use an IANA name such as Europe/Paris or UTC")
        }
    }

    package var description: String {
        switch self {
        case .manual: return "manual"
        case .interval(let seconds):
            if seconds % 86_400 == 0 { return "every \(seconds / 86_400)d" }
            if seconds % 3_600 == 0 { return "every \(seconds / 3_600)h" }
            return "every \(seconds / 60)m"
        case .weekly(let days, let hour, let minute, let zone):
            let time = String(format: "%02d:%02d", hour, minute)
            if days.count == 7 { return "daily \(time) \(zone)" }
            return "weekly \(days.sorted().map { Self.dayNames[$0 - 1] }.joined(separator: ",")) \(time) \(zone)"
        case .cron(let expression): return "cron \(expression.text)"
        }
    }

    /// The first run strictly after `milliseconds` (wall clock), or nil for manual.
    package func nextRun(after milliseconds: Int64) -> Int64? {
        switch self {
        case .manual:
            return nil
        case .interval(let seconds):
            return milliseconds + Int64(seconds) * 1_000
        case .weekly(let days, let hour, let minute, let zone):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: zone) ?? TimeZone(secondsFromGMT: 0)!  // Checked when parsed.
            let start = Date(timeIntervalSince1970: Double(milliseconds) / 1_000)
            var best: Date?
            for day in days {
                let components = DateComponents(hour: hour, minute: minute, second: 0, weekday: day)
                if let next = calendar.nextDate(after: start, matching: components, matchingPolicy: .nextTime),
                    next > start
                {
                    if best == nil || next < best! { best = next }  // Set above when nil.
                }
            }
            return best.map { Int64(($0.timeIntervalSince1970 * 1_000).rounded()) }
        case .cron(let expression):
            return expression.next(after: milliseconds)
        }
    }
}

package enum ScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    package var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC. Fields take
/// `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists; day-of-week 0 and 7 are Sunday. As in
/// Vixie cron, when both day fields are restricted a day matching either runs.
package struct CronExpression: Sendable, Equatable {
    package let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    package init(parsing text: String) throws(ScheduleError) {
        let fields = text.split(separator: " ").map(String.init)
        guard fields.count == 5 else {
            throw .invalid("a cron expression has 5 fields (minute hour day month weekday); got \(fields.count)")
        }
        self.text = fields.joined(separator: " ")
        self.minutes = try Self.field(fields[0], 0...59, "minute")
        self.hours = try Self.field(fields[1], 0...23, "hour")
        self.days = try Self.field(fields[2], 1...31, "day of month")
        self.months = try Self.field(fields[3], 1...12, "month")
        self.weekdays = Set(try Self.field(fields[4], 0...7, "day of week").map { $0 % 7 })
        self.daysRestricted = fields[2] != "*"
        self.weekdaysRestricted = fields[4] != "*"
    }

    private static func field(
        _ text: String, _ range: ClosedRange<Int>, _ name: String
    ) throws(ScheduleError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw .invalid("cron \(name) '\(part)' has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw .invalid("cron \(name) step '\(pieces[1])' is not a positive number")
                }
                step = parsed
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else if let dash = pieces[0].firstIndex(of: "-") {
                guard let low = Int(pieces[0][..<dash]), let high = Int(pieces[0][pieces[0].index(after: dash)...]),
                    low <= high,
                    range.contains(low), range.contains(high)
                else {
                    throw .invalid(
                        "cron \(name) range '\(pieces[0])' is outside \(range.lowerBound)-\(range.upperBound)")
                }
                bounds = low...high
            } else {
                guard let value = Int(pieces[0]), range.contains(value) else {
                    throw .invalid("cron \(name) '\(pieces[0])' is outside \(range.lowerBound)-\(range.upperBound)")
                }
                bounds = value...(pieces.count == 2 ? range.upperBound : value)
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }

    /// The first matching minute strictly after `milliseconds`, searching up to five years ahead.
    package func next(after milliseconds: Int64) -> Int64? {
        var minute = milliseconds / 60_000 + 1
        let limit = minute + 5 * 366 * 1_440
        while minute < limit {
            let days = Int(minute / 1_440)
            let (_, month, day) = Timestamp.civilFromDays(days)
            let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4).
            let dayMatches: Bool
            if self.daysRestricted && self.weekdaysRestricted {
                dayMatches = self.days.contains(day) || self.weekdays.contains(weekday)
            } else {
                dayMatches = self.days.contains(day) && self.weekdays.contains(weekday)
            }
            guard self.months.contains(month), dayMatches else {
                minute = Int64(days + 1) * 1_440  // Skip to the next day.
                continue
            }
            let minuteOfDay = Int(minute % 1_440)
            if self.hours.contains(minuteOfDay / 60) && self.minutes.contains(minuteOfDay % 60) {
                return minute * 60_000
            }
            minute += 1
        }
        return nil
    }
}
