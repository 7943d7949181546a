import Foundation

/// What ``QueryStore/insert(_:)`` did.
public struct InsertResult: Sendable, Hashable, Codable {
    /// Queries added.
    public var inserted: Int
    /// Queries skipped because their `externalId` was already stored (or repeated in the same call).
    public var duplicates: Int

    public init(inserted: Int, duplicates: Int) {
        self.inserted = inserted
        self.duplicates = duplicates
    }
}

/// Queries delivered a chunk at a time: the closure calls `deliver` with each chunk in turn, and may throw (bad
/// input) at any point. Running it again starts again from the first chunk.
public typealias QueryChunks = @Sendable (_ deliver: ([SupportQuery]) throws -> Void) throws -> Void

/// One query's result, to be written under the lease it was claimed with.
public struct ResultWrite: Sendable {
    public enum Outcome: Sendable {
        /// Classified: the answer is recorded and the query is `classified`.
        case classified(Classification)
        /// A failed attempt: back to `pending` until `retryAt` when given, otherwise `failed` for good.
        case failed(RecordedError, retryAt: Date?)
    }

    public var id: QueryID
    /// The lease token of the claim; the write lands only while it is the query's current one.
    public var token: String
    public var outcome: Outcome

    public init(id: QueryID, token: String, outcome: Outcome) {
        self.id = id
        self.token = token
        self.outcome = outcome
    }
}

/// Which stored queries a listing returns.
public struct QueryFilter: Sendable, Hashable {
    public var status: QueryStatus?
    public var category: String?
    /// Only the queries a claim at this time would take, the ones ``QueryStore/eligibleCount(now:)`` counts:
    /// `pending` and due, or `processing` under a lease that has expired.
    public var eligibleAt: Date?
    /// Only queries flagged for review (``Classification/needsReview``) that no person has corrected yet.
    public var needsReview: Bool
    /// Only queries whose right labels are known (``QueryRecord/knownLabels``): an expected category or a correction.
    public var labelled: Bool
    /// Only the query with this `externalId`.
    public var externalId: String?

    public init(status: QueryStatus? = nil, category: String? = nil, eligibleAt: Date? = nil,
                needsReview: Bool = false, labelled: Bool = false, externalId: String? = nil) {
        self.status = status
        self.category = category
        self.eligibleAt = eligibleAt
        self.needsReview = needsReview
        self.labelled = labelled
        self.externalId = externalId
    }
}

/// Counts across the whole store.
public struct StoreSummary: Sendable, Hashable, Codable {
    public var byStatus: [String: Int]
    public var byCategory: [String: Int]
    public var byPriority: [String: Int]
    /// Classified queries flagged for review and not corrected yet.
    public var needsReview: Int
    /// Queries a person corrected.
    public var corrected: Int

    public init(byStatus: [String: Int], byCategory: [String: Int], byPriority: [String: Int],
                needsReview: Int = 0, corrected: Int = 0) {
        self.byStatus = byStatus
        self.byCategory = byCategory
        self.byPriority = byPriority
        self.needsReview = needsReview
        self.corrected = corrected
    }

    public var total: Int { byStatus.values.reduce(0, +) }

    public func count(_ status: QueryStatus) -> Int { byStatus[status.rawValue] ?? 0 }
}

/// Durable storage for queries and runs, shared safely by several workers, with the provider batches and shared rate
/// budgets kept beside them (every store has both: nobody asks a store what it can do at run time).
///
/// Every implementation passes the same contract test suite. Work moves through leases: ``claim(limit:owner:leaseFor:now:)``
/// hands out queries under a fresh token, and ``complete(_:token:classification:)`` and
/// ``fail(_:token:error:retryAt:)`` are applied only while that token is current.
public protocol QueryStore: ProviderBatchStore, RateBudgetStore {
    /// Adds queries in bulk. A query whose `externalId` is already stored is skipped, so re-importing adds nothing twice.
    /// All or nothing: on error nothing is added.
    func insert(_ queries: [SupportQuery]) async throws -> InsertResult

    /// Adds every query `chunks` delivers (a file read as it streams, say), all or nothing: when `chunks` throws,
    /// nothing it delivered is added, and its error is rethrown as it is. `chunks` may be run more than once, each
    /// time from the start. Memory stays bounded by one chunk, whatever the total.
    func insert(chunks: @escaping QueryChunks) async throws -> InsertResult

