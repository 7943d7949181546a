import Foundation
import GRDB
import TriageCore

/// The embedded ``QueryStore``: one SQLite file (or memory), shared safely by several processes through WAL and a
/// busy timeout. Every operation is one transaction; claims are a single `UPDATE … RETURNING`, so they are atomic.
public final class SQLiteQueryStore: QueryStore {
    /// How the database is opened.
    public struct Configuration: Sendable {
        /// How long a writer waits for another process's write lock before failing.
        public var busyTimeout: Duration = .seconds(30)
        /// `NORMAL` is durable across process crashes in WAL mode; `FULL` also survives power loss, more slowly.
        public var synchronousFull = false

        public init() {}
    }

    private let writer: any DatabaseWriter

    /// Opens (creating if needed) the store at `location`, which must be an SQLite location.
    /// - Throws: ``StoreError`` if the file cannot be opened or the schema cannot be created.
    public init(location: StoreLocation, configuration: Configuration = Configuration()) throws {
        var config = GRDB.Configuration()
        config.busyMode = .timeout(TimeInterval(configuration.busyTimeout.components.seconds))
        let synchronous = configuration.synchronousFull ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // SQLite's own page cache size (2 MB) on purpose: every commit scans the cache's hash table to drop
            // pages past the file's end, so a 64 MB cache cost a tenth of the processor at a thousand commits a
            // second, more than the reads it saved (the operating system caches the file anyway).
        }
        do {
            switch location {
            case .sqliteFile(let path):
                writer = try Self.openShared(path: path, configuration: config, patience: configuration.busyTimeout)
            case .sqliteMemory:
                writer = try DatabaseQueue(configuration: config)
                try Self.migrator.migrate(writer)
            case .mongodb:
                throw StoreError.invalidLocation("\(location) is not an SQLite store URI")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.unavailable("cannot open SQLite store \(location): \(Self.describe(error))", underlying: error)
        }
    }

