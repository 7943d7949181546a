import Foundation
import GRDB
import Synchronization
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

extension QueryRecord {
    /// Decodes a full `queries` row.
    init(row: Row) throws {
        let row = QueryColumns(row)
        func date(_ column: String) -> Date? {
            (row[column] as Double?).map(Date.init(timeIntervalSince1970:))
        }
        let metadataJSON: String? = row["metadata"]
        let metadata = try metadataJSON.map {
            try JSONDecoder.triage.decode([String: String].self, from: Data($0.utf8))
        } ?? [:]
        var query = SupportQuery(
            text: row["text"] ?? "",
            subject: row["subject"],
            channel: row["channel"],
            customerId: row["customer_id"],
            externalId: row["external_id"],
            createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0),
            metadata: metadata
        )
        let expected = ExpectedLabels(category: row["expected_category"], priority: row["expected_priority"],
                                      sentiment: row["expected_sentiment"])
        query.expected = expected.isEmpty ? nil : expected
        var lease: Lease?
        if let owner: String = row["lease_owner"], let token: String = row["lease_token"],
           let expiresAt = date("lease_expires_at") {
            lease = Lease(owner: owner, token: token, expiresAt: expiresAt)
        }
        var lastError: RecordedError?
        if let kind: String = row["error_kind"] {
            lastError = RecordedError(kind: kind, message: row["error_message"] ?? "", at: date("error_at") ?? Date())
        }
        var classification: Classification?
        if let category: String = row["category"] {
            classification = Classification(
                category: category,
                priority: row["priority"] ?? "",
                sentiment: row["sentiment"] ?? "",
                language: row["language"] ?? "",
                confidence: row["confidence"] ?? 0,
                summary: row["summary"] ?? "",
                model: row["model"] ?? "",
                taxonomyVersion: row["taxonomy_version"] ?? "",
                promptTokens: row["prompt_tokens"] ?? 0,
                completionTokens: row["completion_tokens"] ?? 0,
                latencyMs: row["latency_ms"] ?? 0,
                costUSD: row["cost_usd"] ?? 0,
                classifiedAt: date("classified_at") ?? Date(),
                needsReview: row["needs_review"] ?? false,
                reuseKey: row["reuse_key"],
                reusedFrom: (row["reused_from"] as String?).map(QueryID.init)
            )
        }
        let statusName: String = row["status"] ?? ""
        let id: Int64 = row["id"] ?? 0
        guard let status = QueryStatus(rawValue: statusName) else {
            throw StoreError.database("query \(id): unknown status '\(statusName)'")
        }
        self.init(
            id: QueryID(String(id)),
            query: query,
            status: status,
            attempts: row["attempts"] ?? 0,
            nextAttemptAt: date("next_attempt_at") ?? Date(),
            lease: lease,
            lastError: lastError,
            classification: classification,
            correction: try (row["correction"] as String?).map {
                try JSONDecoder.triage.decode(Correction.self, from: Data($0.utf8))
            },
            updatedAt: date("updated_at") ?? Date()
        )
    }
}

/// A `queries` row read by column position. Every read of the table selects all its columns in the schema's order,
/// so their positions are looked up once and kept; GRDB's look-up by name compares the names, ignoring case, on
/// every read of every column.
private struct QueryColumns {
    private static let layout = Mutex<(names: [String], index: [String: Int])?>(nil)

    private let row: Row
    private let index: [String: Int]

    init(_ row: Row) {
        self.row = row
        if let known = Self.layout.withLock({ $0 }), known.names.elementsEqual(row.columnNames) {
            index = known.index
        } else {
            let names = Array(row.columnNames)
            let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            Self.layout.withLock { $0 = (names, index) }
            self.index = index
        }
    }

    subscript<Value: DatabaseValueConvertible>(_ name: String) -> Value? {
        index[name].flatMap { row[$0] }
    }
}
