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

        /// The states of a batch some run still has to follow: every one but ``ingested``.
        public static let unfinished = allCases.filter { $0 != .ingested }
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

    /// Queries of the batch claimed under one lease: a batch gathers lines from several claims.
    public struct Claims: Sendable, Codable, Hashable {
        public var token: String
        public var queryIds: [QueryID]

        public init(token: String, queryIds: [QueryID]) {
            self.token = token
            self.queryIds = queryIds
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
    /// The queries in it, by the lease each is held under; each line's `custom_id` is its query's id.
    public var claims: [Claims]
    /// Queries identical to one of its lines (the same text under the same model, taxonomy and examples), held
    /// under their leases to take that line's answer once the batch is read: not sent, not paid for.
    public var followers: [Claims] = []
    public var state: State
    public var counts: Counts
    public var createdAt: Date
    public var updatedAt: Date
    /// Why the provider refused it, or what went wrong reading it.
    public var error: String?

    public init(id: String, provider: String, endpoint: String, model: String, runId: String, claims: [Claims],
                state: State = .submitting, createdAt: Date = Date()) {
        self.id = id
        self.provider = provider
        self.endpoint = endpoint
        self.model = model
        self.runId = runId
        self.claims = claims
        self.state = state
        counts = Counts(total: claims.map(\.queryIds.count).reduce(0, +))
        self.createdAt = createdAt
        updatedAt = createdAt
    }

    /// Every query of the batch.
    public var queryIds: [QueryID] { claims.flatMap(\.queryIds) }

    /// Every claim the batch holds, its lines' and its followers'.
    public var allClaims: [Claims] { claims + followers }

    /// The lease each query of the batch is held under.
    public var tokens: [QueryID: String] { Self.tokens(claims) }

    /// The lease each follower is held under.
    public var followerTokens: [QueryID: String] { Self.tokens(followers) }

    private static func tokens(_ claims: [Claims]) -> [QueryID: String] {
        Dictionary(claims.flatMap { group in group.queryIds.map { ($0, group.token) } },
                   uniquingKeysWith: { _, last in last })
    }

    private enum CodingKeys: String, CodingKey {
        case id, providerBatchId, provider, endpoint, model, runId, claims, followers, state, counts, createdAt
        case updatedAt, error
        // Before a batch could gather several claims: one token for every query.
        case token, queryIds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        providerBatchId = try c.decodeIfPresent(String.self, forKey: .providerBatchId)
        provider = try c.decode(String.self, forKey: .provider)
        endpoint = try c.decode(String.self, forKey: .endpoint)
        model = try c.decode(String.self, forKey: .model)
        runId = try c.decode(String.self, forKey: .runId)
        if let claims = try c.decodeIfPresent([Claims].self, forKey: .claims) {
            self.claims = claims
        } else {
            claims = [Claims(token: try c.decode(String.self, forKey: .token),
                             queryIds: try c.decode([QueryID].self, forKey: .queryIds))]
        }
        followers = try c.decodeIfPresent([Claims].self, forKey: .followers) ?? []
        state = try c.decode(State.self, forKey: .state)
        counts = try c.decode(Counts.self, forKey: .counts)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        updatedAt = try c.decode(Date.self, forKey: .updatedAt)
        error = try c.decodeIfPresent(String.self, forKey: .error)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(providerBatchId, forKey: .providerBatchId)
        try c.encode(provider, forKey: .provider)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(model, forKey: .model)
        try c.encode(runId, forKey: .runId)
        try c.encode(claims, forKey: .claims)
        if !followers.isEmpty { try c.encode(followers, forKey: .followers) }
        try c.encode(state, forKey: .state)
        try c.encode(counts, forKey: .counts)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(error, forKey: .error)
    }
}

/// What a store keeps of provider batches (``ProviderBatch``), beside the queries. Every ``QueryStore`` has it.
public protocol ProviderBatchStore: Sendable {
    /// Saves (inserts or replaces) a batch record.
    func saveBatch(_ batch: ProviderBatch) async throws
    /// The most recent batches first.
    func batches(limit: Int) async throws -> [ProviderBatch]
    /// One batch by Triage's id or the provider's, or `nil`; through an index.
    func batch(_ id: String) async throws -> ProviderBatch?
    /// Every batch not yet ``ProviderBatch/State/ingested`` of this provider and endpoint, oldest first, found
    /// through an index however many batches the store keeps: what a run started again follows first.
    func unfinishedBatches(provider: String, endpoint: String) async throws -> [ProviderBatch]
    /// Holds these batches for `holder` until `until`, each that no other holder has now: its hold has passed, it
    /// has none, or it is `holder`'s already. Atomic per batch, so two runs never follow one batch at once; a run
    /// renews its holds at every poll, and the batches of a run that died are free once its holds pass.
    /// ``saveBatch(_:)`` leaves a batch's hold as it is.
    /// - Returns: The ids `holder` holds now.
    func holdBatches(_ ids: [String], holder: String, until: Date, now: Date) async throws -> Set<String>
}

/// What a provider's batch API said about one batch.
public struct ProviderBatchStatus: Sendable, Hashable {
    public var state: ProviderBatch.State
    public var counts: ProviderBatch.Counts
    /// Where the results are read from once the batch ended: an output and an error file (OpenAI), or a results
    /// URL (Anthropic).
    public var outputFileId: String?
    public var errorFileId: String?
    public var resultsURL: String?

    public init(state: ProviderBatch.State, counts: ProviderBatch.Counts, outputFileId: String? = nil,
                errorFileId: String? = nil, resultsURL: String? = nil) {
        self.state = state
        self.counts = counts
        self.outputFileId = outputFileId
        self.errorFileId = errorFileId
        self.resultsURL = resultsURL
    }
}

/// How one line of a batch ended.
public enum ProviderBatchLineResult: Sendable {
    /// The provider's response body, as an online request would have received it.
    case succeeded(JSONValue)
    /// The provider refused or failed the request: the error its status and body make (the same table as online).
    case failed(ClassifierError)
    /// The batch ended before the line was done.
    case expired
    case cancelled
}

/// One line to send: the query's id as `custom_id`, and the request body the online path would send.
public struct ProviderBatchLine: Sendable {
    public var customId: String
    public var body: Data

    public init(customId: String, body: Data) {
        self.customId = customId
        self.body = body
    }
}

/// A classifier's way through its provider's batch API (``Classifier/batches``): the same requests as online, sent
/// as one batch at the provider's batch price, and the answers validated as online ones are. The processor decides
/// what goes into a batch and what each line's result makes of its query; this only talks to the provider.
public protocol ProviderBatches: Sendable {
    /// `openai` or `anthropic`, recorded with each batch.
    var provider: String { get }
    /// The endpoint's base URL (never its key).
    var endpoint: String { get }
    var model: String { get }
    /// The most lines one batch may hold (OpenAI 50,000, Anthropic 100,000).
    var maxRequests: Int { get }
    /// The most bytes one batch may hold (OpenAI 200 MB, Anthropic 256 MB).
    var maxBytes: Int { get }

    /// The body of the request the online path would send first for `query`.
    func requestBody(for query: SupportQuery) throws -> Data
    /// Starts a batch of these lines; returns the provider's id. `metadata` names the batch and the run where the API
    /// keeps metadata.
    func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String
    /// The provider's id of a batch submitted with `metadata["triage_batch"] == name` no earlier than `since`: a run
    /// that stopped between starting a batch and recording its id finds it here instead of paying again. `nil` when
    /// there is none, or the API keeps no metadata to tell batches apart.
    func submitted(named name: String, since: Date) async throws -> String?
    func status(_ providerBatchId: String) async throws -> ProviderBatchStatus
    /// Each line's result by `custom_id`; lines missing from the provider's results are missing here.
    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult]
    /// A succeeded line's answer for `query`: validated as online answers are, its confidence weighed the same way,
    /// priced at the batch price. There is no repair request.
    /// - Throws: ``ClassifierError`` `invalidOutput` (with what it spent) when the answer does not validate.
    func classification(from response: JSONValue, for query: SupportQuery) throws -> Classification
    func cancel(_ providerBatchId: String) async throws
}