    /// Opens the file and brings its schema up to date, again if another process is doing the same at that moment:
    /// switching a new file to WAL fails at once (no busy timeout applies) while another connection does it, and
    /// each migration is its own transaction, so one process may find the table another has just created. A moment
    /// later the file is in WAL mode and the other's migrations read as applied.
    private static func openShared(path: String, configuration: GRDB.Configuration,
                                   patience: Duration) throws -> DatabasePool {
        let deadline = ContinuousClock.now + patience
        var delay = Duration.milliseconds(5)
        var schemaRaces = 0
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try migrator.migrate(pool)
                return pool
            } catch let error as DatabaseError where ContinuousClock.now < deadline {
                switch error.resultCode {
                case .SQLITE_BUSY: break
                case .SQLITE_ERROR where schemaRaces < 3: schemaRaces += 1
                default: throw error
                }
                Thread.sleep(forTimeInterval: delay.timeInterval)
                delay = min(delay * 2, .milliseconds(200))
            }
        }
    }

    public func insert(_ queries: [SupportQuery]) async throws -> InsertResult {
        try await insert { deliver in try deliver(queries) }
    }

    /// One transaction for every chunk: reading and writing stream together, and a bad record anywhere rolls back
    /// everything written before it.
    ///
    /// A query is due from its import, so the backlog is served in the order it arrived (file order within an
    /// import): claims then take neighbouring rows, and a group of results rewrites a few pages of the file rather
    /// than one page per query, as serving by `createdAt` across a shuffled file did.
    public func insert(chunks: @escaping QueryChunks) async throws -> InsertResult {
        do {
            return try await writer.write { db in
                var total = InsertResult(inserted: 0, duplicates: 0)
                let statement = try db.cachedStatement(sql: """
                    INSERT INTO queries (external_id, text, subject, channel, customer_id, created_at, metadata,
                                         expected_category, expected_priority, expected_sentiment,
                                         status, attempts, next_attempt_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                    ON CONFLICT (external_id) DO NOTHING
                    """)
                let now = Date().timeIntervalSince1970
                var delivered = 0
                try chunks { queries in
                    if let index = queries.firstIndex(where: { $0.problem != nil }), let problem = queries[index].problem {
                        throw StoreError.invalidInput("query \(delivered + index + 1): \(problem)")
                    }
                    for query in queries {
                        let row = try QueryRow(query: query)
                        try statement.execute(arguments: [
                            row.externalId, row.text, row.subject, row.channel, row.customerId, row.createdAt,
                            row.metadata, row.expected?.category, row.expected?.priority, row.expected?.sentiment,
                            now, now,
                        ])
                        total.inserted += db.changesCount
                    }
                    delivered += queries.count
                    total.duplicates = delivered - total.inserted
                }
                return total
            }
        } catch let error as DatabaseError {
            throw StoreError.database("SQLite write failed: \(Self.describe(error))", underlying: error)
        }
    }

    public func claim(limit: Int, owner: String, leaseFor: Duration, now: Date) async throws -> [QueryRecord] {
        guard limit > 0 else { return [] }
        let token = UUID().uuidString
        let nowSeconds = now.timeIntervalSince1970
        let expiresAt = nowSeconds + leaseFor.timeInterval
        // Expired leases first (the oldest work), then pending queries by due time: two searches that each walk
        // an index in order and stop at the limit. One search with OR sorted the whole backlog on every claim. The
        // leases' index is named: without statistics SQLite's planner takes the status index and sorts.
        return try await write { db in
            let claim = try db.cachedStatement(sql: """
                UPDATE queries
                SET status = 'processing', attempts = attempts + 1,
                    lease_owner = ?, lease_token = ?, lease_expires_at = ?, updated_at = ?
                WHERE id IN (
                    SELECT id FROM (SELECT id FROM queries INDEXED BY queries_leases
                                    WHERE status = 'processing' AND lease_expires_at <= ?
                                    ORDER BY lease_expires_at LIMIT ?)
                    UNION ALL
                    SELECT id FROM (SELECT id FROM queries
                                    WHERE status = 'pending' AND next_attempt_at <= ?
                                    ORDER BY next_attempt_at, id LIMIT ?)
                    LIMIT ?)
                RETURNING *
                """)
            return try QueryRecordReader.records(claim, arguments: [
                owner, token, expiresAt, nowSeconds, nowSeconds, limit, nowSeconds, limit, limit,
            ]).sorted { $0.id < $1.id }
        }
    }

    /// One transaction for the group; each row's update is fenced by its lease token.
    public func write(_ results: [ResultWrite]) async throws -> Set<QueryID> {
        guard !results.isEmpty else { return [] }
        // Every statement's arguments are made here, before the transaction: the writer is the store's one
        // bottleneck, and spends its time in SQLite only.
        let now = Date().timeIntervalSince1970
        let statements = try results.map { result -> WriteArguments in
            let rowID = try Self.rowID(result.id)
            switch result.outcome {
            case .classified(let classification):
                var values: [BoundValue] = []
                values.reserveCapacity(Classification.fields.count + 3)
                for field in Classification.fields { values.append(BoundValue(field.value(classification))) }
                values += [.real(now), .integer(rowID), .text(result.token)]
                return .classified(values)
            case .failed(let error, let retryAt):
                return .failed([result.outcome.status.rawValue, retryAt?.timeIntervalSince1970, error.kind,
                                error.message, error.at.timeIntervalSince1970, now, rowID, result.token])
            }
        }
        return try await write { db in
            let classified = try db.cachedStatement(sql: Self.writeClassified)
            let failed = try db.cachedStatement(sql: """
                UPDATE queries
                SET status = ?, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                    next_attempt_at = COALESCE(?, next_attempt_at),
                    error_kind = ?, error_message = ?, error_at = ?, updated_at = ?
                WHERE id = ? AND status = 'processing' AND lease_token = ?
                """)
            var lost: Set<QueryID> = []
            for (result, statement) in zip(results, statements) {
                switch statement {
                case .classified(let values): try classified.execute(binding: values)
                case .failed(let arguments): try failed.execute(arguments: arguments)
                }
                if db.changesCount != 1 { lost.insert(result.id) }
            }
            return lost
        }
    }

    public func renew(_ ids: [QueryID], token: String, leaseFor: Duration, now: Date) async throws -> [QueryID] {
        let rowIDs = try ids.map(Self.rowID)
        let expiresAt = now.timeIntervalSince1970 + leaseFor.timeInterval
        return try await write { db in
            var renewed: [QueryID] = []
            for (id, rowID) in zip(ids, rowIDs) {
                try db.execute(
                    sql: """
                        UPDATE queries SET lease_expires_at = ?
                        WHERE id = ? AND status = 'processing' AND lease_token = ?
                        """,
                    arguments: [expiresAt, rowID, token]
                )
                if db.changesCount == 1 { renewed.append(id) }
            }
            return renewed
        }
    }

    public func release(_ ids: [QueryID], token: String) async throws -> Int {
        let rowIDs = try ids.map(Self.rowID)
        return try await write { db in
            var released = 0
            for rowID in rowIDs {
                try db.execute(
                    sql: """
                        UPDATE queries
                        SET status = 'pending', attempts = MAX(attempts - 1, 0),
                            lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
                        WHERE id = ? AND status = 'processing' AND lease_token = ?
                        """,
                    arguments: [rowID, token]
                )
                released += db.changesCount
            }
            return released
        }
    }

    public func summary() async throws -> StoreSummary {
        try await read { db in
            // One walk of the covering index (status, category, priority).
            let rows = try Row.fetchAll(db, sql: """
                SELECT status, category, priority, COUNT(*) AS n FROM queries GROUP BY status, category, priority
                """)
            var summary = StoreSummary(byStatus: [:], byCategory: [:], byPriority: [:])
            for row in rows {
                let (status, count): (String, Int) = (row["status"], row["n"])
                summary.byStatus[status, default: 0] += count
                guard status == QueryStatus.classified.rawValue else { continue }
                summary.byCategory[row["category"] ?? "unknown", default: 0] += count
                summary.byPriority[row["priority"] ?? "unknown", default: 0] += count
            }
            summary.needsReview = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queries WHERE \(Self.awaitingReview)") ?? 0
            summary.corrected = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queries WHERE correction IS NOT NULL") ?? 0
            return summary
        }
    }

    /// Writes a classification under its lease: every field of ``Classification/fields`` into its column.
    static let writeClassified = """
        UPDATE queries
        SET status = 'classified', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
            \(Classification.fields.map { "\($0.column) = ?" }.joined(separator: ", ")), updated_at = ?
        WHERE id = ? AND status = 'processing' AND lease_token = ?
        """

    /// One result's arguments: a classification's bound straight in (``Statement/execute(binding:)``), a failure's
    /// through GRDB.
    private enum WriteArguments {
        case classified([BoundValue])
        case failed(StatementArguments)
    }

    /// The rule's statuses a correction classifies, as an SQL list.
    static let classifiedByCorrection = QueryStatus.classifiedByCorrection.map { "'\($0.rawValue)'" }
        .joined(separator: ", ")

    /// Flagged for review and not corrected yet.
    static let awaitingReview = "needs_review = 1 AND correction IS NULL"

    /// What a claim at a time takes (the time twice as arguments): due pending queries and expired leases.
    static let eligible = """
        (status = 'pending' AND next_attempt_at <= ?) OR (status = 'processing' AND lease_expires_at <= ?)
        """

    public func eligibleCount(now: Date) async throws -> Int {
        let seconds = now.timeIntervalSince1970
        return try await read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM queries WHERE \(Self.eligible)
                """, arguments: [seconds, seconds]) ?? 0
        }
    }

    public func find(_ id: QueryID) async throws -> QueryRecord? {
        guard let rowID = Int64(id.rawValue) else { return nil }
        return try await read { db in
            try QueryRecordReader.records(db.cachedStatement(sql: "SELECT * FROM queries WHERE id = ?"),
                                          arguments: [rowID]).first
        }
    }

    public func find(_ ids: [QueryID]) async throws -> [QueryRecord] {
        let rowIDs = ids.compactMap { Int64($0.rawValue) }
        guard !rowIDs.isEmpty else { return [] }
        return try await read { db in
            var found: [QueryRecord] = []
            // SQLite binds at most 32,766 parameters a statement.
            for start in stride(from: 0, to: rowIDs.count, by: 10_000) {
                let chunk = Array(rowIDs[start..<min(start + 10_000, rowIDs.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                found += try QueryRecordReader.records(db.makeStatement(sql: "SELECT * FROM queries WHERE id IN (\(marks))"),
                                                       arguments: StatementArguments(chunk))
            }
            return found.sorted { $0.id < $1.id }
        }
    }

    public func list(_ filter: QueryFilter, after cursor: QueryID?, limit: Int) async throws -> [QueryRecord] {
        var conditions = ["id > ?"]
        var arguments: StatementArguments = [cursor.flatMap { Int64($0.rawValue) } ?? 0]
        if let status = filter.status {
            conditions.append("status = ?")
            _ = arguments.append(contentsOf: [status.rawValue])
        }
        if let category = filter.category {
            conditions.append("category = ?")
            _ = arguments.append(contentsOf: [category])
        }
        if let now = filter.eligibleAt?.timeIntervalSince1970 {
            conditions.append("(\(Self.eligible))")
            _ = arguments.append(contentsOf: [now, now])
        }
        if let externalId = filter.externalId {
            conditions.append("external_id = ?")
            _ = arguments.append(contentsOf: [externalId])
        }
        if filter.needsReview {
            conditions.append(Self.awaitingReview)
        }
        if filter.labelled {
            conditions.append("(expected_category IS NOT NULL OR correction IS NOT NULL)")
        }
        _ = arguments.append(contentsOf: [limit])
        let sql = "SELECT * FROM queries WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?"
        return try await read { [arguments] db in
            try QueryRecordReader.records(db.cachedStatement(sql: sql), arguments: arguments)
        }
    }

    public func correct(_ id: QueryID, with correction: Correction) async throws -> QueryRecord? {
        guard let rowID = Int64(id.rawValue) else { return nil }
        let json = String(decoding: try JSONEncoder.triage.encode(correction), as: UTF8.self)
        return try await write { db in
            try QueryRecordReader.records(db.makeStatement(sql: """
                UPDATE queries
                SET correction = ?, updated_at = ?,
                    status = CASE WHEN status IN (\(Self.classifiedByCorrection)) THEN 'classified' ELSE status END
                WHERE id = ?
                RETURNING *
                """), arguments: [json, Date().timeIntervalSince1970, rowID]).first
        }
    }

    public func reusable(_ reuseKeys: [String]) async throws -> [String: QueryRecord] {
        guard !reuseKeys.isEmpty else { return [:] }
        return try await read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT * FROM queries WHERE reuse_key = ? AND status = 'classified' LIMIT 1")
            var found: [String: QueryRecord] = [:]
            for key in Set(reuseKeys) {
                found[key] = try QueryRecordReader.records(statement, arguments: [key]).first
            }
            return found
        }
    }

    public func requeueFailed(now: Date) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE queries SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
                    WHERE status = 'failed'
                    """,
                arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970]
            )
            return db.changesCount
        }
    }

    public func saveRun(_ run: RunRecord) async throws {
        let json = String(decoding: try JSONEncoder.triage.encode(run), as: UTF8.self)
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO runs (id, started_at, state, record) VALUES (?, ?, ?, ?)",
                arguments: [run.id, run.statistics.startedAt.timeIntervalSince1970, run.state.rawValue, json]
            )
        }
    }

    public func runs(limit: Int) async throws -> [RunRecord] {
        let rows = try await read { db in
            try String.fetchAll(db, sql: "SELECT record FROM runs ORDER BY started_at DESC LIMIT ?", arguments: [limit])
        }
        return try rows.map { try JSONDecoder.triage.decode(RunRecord.self, from: Data($0.utf8)) }
    }

    public func run(_ id: String) async throws -> RunRecord? {
        let row = try await read { db in
            try String.fetchOne(db, sql: "SELECT record FROM runs WHERE id = ?", arguments: [id])
        }
        return try row.map { try JSONDecoder.triage.decode(RunRecord.self, from: Data($0.utf8)) }
    }
}

