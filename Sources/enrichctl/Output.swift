import ClientCommandLine
import EnrichClient
import EventJSON

/// Renders rows as an aligned text table.
enum Table {
    static func render(_ headers: [String], _ rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
        return ([line(headers.map { $0.uppercased() })] + rows.map(line)).joined(separator: "\n")
    }
}

func printJSON(_ value: JSONValue) { print(JSONWriter.string(value)) }

func time(_ milliseconds: Int64) -> String {
    milliseconds == 0 ? "-" : Timestamp.iso(milliseconds: milliseconds)
}

enum Timestamp {
    static func iso(milliseconds: Int64) -> String {
        let seconds = milliseconds / 1_000
        let days = seconds / 86_400
        let secondOfDay = Int(seconds % 86_400)
        // Days to civil date (Howard Hinnant's algorithm).
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp + (mp < 10 ? 3 : -9)
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3_600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }
}

extension Model {
    var json: JSONValue {
        .object(
            JSONObject([
                ("name", .string(self.name)), ("warehouse", .string(self.warehouse)), ("table", .string(self.table)),
                ("query", .string(self.query)), ("primary_key", .string(self.primaryKey)),
                (
                    "columns",
                    .array(
                        self.columns.map {
                            .object(
                                JSONObject([
                                    ("name", .string($0.name)), ("type", .string($0.type.name)),
                                    ("source_type", .string($0.sourceType)),
                                ]))
                        })
                ),
                ("created_at_ms", .int(self.createdAtMilliseconds)), ("version", .int(Int64(self.version))),
                ("cached_rows", .int(Int64(self.cachedRows))),
            ]))
    }
}

extension SyncRun {
    var json: JSONValue {
        .object(
            JSONObject([
                ("id", .int(Int64(self.id))), ("model", .string(self.model)), ("status", .string(self.status.name)),
                ("phase", .string(self.phase.name)), ("started_at_ms", .int(self.startedAtMilliseconds)),
                ("finished_at_ms", .int(self.finishedAtMilliseconds)),
                ("rows_expected", .int(Int64(self.rowsExpected))),
                ("rows_read", .int(Int64(self.rowsRead))), ("rows_added", .int(Int64(self.rowsAdded))),
                ("rows_changed", .int(Int64(self.rowsChanged))), ("rows_removed", .int(Int64(self.rowsRemoved))),
                ("rows_failed", .int(Int64(self.rowsFailed))), ("error", .string(self.error)),
            ]))
    }

    var durationText: String {
        guard self.finishedAtMilliseconds > 0 else { return "-" }
        let ms = self.finishedAtMilliseconds - self.startedAtMilliseconds
        return ms < 10_000 ? "\(ms) ms" : "\(ms / 1_000) s"
    }

    static let tableHeaders = [
        "run", "model", "status", "phase", "started", "duration", "read", "added", "changed", "removed", "failed",
        "error",
    ]

    var tableRow: [String] {
        [
            "\(self.id)", self.model, self.status.name, self.phase.name, time(self.startedAtMilliseconds),
            self.durationText, "\(self.rowsRead)", "\(self.rowsAdded)", "\(self.rowsChanged)", "\(self.rowsRemoved)",
            "\(self.rowsFailed)",
            self.error.count > 60 ? String(self.error.prefix(57)) + "..." : self.error,
        ]
    }
}

extension ColumnValues {
    /// Row `index` as JSON (null where `nulls` says so).
    func json(at index: Int) -> JSONValue {
        if self.nulls[index] { return .null }
        switch self.type {
        case .int64: return .int(self.int64Values[index])
        case .timestamp: return .int(self.int64Values[index])
        case .double: return .double(self.doubleValues[index])
        case .bool: return .bool(self.boolValues[index])
        case .string: return .string(self.stringValues[index])
        case .unspecified: return .null
        }
    }
}
