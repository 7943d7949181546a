import Foundation
import GRDB
import TriageCore

extension SQLiteQueryStore {
    /// The schema, versioned so that later releases can migrate existing files.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE queries (
                    id INTEGER PRIMARY KEY,
                    external_id TEXT UNIQUE,
                    text TEXT NOT NULL,
                    subject TEXT,
                    channel TEXT,
                    customer_id TEXT,
                    created_at REAL NOT NULL,
                    metadata TEXT,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    lease_owner TEXT,
                    lease_token TEXT,
                    lease_expires_at REAL,
                    error_kind TEXT,
                    error_message TEXT,
                    error_at REAL,
                    category TEXT,
                    priority TEXT,
                    sentiment TEXT,
                    language TEXT,
                    confidence REAL,
                    summary TEXT,
                    model TEXT,
                    taxonomy_version TEXT,
                    prompt_tokens INTEGER,
                    completion_tokens INTEGER,
                    latency_ms REAL,
                    classified_at REAL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX queries_status_next_attempt ON queries (status, next_attempt_at);
                CREATE INDEX queries_lease_expires ON queries (lease_expires_at);
                CREATE INDEX queries_category ON queries (category);
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY,
                    started_at REAL NOT NULL,
                    state TEXT NOT NULL,
                    record TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-cost") { db in
            try db.execute(sql: "ALTER TABLE queries ADD COLUMN cost_usd REAL")
        }
        migrator.registerMigration("v3-labels") { db in
            try db.execute(sql: """
                ALTER TABLE queries ADD COLUMN expected_category TEXT;
                ALTER TABLE queries ADD COLUMN expected_priority TEXT;
                ALTER TABLE queries ADD COLUMN expected_sentiment TEXT;
                ALTER TABLE queries ADD COLUMN needs_review INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE queries ADD COLUMN correction TEXT;
                CREATE INDEX queries_needs_review ON queries (needs_review) WHERE needs_review = 1;
                """)
        }
        migrator.registerMigration("v4-rate-budgets") { db in
            // One row per provider key (named by a hash): the shared limits' schedules, as RateBudget's JSON.
            try db.execute(sql: "CREATE TABLE rate_budgets (name TEXT PRIMARY KEY, budget TEXT NOT NULL)")
        }
        migrator.registerMigration("v5-summary-indexes") { db in
            // `summary` (triage stats, /v1/stats) counts from these alone: under 0.1 s at a million queries, where
            // scanning the table took two seconds.
            try db.execute(sql: """
                CREATE INDEX queries_summary ON queries (status, category, priority);
                CREATE INDEX queries_corrected ON queries (id) WHERE correction IS NOT NULL;
                """)
        }
        migrator.registerMigration("v6-reuse") { db in
            try db.execute(sql: """
                ALTER TABLE queries ADD COLUMN reuse_key TEXT;
                ALTER TABLE queries ADD COLUMN reused_from TEXT;
                CREATE INDEX queries_reuse_key ON queries (reuse_key) WHERE reuse_key IS NOT NULL;
                """)
        }
        migrator.registerMigration("v7-provider-batches") { db in
            // One row per provider batch: its record as JSON, and what lists and finds it.
            try db.execute(sql: """
                CREATE TABLE provider_batches (
                    id TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    record TEXT NOT NULL
                );
                CREATE INDEX provider_batches_created ON provider_batches (created_at);
                """)
        }
        migrator.registerMigration("v8-provider-batch-lookups") { db in
            // What finds a batch without reading every record: by the provider's id (`triage batches cancel`), and
            // the unfinished ones of a provider's endpoint (a run started again), however many batches were kept.
            try db.execute(sql: """
                ALTER TABLE provider_batches ADD COLUMN provider_batch_id TEXT;
                ALTER TABLE provider_batches ADD COLUMN state TEXT NOT NULL DEFAULT 'submitting';
                ALTER TABLE provider_batches ADD COLUMN provider TEXT NOT NULL DEFAULT '';
                ALTER TABLE provider_batches ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
                UPDATE provider_batches SET provider_batch_id = json_extract(record, '$.providerBatchId'),
                    state = json_extract(record, '$.state'), provider = json_extract(record, '$.provider'),
                    endpoint = json_extract(record, '$.endpoint');
                CREATE INDEX provider_batches_provider_id ON provider_batches (provider_batch_id)
                    WHERE provider_batch_id IS NOT NULL;
                CREATE INDEX provider_batches_unfinished ON provider_batches (provider, endpoint, created_at)
                    WHERE state != 'ingested';
                """)
        }
        migrator.registerMigration("v9-cached-prompt-tokens") { db in
            // Every field of Classification.fields has its column; this one was carried but never kept.
            try db.execute(sql: "ALTER TABLE queries ADD COLUMN cached_prompt_tokens INTEGER")
        }
        migrator.registerMigration("v10-provider-batch-holds") { db in
            // Which run follows a batch, and until when (ProviderBatchStore.holdBatches).
            try db.execute(sql: """
                ALTER TABLE provider_batches ADD COLUMN holder TEXT;
                ALTER TABLE provider_batches ADD COLUMN held_until REAL;
                """)
        }
        migrator.registerMigration("v11-answer-sources") { db in
            // Who answered (the model or the examples), and what was wrong with a field the answer kept.
            try db.execute(sql: """
                ALTER TABLE queries ADD COLUMN answered_by TEXT;
                ALTER TABLE queries ADD COLUMN field_problems TEXT;
                """)
        }
        migrator.registerMigration("v12-redactions") { db in
            // What was redacted before the query was sent, by kind (never the values).
            try db.execute(sql: "ALTER TABLE queries ADD COLUMN redactions TEXT")
        }
        migrator.registerMigration("v13-lease-index") { db in
            // Expired leases are searched among the queries being processed only (a claim's first search): an index
            // of those alone, which a claim adds to and a result removes from. The index of every row's expiry
            // (mostly empty) was never chosen by SQLite's planner, and cost two changes per claim and per result.
            try db.execute(sql: """
                DROP INDEX queries_lease_expires;
                CREATE INDEX queries_leases ON queries (lease_expires_at) WHERE status = 'processing';
                """)
        }
        return migrator
    }
}