extension SQLiteQueryStore: RateBudgetStore {
    public func updateRateBudget<T: Sendable>(
        _ name: String, _ change: @escaping @Sendable (inout RateBudget) -> T
    ) async throws -> T {
        try await write { db in
            let saved = try String.fetchOne(db, sql: "SELECT budget FROM rate_budgets WHERE name = ?", arguments: [name])
            var budget = try saved.map { try JSONDecoder.triage.decode(RateBudget.self, from: Data($0.utf8)) }
                ?? RateBudget()
            let result = change(&budget)
            try db.execute(sql: "INSERT OR REPLACE INTO rate_budgets (name, budget) VALUES (?, ?)",
                           arguments: [name, String(decoding: try JSONEncoder.triage.encode(budget), as: UTF8.self)])
            return result
        }
    }
}

extension SQLiteQueryStore: ProviderBatchStore {
    public func saveBatch(_ batch: ProviderBatch) async throws {
        let json = String(decoding: try JSONEncoder.triage.encode(batch), as: UTF8.self)
        try await write { db in
            // An upsert that leaves the batch's hold alone.
            try db.execute(sql: """
                INSERT INTO provider_batches (id, created_at, record, provider_batch_id, state, provider, endpoint)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, record = excluded.record,
                    provider_batch_id = excluded.provider_batch_id, state = excluded.state,
                    provider = excluded.provider, endpoint = excluded.endpoint
                """, arguments: [batch.id, batch.createdAt.timeIntervalSince1970, json, batch.providerBatchId,
                                 batch.state.rawValue, batch.provider, batch.endpoint])
        }
    }

