import Foundation
import TriageCore

/// How one claimed query's turn ended.
struct QueryOutcome: Sendable {
    enum Result: Sendable {
        /// Classified and written.
        case classified(Classification)
        /// The attempt failed and the query goes back to `pending` until the given date.
        case retryScheduled(RecordedError, at: Date)
        /// The query ended `failed`.
        case failed(RecordedError)
        /// Another worker took the query over; our write was refused.
        case leaseLost
        /// Cancelled before a result: the query must be handed back.
        case interrupted
        /// A run-level classifier error: the query must be handed back and the run stopped.
        case runStopped(ClassifierError)
        /// The store refused a write for a reason other than fencing: the run stops.
        case storeFailed(any Error)
        /// The provider did not answer (no connection, a timeout, a 5xx). Nothing was written: the query is still
        /// held, and the run decides whether the attempt counts (the provider is up, so it was this query) or not (an
        /// outage: the query is handed back unspent).
        case unavailable(ClassifierError)
    }

    var record: QueryRecord
    var result: Result
    var promptTokens = 0
    var completionTokens = 0
    var costUSD = 0.0
    /// The failure was counted when the attempt first reported it (``Result/unavailable(_:)``); this outcome only
    /// records it against the query.
    var settlesHeldFailure = false

    /// Whether the query is still held by this run and must be released.
    var needsRelease: Bool {
        switch result {
        case .interrupted, .runStopped, .storeFailed: true
        default: false
        }
    }
}

extension QueryRecord {
    /// The record as a run's statistics and hand-backs read it: its id, status, attempts and lease, and the labels
    /// it should get; not its text, metadata or earlier answer.
    var counted: QueryRecord {
        var query = SupportQuery(text: "", createdAt: self.query.createdAt)
        query.expected = self.query.expected
        return QueryRecord(id: id, query: query, status: status, attempts: attempts, nextAttemptAt: nextAttemptAt,
                           lease: lease, updatedAt: updatedAt)
    }
}