/// A query's input columns, prepared for binding.
struct QueryRow {
    var externalId: String?
    var text: String
    var subject: String?
    var channel: String?
    var customerId: String?
    var createdAt: Double
    var metadata: String?
    var expected: ExpectedLabels?

    init(query: SupportQuery) throws {
        externalId = query.externalId
        text = query.text
        subject = query.subject
        channel = query.channel
        customerId = query.customerId
        createdAt = query.createdAt.timeIntervalSince1970
        metadata = query.metadata.isEmpty
            ? nil
            : String(decoding: try JSONEncoder.triage.encode(query.metadata), as: UTF8.self)
        expected = query.expected?.isEmpty == false ? query.expected : nil
    }
}

/// Reads `queries` rows straight from SQLite's statement, column by position: every read of the table selects all its
/// columns, whose positions are looked up once per statement. GRDB's `Row` copies each row and decodes each column
/// through generic look-ups by name, which was most of a claim's time.
struct QueryRecordReader {
    /// The query's own columns, by their position in ``positions``; the classification's are
    /// ``Classification/fields``'.
    private enum Column: Int, CaseIterable {
        case id, externalId, text, subject, channel, customerId, createdAt, metadata, status, attempts, nextAttemptAt
        case leaseOwner, leaseToken, leaseExpiresAt, errorKind, errorMessage, errorAt, updatedAt
        case expectedCategory, expectedPriority, expectedSentiment, correction

        /// Each case's column name in the table, by raw value: the case's name in snake case. Made once: a claim
        /// makes a reader, and reflecting on a case's name was a share of every claim.
        static let names = allCases.map { column in
            "\(column)".reduce(into: "") { name, character in
                if character.isUppercase { name += "_" + character.lowercased() } else { name.append(character) }
            }
        }
    }

    private let statement: Statement
    /// Each column's index in the statement's result, or -1 if it has none.
    private let positions: [CInt]
    /// Each classification field's index, in ``Classification/fields``' order, or -1.
    private let fieldPositions: [CInt]

