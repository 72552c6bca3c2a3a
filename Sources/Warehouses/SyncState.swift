package import EnrichPolicy
package import ModelCache

// Sync bookkeeping kept in the warehouse itself, as Segment keeps `_segment_reverse_etl`: per-row checksums of
// what the cache holds, one checkpoint per model, and rows that failed with their retry count:
// `_enrich_state.{checkpoints,failed_rows,rows_<model hash>}` in PostgreSQL (a schema) and
// `_enrich_state_{checkpoints,failed_rows,rows_<model hash>}` in SQLite (a prefix). Each model's checksums have a
// table of their own, so a full read replaces it wholesale (drop, create, bulk load) instead of deleting and
// re-inserting a million index entries. A sync reads, diffs and writes
// them in one warehouse transaction, and writes only after its snapshot is published: a crash in between leaves
// the old checkpoint, whose version no longer matches the served snapshot, so the next run reads everything.

/// The state a model's last successful sync left.
package struct StateCheckpoint: Sendable, Hashable {
    /// The version (run id) of the snapshot the row checksums describe.
    package var snapshotVersion: UInt64
    package var rows: Int
    /// The columns (names and types) the checksums were computed over; a change forces a full read.
    package var columns: String

    package init(snapshotVersion: UInt64, rows: Int, columns: String) {
        self.snapshotVersion = snapshotVersion
        self.rows = rows
        self.columns = columns
    }
}

/// A source row the cache now holds: its key as the warehouse renders it as text, and its checksum.
package struct RowChecksum: Sendable, Hashable {
    package var key: String
    package var checksum: Int64

    package init(key: String, checksum: Int64) {
        self.key = key
        self.checksum = checksum
    }
}

/// A source row a sync left out.
package struct RejectedRow: Sendable, Hashable {
    /// Nil when the primary key is NULL (such rows cannot be tracked and are reported on every run).
    package var key: String?
    package var checksum: Int64
    package var reason: String

    package init(key: String?, checksum: Int64, reason: String) {
        self.key = key
        self.checksum = checksum
        self.reason = reason
    }
}

/// A failed row's retry state, as `failed_rows` keeps it.
package struct FailedRowState: Sendable, Hashable {
    package var key: String
    package var checksum: Int64
    package var reason: String
    package var attempts: Int
    package var firstFailedAtMilliseconds: Int64
    package var lastFailedAtMilliseconds: Int64
    /// No longer retried unless the row changes.
    package var givenUp: Bool

    package init(
        key: String, checksum: Int64, reason: String, attempts: Int, firstFailedAtMilliseconds: Int64,
        lastFailedAtMilliseconds: Int64, givenUp: Bool
    ) {
        self.key = key
        self.checksum = checksum
        self.reason = reason
        self.attempts = attempts
        self.firstFailedAtMilliseconds = firstFailedAtMilliseconds
        self.lastFailedAtMilliseconds = lastFailedAtMilliseconds
        self.givenUp = givenUp
    }
}