    /// Atomically moves up to `limit` eligible queries to `processing` under a fresh lease and returns them.
    ///
    /// Eligible: `pending` with `nextAttemptAt <= now`, or `processing` whose lease has expired. Each claimed query's
    /// `attempts` goes up by one. Two callers never hold the same query at once.
    func claim(limit: Int, owner: String, leaseFor: Duration, now: Date) async throws -> [QueryRecord]

    /// Writes a group of results together (one SQLite transaction, one MongoDB bulk write), each fenced by its own
    /// lease: a result whose token is no longer its query's current lease is not written.
    /// - Returns: The ids whose lease was lost, left as they were.
    /// - Throws: Only when the group could not be written at all; then none of it was.
    func write(_ results: [ResultWrite]) async throws -> Set<QueryID>

    /// Extends the leases held with `token`; returns the ids still held.
    func renew(_ ids: [QueryID], token: String, leaseFor: Duration, now: Date) async throws -> [QueryID]

    /// Hands claimed queries back untouched: `pending`, no lease, and the claim's attempt not counted.
    /// Queries no longer held with `token` are left alone. Returns how many were released.
    @discardableResult
    func release(_ ids: [QueryID], token: String) async throws -> Int

    /// Counts by status, category and priority.
    func summary() async throws -> StoreSummary

    /// How many queries a claim made at `now` could pick up.
    func eligibleCount(now: Date) async throws -> Int

    /// One query by id, or `nil`.
    func find(_ id: QueryID) async throws -> QueryRecord?

    /// The queries with these ids that exist, in id order.
    func find(_ ids: [QueryID]) async throws -> [QueryRecord]

    /// A page of queries in id order, starting after `cursor`.
    func list(_ filter: QueryFilter, after cursor: QueryID?, limit: Int) async throws -> [QueryRecord]

    /// Records a person's correction beside the model's answer and returns the updated query, or `nil` if there is
    /// no such query. A query with no answer yet (pending or failed) becomes `classified`: a person labelled it, so
    /// no run takes it again. A classification written later by a run in flight leaves the correction as it is.
    func correct(_ id: QueryID, with correction: Correction) async throws -> QueryRecord?

    /// The classified queries whose answers carry these keys (``Classification/reuseKey``), one per key found.
    /// Through an index.
    func reusable(_ reuseKeys: [String]) async throws -> [String: QueryRecord]

    /// Moves every `failed` query back to `pending` with its attempts reset; returns how many.
    func requeueFailed(now: Date) async throws -> Int

    /// Saves (inserts or replaces) a run record.
    func saveRun(_ run: RunRecord) async throws

    /// The most recent runs first.
    func runs(limit: Int) async throws -> [RunRecord]

    /// One run by id, or `nil`.
    func run(_ id: String) async throws -> RunRecord?
}

extension QueryRecord {
    /// This query's answer copied for another query with the same `reuseKey`: marked with its source, no tokens,
    /// no cost, classified now, not flagged. `nil` when this query has no answer.
    public func answerReused(as reuseKey: String) -> Classification? {
        guard var answer = classification else { return nil }
        answer.reuseKey = reuseKey
        answer.reusedFrom = answer.reusedFrom ?? id
        answer.promptTokens = 0
        answer.completionTokens = 0
        answer.costUSD = 0
        answer.cachedPromptTokens = nil
        answer.classifiedAt = Date()
        answer.needsReview = false
        return answer
    }
}

extension QueryStore {
    /// Records a classification and marks the query `classified`.
    /// - Throws: ``StoreError/leaseLost(_:)`` when `token` is no longer the query's current lease token.
    public func complete(_ id: QueryID, token: String, classification: Classification) async throws {
        try await writeOne(ResultWrite(id: id, token: token, outcome: .classified(classification)))
    }

    /// Records a failed attempt: back to `pending` until `retryAt` when given, otherwise `failed` for good.
    /// - Throws: ``StoreError/leaseLost(_:)`` when `token` is no longer current.
    public func fail(_ id: QueryID, token: String, error: RecordedError, retryAt: Date?) async throws {
        try await writeOne(ResultWrite(id: id, token: token, outcome: .failed(error, retryAt: retryAt)))
    }

    private func writeOne(_ result: ResultWrite) async throws {
        if try await write([result]).contains(result.id) { throw StoreError.leaseLost(result.id) }
    }

    /// A classified query whose answer carries `reuseKey`, or `nil`.
    public func reusable(_ reuseKey: String) async throws -> QueryRecord? {
        try await reusable([reuseKey])[reuseKey]
    }
}