    init(_ statement: Statement) {
        self.statement = statement
        let index = Dictionary(statement.columnNames.enumerated().map { ($1, CInt($0)) },
                               uniquingKeysWith: { first, _ in first })
        positions = Column.names.map { index[$0] ?? -1 }
        fieldPositions = Classification.fields.map { index[$0.column] ?? -1 }
    }

    /// The records a statement yields, in its order.
    static func records(_ statement: Statement, arguments: StatementArguments) throws -> [QueryRecord] {
        let reader = QueryRecordReader(statement)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var records: [QueryRecord] = []
        while try rows.next() != nil { records.append(try reader.record()) }
        return records
    }

    private func read<Value: StatementColumnConvertible>(_ column: Column, as: Value.Type = Value.self) -> Value? {
        read(at: positions[column.rawValue])
    }

    private func read<Value: StatementColumnConvertible>(at position: CInt, as: Value.Type = Value.self) -> Value? {
        position < 0 ? nil : Value.fromStatement(statement.sqliteStatement, atUncheckedIndex: position)
    }

    /// A classification field's stored value at the current row.
    private func stored(_ index: Int, _ field: Classification.Field) -> Classification.StoredValue? {
        let position = fieldPositions[index]
        switch field.kind {
        case .text: return read(at: position, as: String.self).map { .text($0) }
        case .real: return read(at: position, as: Double.self).map { .real($0) }
        case .integer: return read(at: position, as: Int.self).map { .integer($0) }
        case .flag: return read(at: position, as: Int.self).map { .flag($0 != 0) }
        case .date: return read(at: position, as: Double.self).map { .date(Date(timeIntervalSince1970: $0)) }
        case .list:
            return read(at: position, as: String.self)
                .flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }.map { .list($0) }
        case .counts:
            return read(at: position, as: String.self)
                .flatMap { try? JSONDecoder().decode([String: Int].self, from: Data($0.utf8)) }.map { .counts($0) }
        }
    }

    private func text(_ column: Column) -> String? { read(column) }
    private func real(_ column: Column) -> Double? { read(column) }
    private func integer(_ column: Column) -> Int? { read(column) }
    private func date(_ column: Column) -> Date? { real(column).map(Date.init(timeIntervalSince1970:)) }

    /// The record at the statement's current row.
    func record() throws -> QueryRecord {
        let metadata = try text(.metadata).map {
            try JSONDecoder.triage.decode([String: String].self, from: Data($0.utf8))
        } ?? [:]
        var query = SupportQuery(
            text: text(.text) ?? "",
            subject: text(.subject),
            channel: text(.channel),
            customerId: text(.customerId),
            externalId: text(.externalId),
            createdAt: date(.createdAt) ?? Date(timeIntervalSince1970: 0),
            metadata: metadata
        )
        let expected = ExpectedLabels(category: text(.expectedCategory), priority: text(.expectedPriority),
                                      sentiment: text(.expectedSentiment))
        query.expected = expected.isEmpty ? nil : expected
        var lease: Lease?
        if let owner = text(.leaseOwner), let token = text(.leaseToken), let expiresAt = date(.leaseExpiresAt) {
            lease = Lease(owner: owner, token: token, expiresAt: expiresAt)
        }
        var lastError: RecordedError?
        if let kind = text(.errorKind) {
            lastError = RecordedError(kind: kind, message: text(.errorMessage) ?? "", at: date(.errorAt) ?? Date())
        }
        let classification = Classification(stored: stored)
        let statusName = text(.status) ?? ""
        let id = integer(.id) ?? 0
        guard let status = QueryStatus(rawValue: statusName) else {
            throw StoreError.database("query \(id): unknown status '\(statusName)'")
        }
        return QueryRecord(
            id: QueryID(String(id)),
            query: query,
            status: status,
            attempts: integer(.attempts) ?? 0,
            nextAttemptAt: date(.nextAttemptAt) ?? Date(),
            lease: lease,
            lastError: lastError,
            classification: classification,
            correction: try text(.correction).map {
                try JSONDecoder.triage.decode(Correction.self, from: Data($0.utf8))
            },
            updatedAt: date(.updatedAt) ?? Date()
        )
    }
}
