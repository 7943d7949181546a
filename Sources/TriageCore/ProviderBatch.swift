import Foundation

/// One batch submitted to a provider's batch API (OpenAI Batch, Anthropic Message Batches), as the store keeps it:
/// recorded before the provider is asked to start it, so a run that crashed or was stopped polls the same batch
/// again instead of paying for a second.
public struct ProviderBatch: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Recorded; the provider has not confirmed it yet.
        case submitting
        case validating
        case inProgress = "in_progress"
        case finalizing
        /// The provider finished it; its results are being written.
        case completed
        /// Past the provider's window: the lines it did not answer are expired.
        case expired
        case cancelling
        case cancelled
        /// The provider refused it as a whole.
        case failed
        /// Every line's result is written to the store: nothing more to do.
        case ingested

        /// The provider has nothing more to do with it.
        public var providerEnded: Bool { [.completed, .expired, .cancelled, .failed, .ingested].contains(self) }
    }

    /// The provider's request counts, as last polled.
    public struct Counts: Sendable, Codable, Hashable {
        public var total: Int
        public var succeeded: Int
        public var failed: Int

        public init(total: Int = 0, succeeded: Int = 0, failed: Int = 0) {
            self.total = total
            self.succeeded = succeeded
            self.failed = failed
        }
    }

    /// Triage's id for it, sent to the provider as metadata where the API has it.
    public var id: String
    /// The provider's id, once it confirmed the batch.
    public var providerBatchId: String?
    /// `openai` or `anthropic`.
    public var provider: String
    /// The endpoint's base URL (never its key).
    public var endpoint: String
    public var model: String
    /// The run that submitted it (and, after a crash, the run that took it over).
    public var runId: String
    /// The queries in it, claimed under `token`; each line's `custom_id` is the query's id.
    public var token: String
    public var queryIds: [QueryID]
    public var state: State
    public var counts: Counts
    public var createdAt: Date
    public var updatedAt: Date
    /// Why the provider refused it, or what went wrong reading it.
    public var error: String?

    public init(id: String, provider: String, endpoint: String, model: String, runId: String, token: String,
                queryIds: [QueryID], state: State = .submitting, createdAt: Date = Date()) {
        self.id = id
        self.provider = provider
        self.endpoint = endpoint
        self.model = model
        self.runId = runId
        self.token = token
        self.queryIds = queryIds
        self.state = state
        counts = Counts(total: queryIds.count)
        self.createdAt = createdAt
        updatedAt = createdAt
    }
}

/// A store that keeps provider batches (``ProviderBatch``) beside the queries.
public protocol ProviderBatchStore: Sendable {
    /// Saves (inserts or replaces) a batch record.
    func saveBatch(_ batch: ProviderBatch) async throws
    /// The most recent batches first.
    func batches(limit: Int) async throws -> [ProviderBatch]
}

extension ProviderBatchStore {
    /// One batch by Triage's id or the provider's, or `nil`.
    public func batch(_ id: String) async throws -> ProviderBatch? {
        try await batches(limit: 10_000).first { $0.id == id || $0.providerBatchId == id }
    }
}