/// Segment's retry rule for failed records: retried on later syncs for up to `RetryLimits.maxAttempts` syncs or
/// `maxAgeMilliseconds`, then given up; at most `maxTrackedFailures` rows tracked per model.
package enum RetryPolicy {

    /// The failure states after a run: `previous` with `rejected` applied. A row that failed again counts one
    /// more attempt; a row whose contents changed since it was given up starts over. With `readAll`, keys not
    /// rejected this time are forgotten (they were read and accepted, or are gone); otherwise only keys in
    /// `extracted` are.
    package static func apply(
        previous: [FailedRowState], rejected: [RejectedRow], extracted: Set<String>, readAll: Bool, now: Int64,
        limits: RetryLimits
    ) -> [FailedRowState] {
        var byKey: [String: FailedRowState] = [:]
        for state in previous where !readAll && !extracted.contains(state.key) { byKey[state.key] = state }
        let earlier = Dictionary(previous.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        for row in rejected {
            // A key with several rejected rows (duplicates) counts one attempt per run.
            guard let key = row.key, seen.insert(key).inserted else { continue }
            guard byKey.count < limits.maxTrackedFailures else { break }
            var state = FailedRowState(
                key: key, checksum: row.checksum, reason: row.reason, attempts: 1, firstFailedAtMilliseconds: now,
                lastFailedAtMilliseconds: now, givenUp: false
            )
            if let old = earlier[key], !(old.givenUp && old.checksum != row.checksum) {
                state.attempts = old.attempts + 1
                state.firstFailedAtMilliseconds = old.firstFailedAtMilliseconds
            }
            state.givenUp =
                state.attempts >= limits.maxAttempts
                || now - state.firstFailedAtMilliseconds >= limits.maxAgeMilliseconds
            byKey[key] = state
        }
        return byKey.values.sorted { $0.key < $1.key }
    }
}

/// What a finished sync writes back.
package struct StateCommit: Sendable {
    package var checkpoint: StateCheckpoint
    /// Whether the run read every row (the row checksums were reset at its start).
    package var readAll: Bool
    /// Rows the new snapshot holds that were read this run.
    package var accepted: [RowChecksum]
    /// Keys that were in the state and are no longer in the source.
    package var removed: [String]
    package var rejected: [RejectedRow]
    package var nowMilliseconds: Int64
    /// How long failed rows are retried.
    package var retry: RetryLimits

    package init(
        checkpoint: StateCheckpoint, readAll: Bool, accepted: [RowChecksum], removed: [String], rejected: [RejectedRow],
        nowMilliseconds: Int64, retry: RetryLimits = RetryLimits()
    ) {
        self.retry = retry
        self.checkpoint = checkpoint
        self.readAll = readAll
        self.accepted = accepted
        self.removed = removed
        self.rejected = rejected
        self.nowMilliseconds = nowMilliseconds
    }
}

/// One sync of one model against its warehouse, inside one warehouse transaction that `commit` ends. Released
/// without a commit, the transaction rolls back and the state stays as it was.
package protocol SyncSession: AnyObject {
    func describe() throws(WarehouseError) -> [SourceColumn]
    func estimatedRowCount() throws(WarehouseError) -> Int?
    /// The last successful sync's checkpoint, or nil.
    func checkpoint() throws(WarehouseError) -> StateCheckpoint?
    /// Forgets the model's row checksums, so the next scan reads every row (a full resync).
    func resetRows() throws(WarehouseError)
    /// Pushes rows into `sink` as column 0 = the key as text, column 1 = the row's checksum (int64), then
    /// `columns`. With `changedOnly`, only the rows of keys that are new, changed, or failed and not given up.
    func scan<Sink: RowSink>(
        columns: [SourceColumn], primaryKey: String, changedOnly: Bool, into sink: inout Sink, progress: (Int) -> Bool
    ) throws(WarehouseError)
    /// Keys the state holds that the source no longer has, as the preceding `changedOnly` scan found them.
    func removedKeys() throws(WarehouseError) -> [String]
    /// Writes checksums, failures and the checkpoint, and commits. Returns the failure states of the rejected
    /// rows (attempts, given up).
    func commit(_ commit: StateCommit) throws(WarehouseError) -> [FailedRowState]
}

/// The SQL a state session needs that differs between warehouses.
protocol StateDialect {
    /// "_enrich_state." or "_enrich_state_".
    var statePrefix: String { get }
    /// An expression rendering column `column` of alias `s` as text.
    func keyText(_ column: String) -> String
    /// An expression giving a 64-bit checksum of `columns` of alias `s`.
    func checksum(_ columns: [SourceColumn]) -> String
    /// Creates a model's checksum table (`index`: its key index, made after a bulk load, or nil when the
    /// warehouse joins without one).
    func rowsTable(_ name: String) -> (create: String, index: String?)
    /// A query answering one row when table `name` exists.
    func tableExists(_ name: String) -> String
    /// `FROM` clause target for the source, aliased `s` (checked to exist when the session opened).
    var from: String { get }
    /// A clause that keeps a subquery from being merged into its parent, so the checksum is computed once per
    /// row instead of once per use (neither planner eliminates common subexpressions).
    var fence: String { get }
    /// A statement refreshing the planner's statistics of a temporary table, where the warehouse needs one.
    func analyze(_ table: String) -> String?
}

/// The connection operations a state session needs; each warehouse implements them over its own client.
protocol StateDriver: AnyObject {
    func execute(_ sql: String) throws(WarehouseError)
    func rows(_ sql: String) throws(WarehouseError) -> [[String?]]
    /// Inserts rows of text cells (nil for NULL) into `table`'s `columns`.
    func insert(into table: String, columns: [String], rows: [[String?]]) throws(WarehouseError)
    /// Bulk-loads (key, checksum) pairs into a checksum table.
    func insertChecksums(into table: String, _ rows: [RowChecksum]) throws(WarehouseError)
    func scanQuery<Sink: RowSink>(
        _ sql: String, types: [DataType], names: [String], into sink: inout Sink, progress: (Int) -> Bool)
        throws(WarehouseError)
    /// Ends the reads and starts the transaction that writes the state.
    func beginWrite() throws(WarehouseError)
}

/// A SQL string literal.
func sqlLiteral(_ text: String) -> String {
    "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
}

/// Quotes an identifier for SQL ("a""b" for a"b); PostgreSQL and SQLite agree on it.
func quoteIdentifier(_ identifier: String) -> String {
    "\"" + identifier.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}

/// The state logic, once for every warehouse: SQL from the dialect, I/O through the driver.
final class StateSession<Driver: StateDriver, Dialect: StateDialect>: SyncSession {
    let driver: Driver
    let dialect: Dialect
    let model: String
    private let describeSource: () throws(WarehouseError) -> [SourceColumn]
    private let estimate: () throws(WarehouseError) -> Int?

    init(
        driver: Driver, dialect: Dialect, model: String,
        describe: @escaping () throws(WarehouseError) -> [SourceColumn],
        estimate: @escaping () throws(WarehouseError) -> Int?
    ) {
        self.driver = driver
        self.dialect = dialect
        self.model = model
        self.describeSource = describe
        self.estimate = estimate
    }

    private var table: (String) -> String { { self.dialect.statePrefix + $0 } }
    private var modelLiteral: String { sqlLiteral(self.model) }
    /// This model's checksum table.
    private var rowsTable: String { self.table(rowsTableName(model: self.model)) }

    func describe() throws(WarehouseError) -> [SourceColumn] { try self.describeSource() }
    func estimatedRowCount() throws(WarehouseError) -> Int? { try self.estimate() }

    func checkpoint() throws(WarehouseError) -> StateCheckpoint? {
        // Without its checksum table a checkpoint describes nothing.
        guard !(try self.driver.rows(self.dialect.tableExists(self.rowsTable))).isEmpty else { return nil }
        let rows = try self.driver.rows(
            "SELECT snapshot_version, row_count, columns FROM \(self.table("checkpoints")) WHERE model = \(self.modelLiteral)"
        )
        guard let row = rows.first, let version = row[0].flatMap({ Int64($0) }), let count = row[1].flatMap({ Int($0) })
        else {
            return nil
        }
        return StateCheckpoint(snapshotVersion: UInt64(bitPattern: version), rows: count, columns: row[2] ?? "")
    }

    func resetRows() throws(WarehouseError) {
        try self.driver.execute("DROP TABLE IF EXISTS \(self.rowsTable)")
        try self.driver.execute(self.dialect.rowsTable(self.rowsTable).create)
    }

    /// `SELECT key, checksum, columns FROM source s`.
    private func rowsSQL(columns: [SourceColumn], primaryKey: String) throws(WarehouseError) -> String {
        let quoted = columns.map { "s." + quoteIdentifier($0.name) }
        return
            "SELECT \(self.dialect.keyText(quoteIdentifier(primaryKey))) AS enrich_key, \(self.dialect.checksum(columns)) AS enrich_checksum, "
            + quoted.joined(separator: ", ") + " FROM " + self.dialect.from
    }

    func scan<Sink: RowSink>(
        columns: [SourceColumn], primaryKey: String, changedOnly: Bool, into sink: inout Sink, progress: (Int) -> Bool
    ) throws(WarehouseError) {
        let rows = try self.rowsSQL(columns: columns, primaryKey: primaryKey)
        var sql = rows
        if changedOnly {
            // One pass over the source and the checksum table (a full outer join) finds both the dirty keys (new,
            // changed, or failed and not given up) and the removed ones, into a temporary table the planner then
            // knows the size of. Every source row of a dirty key is read again, so a key with duplicate rows is
            // judged on all of them.
            try self.driver.execute("DROP TABLE IF EXISTS enrich_changes")
            try self.driver.execute(
                """
                CREATE TEMPORARY TABLE enrich_changes AS
                SELECT DISTINCT CASE WHEN d.present IS NULL THEN 'removed' ELSE 'dirty' END AS kind,
                    coalesce(d.enrich_key, st.key) AS key
                FROM (SELECT enrich_key, enrich_checksum, 1 AS present FROM (\(rows)) r\(self.dialect.fence)) d
                FULL JOIN \(self.rowsTable) st ON st.key = d.enrich_key
                LEFT JOIN \(self.table("failed_rows")) f
                    ON f.model = \(self.modelLiteral) AND f.key = d.enrich_key AND f.given_up AND f.checksum = d.enrich_checksum
                WHERE d.present IS NULL OR ((st.key IS NULL OR st.checksum <> d.enrich_checksum) AND f.key IS NULL)
                """)
            if let analyze = self.dialect.analyze("enrich_changes") { try self.driver.execute(analyze) }
            sql = """
                SELECT src.* FROM (\(rows)) src
                WHERE src.enrich_key IN (SELECT key FROM enrich_changes WHERE kind = 'dirty' AND key IS NOT NULL)
                """
            if !(try self.driver.rows("SELECT 1 FROM enrich_changes WHERE kind = 'dirty' AND key IS NULL LIMIT 1"))
                .isEmpty
            {
                sql += " UNION ALL SELECT src.* FROM (\(rows)) src WHERE src.enrich_key IS NULL"
            }
        }
        try self.driver.scanQuery(
            sql, types: [.string, .int64] + columns.map(\.type),
            names: ["enrich_key", "enrich_checksum"] + columns.map(\.name),
            into: &sink, progress: progress
        )
    }

    func removedKeys() throws(WarehouseError) -> [String] {
        // Found by the changed-rows scan, which must come first.
        try self.driver.rows("SELECT key FROM enrich_changes WHERE kind = 'removed'").compactMap { $0.first ?? nil }
    }

    private func failures() throws(WarehouseError) -> [FailedRowState] {
        try self.driver.rows(
            """
            SELECT key, checksum, reason, attempts, first_failed_at_ms, last_failed_at_ms, given_up
            FROM \(self.table("failed_rows")) WHERE model = \(self.modelLiteral)
            """
        ).compactMap { row in
            guard let key = row[0], let checksum = row[1].flatMap({ Int64($0) }),
                let attempts = row[3].flatMap({ Int($0) }),
                let first = row[4].flatMap({ Int64($0) }), let last = row[5].flatMap({ Int64($0) })
            else { return nil }
            let givenUp = row[6] == "t" || row[6] == "1" || row[6] == "true"
            return FailedRowState(
                key: key, checksum: checksum, reason: row[2] ?? "", attempts: attempts,
                firstFailedAtMilliseconds: first,
                lastFailedAtMilliseconds: last, givenUp: givenUp
            )
        }
    }

    func commit(_ commit: StateCommit) throws(WarehouseError) -> [FailedRowState] {
        let checksums = self.rowsTable
        try self.driver.beginWrite()
        // The keys this run read, which the retry bookkeeping needs only when the run did not read everything.
        var extracted = Set<String>()
        if !commit.readAll {
            extracted = Set(commit.accepted.map(\.key))
            for row in commit.rejected { if let key = row.key { extracted.insert(key) } }
            let stale = Array(extracted) + commit.removed
            if !stale.isEmpty {
                try self.driver.execute("CREATE TEMPORARY TABLE IF NOT EXISTS enrich_stale_keys (key text)")
                try self.driver.execute("DELETE FROM enrich_stale_keys")
                try self.driver.insert(into: "enrich_stale_keys", columns: ["key"], rows: stale.map { [$0] })
                try self.driver.execute("DELETE FROM \(checksums) WHERE key IN (SELECT key FROM enrich_stale_keys)")
            }
        }
        try self.driver.insertChecksums(into: checksums, commit.accepted)
        if commit.readAll, let index = self.dialect.rowsTable(checksums).index { try self.driver.execute(index) }
        let failures = RetryPolicy.apply(
            previous: try self.failures(), rejected: commit.rejected, extracted: extracted, readAll: commit.readAll,
            now: commit.nowMilliseconds, limits: commit.retry
        )
        try self.driver.execute("DELETE FROM \(self.table("failed_rows")) WHERE model = \(self.modelLiteral)")
        try self.driver.insert(
            into: self.table("failed_rows"),
            columns: [
                "model", "key", "checksum", "reason", "attempts", "first_failed_at_ms", "last_failed_at_ms", "given_up",
            ],
            rows: failures.map {
                [
                    self.model, $0.key, String($0.checksum), $0.reason, String($0.attempts),
                    String($0.firstFailedAtMilliseconds),
                    String($0.lastFailedAtMilliseconds), $0.givenUp ? "1" : "0",
                ]
            }
        )
        let checkpoint = commit.checkpoint
        try self.driver.execute(
            """
            INSERT INTO \(self.table("checkpoints")) (model, snapshot_version, row_count, columns, synced_at_ms)
            VALUES (\(self.modelLiteral), \(Int64(bitPattern: checkpoint.snapshotVersion)), \(checkpoint.rows),
                    \(sqlLiteral(checkpoint.columns)), \(commit.nowMilliseconds))
            ON CONFLICT (model) DO UPDATE SET snapshot_version = excluded.snapshot_version, row_count = excluded.row_count,
                columns = excluded.columns, synced_at_ms = excluded.synced_at_ms
            """)
        try self.driver.execute("COMMIT")
        if commit.readAll, let analyze = self.dialect.analyze(checksums) {
            // Fresh statistics after a bulk load; a user who does not own the table gets a warning, not an error.
            try? self.driver.execute(analyze)
        }
        let rejectedKeys = Set(commit.rejected.compactMap(\.key))
        return failures.filter { rejectedKeys.contains($0.key) }
    }
}

/// The name (without prefix) of a model's checksum table: "rows_" and a 64-bit FNV-1a hash of the model's state
/// key in hex, so any model name makes a valid, short identifier.
func rowsTableName(model: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in model.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    let hex = String(hash, radix: 16)
    return "rows_" + String(repeating: "0", count: 16 - hex.count) + hex
}

/// Statements removing everything the state holds for `model`: after the model is deleted.
func forgetStateStatements(prefix: String, model: String) -> [String] {
    [
        "DROP TABLE IF EXISTS \(prefix)\(rowsTableName(model: model))",
        "DELETE FROM \(prefix)checkpoints WHERE model = \(sqlLiteral(model))",
        "DELETE FROM \(prefix)failed_rows WHERE model = \(sqlLiteral(model))",
    ]
}

/// Proves the state tables can be created (`create`, when they are missing) and written, in a transaction that
/// is rolled back: a connection test leaves nothing behind.
func probeStateWrites(
    _ driver: some StateDriver, begin: String, create: [String], prefix: String
) throws(WarehouseError) {
    try driver.execute(begin)
    for statement in create { try driver.execute(statement) }
    try driver.execute(
        "INSERT INTO \(prefix)checkpoints VALUES ('enrich probe', 0, 0, '', 0) ON CONFLICT (model) DO NOTHING")
    try driver.execute("ROLLBACK")
}

/// The state tables' definitions, shared by both dialects (`boolean` is an integer affinity in SQLite).
func stateTableStatements(prefix: String) -> [String] {
    [
        """
        CREATE TABLE IF NOT EXISTS \(prefix)checkpoints (model text PRIMARY KEY, snapshot_version bigint NOT NULL,
            row_count bigint NOT NULL, columns text NOT NULL, synced_at_ms bigint NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS \(prefix)failed_rows (model text NOT NULL, key text NOT NULL, checksum bigint NOT NULL,
            reason text NOT NULL, attempts integer NOT NULL, first_failed_at_ms bigint NOT NULL,
            last_failed_at_ms bigint NOT NULL, given_up boolean NOT NULL, PRIMARY KEY (model, key))
        """,
    ]
}
