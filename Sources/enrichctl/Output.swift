import ClientCommandLine
import EnrichClient
import EventJSON
import ModelCache

/// Renders rows as an aligned text table.
enum Table {
    /// The rows as a table for people, or as CSV (RFC 4180, a header row) under `--output csv`.
    static func render(_ headers: [String], _ rows: [[String]]) -> String {
        if OutputFormat.selected == .csv {
            return ([headers] + rows).map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n")
        }
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

/// Prints a structured answer: JSON, or YAML under `--output yaml` (one document per value).
func printJSON(_ value: JSONValue) {
    if OutputFormat.selected == .yaml {
        print("---\n" + YAML.render(value))
    } else {
        print(JSONWriter.string(value))
    }
}

/// YAML for JSON values: block mappings and sequences, strings quoted as JSON strings (valid YAML), so no
/// value can be misread as another type.
enum YAML {
    static func render(_ value: JSONValue, indent: String = "") -> String {
        switch value {
        case .object(let object) where object.count > 0:
            return object.map { key, child in
                indent + Self.scalarKey(key) + ":" + Self.nested(child, indent: indent + "  ")
            }.joined(separator: "\n")
        case .array(let items) where !items.isEmpty:
            return items.map { item in
                switch item {
                case .object(let object) where object.count > 0:
                    // The first key on the dash's line, the rest aligned under it.
                    let body = Self.render(item, indent: indent + "  ")
                    return indent + "- " + body.dropFirst(indent.count + 2)
                default: return indent + "-" + Self.nested(item, indent: indent + "  ")
                }
            }.joined(separator: "\n")
        default:
            return indent + Self.scalar(value)
        }
    }

    private static func nested(_ value: JSONValue, indent: String) -> String {
        switch value {
        case .object(let object) where object.count > 0: "\n" + Self.render(value, indent: indent)
        case .array(let items) where !items.isEmpty: "\n" + Self.render(value, indent: indent)
        default: " " + Self.scalar(value)
        }
    }

    private static func scalar(_ value: JSONValue) -> String {
        switch value {
        case .object: "{}"
        case .array: "[]"
        default: JSONWriter.string(value)
        }
    }

    /// A key as is when it is a plain identifier YAML cannot read as anything else, quoted otherwise.
    private static func scalarKey(_ key: String) -> String {
        let plain =
            key.first.map { $0.isLetter || $0 == "_" } == true
            && key.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" }
            && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].contains(key.lowercased())
        return plain ? key : JSONWriter.string(.string(key))
    }
}

/// A time in ISO 8601 (UTC, milliseconds), as Enrich writes timestamp cells; "-" for 0 (not set).
func time(_ milliseconds: Int64) -> String {
    milliseconds == 0 ? "-" : Timestamp.iso8601(microseconds: milliseconds * 1_000)
}

/// A duration in milliseconds, for people: "850 ms", "12.5 s", "3 min 20 s", "2 h 5 min".
func duration(_ milliseconds: Int64) -> String {
    switch milliseconds {
    case ..<10_000: "\(milliseconds) ms"
    case ..<60_000: "\(milliseconds / 1_000).\(milliseconds % 1_000 / 100) s"
    case ..<3_600_000: "\(milliseconds / 60_000) min \(milliseconds % 60_000 / 1_000) s"
    default: "\(milliseconds / 3_600_000) h \(milliseconds % 3_600_000 / 60_000) min"
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
                ("cached_rows", .int(Int64(self.cachedRows))), ("served_run", .int(Int64(self.servedRunID))),
                ("served_at", self.servedAtMilliseconds == 0 ? .null : .string(time(self.servedAtMilliseconds))),
                ("last_run", .int(Int64(self.lastRunID))),
                ("last_status", self.lastRunID == 0 ? .null : .string(self.lastRunStatus.name)),
                (
                    "last_finished_at",
                    self.lastRunFinishedAtMilliseconds == 0 ? .null : .string(time(self.lastRunFinishedAtMilliseconds))
                ),
                ("last_error", .string(self.lastRunError)),
            ]))
    }

    /// How old the served data is ("4 min 10 s"), or "-" when nothing is served.
    func age(now: Int64) -> String {
        self.servedAtMilliseconds == 0 ? "-" : duration(max(0, now - self.servedAtMilliseconds))
    }

    /// The latest run's status, or "never".
    var lastStatus: String { self.lastRunID == 0 ? "never" : self.lastRunStatus.name }
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
                ("cancelled", .bool(self.cancelled)),
                ("started_at", .string(time(self.startedAtMilliseconds))),
                ("finished_at", self.finishedAtMilliseconds == 0 ? .null : .string(time(self.finishedAtMilliseconds))),
            ]))
    }

    /// One run, a field per line, with the whole error.
    var details: String {
        var lines: [(String, String)] = [
            ("run", "\(self.id)"), ("model", self.model),
            ("status", self.status.name + (self.cancelled ? " (cancelled)" : "")), ("phase", self.phase.name),
            ("started", time(self.startedAtMilliseconds)), ("finished", time(self.finishedAtMilliseconds)),
            ("duration", self.durationText),
            (
                "rows",
                "\(self.rowsRead) read, \(self.rowsAdded) added, \(self.rowsChanged) changed, "
                    + "\(self.rowsRemoved) removed, \(self.rowsFailed) left out"
            ),
        ]
        if !self.error.isEmpty { lines.append(("error", self.error)) }
        if self.rowsFailed > 0 { lines.append(("left out", "enrichctl sync errors \(self.id)")) }
        return lines.map { name, value in name + String(repeating: " ", count: 10 - name.count) + value }
            .joined(separator: "\n")
    }

    var durationText: String {
        guard self.finishedAtMilliseconds > 0 else { return "-" }
        return duration(self.finishedAtMilliseconds - self.startedAtMilliseconds)
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
            // The whole error is in `sync status RUN`.
            self.error.count > 60 ? String(self.error.prefix(56)) + " ..." : self.error,
        ]
    }
}

extension ColumnValues {
    /// Row `index` as JSON (null where `nulls` says so).
    func json(at index: Int) -> JSONValue {
        if self.nulls[index] { return .null }
        switch self.type {
        case .int64: return .int(self.int64Values[index])
        case .timestamp: return .string(Timestamp.iso8601(microseconds: self.int64Values[index]))
        case .double: return .double(self.doubleValues[index])
        case .bool: return .bool(self.boolValues[index])
        case .string: return .string(self.stringValues[index])
        case .unspecified: return .null
        }
    }
}

extension Table {
    /// A CSV field: quoted when it holds a comma, a quote or a line break, quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }
}