    public func batches(limit: Int) async throws -> [ProviderBatch] {
        try await batchRecords("SELECT record FROM provider_batches ORDER BY created_at DESC LIMIT ?", [limit])
    }

    public func batch(_ id: String) async throws -> ProviderBatch? {
        try await batchRecords("SELECT record FROM provider_batches WHERE id = ? OR provider_batch_id = ? LIMIT 1",
                               [id, id]).first
    }

    public func unfinishedBatches(provider: String, endpoint: String) async throws -> [ProviderBatch] {
        try await batchRecords("""
            SELECT record FROM provider_batches
            WHERE provider = ? AND endpoint = ? AND state != 'ingested' ORDER BY created_at
            """, [provider, endpoint])
    }

    public func holdBatches(_ ids: [String], holder: String, until: Date, now: Date) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await write { db in
            var held: Set<String> = []
            for id in ids {
                try db.execute(sql: """
                    UPDATE provider_batches SET holder = ?, held_until = ?
                    WHERE id = ? AND (held_until IS NULL OR held_until <= ? OR holder = ?)
                    """, arguments: [holder, until.timeIntervalSince1970, id, now.timeIntervalSince1970, holder])
                if db.changesCount == 1 { held.insert(id) }
            }
            return held
        }
    }

    private func batchRecords(_ sql: String, _ arguments: StatementArguments) async throws -> [ProviderBatch] {
        try await read { db in
            try String.fetchAll(db, sql: sql, arguments: arguments)
                .map { try JSONDecoder.triage.decode(ProviderBatch.self, from: Data($0.utf8)) }
        }
    }
}

extension SQLiteQueryStore {
    static func rowID(_ id: QueryID) throws -> Int64 {
        guard let rowID = Int64(id.rawValue) else { throw StoreError.notFound("no query with id '\(id)'") }
        return rowID
    }

    /// The one place GRDB errors become ``StoreError``s.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.write(body)
        } catch let error as StoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw StoreError.database("SQLite write failed: \(Self.describe(error))", underlying: error)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.read(body)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw StoreError.database("SQLite read failed: \(Self.describe(error))", underlying: error)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        return "\(error)"
    }
}
