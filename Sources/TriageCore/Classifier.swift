import Foundation

/// One classification to perform: the query and which attempt this is.
public struct ClassificationRequest: Sendable {
    public var id: QueryID
    public var query: SupportQuery
    /// 1 for the first attempt.
    public var attempt: Int

    public init(id: QueryID, query: SupportQuery, attempt: Int) {
        self.id = id
        self.query = query
        self.attempt = attempt
    }
}

/// Something that classifies support queries: an LLM over HTTP, or the mock used by the demo and tests.
public protocol Classifier: Sendable {
    /// The taxonomy whose labels every classification uses.
    var taxonomy: Taxonomy { get }

    /// Classifies one query.
    /// - Throws: ``ClassifierError``; its ``ClassifierError/scope`` tells the caller whether to retry the query,
    ///   fail it, or stop the run. `CancellationError` when the task is cancelled.
    func classify(_ request: ClassificationRequest) async throws -> Classification

    /// What an answer depends on besides the query's text (model, taxonomy version, example pool), for reusing the
    /// answer to an identical query; `nil` when answers must not be reused.
    var reuseScope: String? { get }

    /// What classifying `query` would spend, estimated from the request that would be sent (examples included)
    /// without sending it; `nil` when the classifier cannot tell.
    func estimate(_ query: SupportQuery) -> UsageEstimate?

    /// The provider's batch API for this classifier's requests (half the price, answers within a day), or `nil`
    /// when it has none.
    var batches: (any ProviderBatches)? { get }

    /// The answer this classifier gives `query` without calling its model — its labelled examples decide it
    /// (``Classification/answeredBy`` `examples`) — or `nil`. ``classify(_:)`` gives it too; batch mode asks first
    /// so that such a query never becomes a line.
    func answerWithoutCall(_ query: SupportQuery) -> Classification?

    /// The most UTF-8 bytes of text (and of subject) this classifier sends its model; a longer query fails with
    /// ``ClassifierError/textTooLong(_:)`` before any call, and the API refuses it at the door. `nil`: no limit.
    var maxTextBytes: Int? { get }

    /// When this classifier's examples answer alone, as chosen at its start, for the run to report; `nil` without
    /// examples.
    var examplesDecision: ExamplesDecision? { get }

    /// Measures, before a run of about `queries` queries, what this classifier sets by measurement: with
    /// `--answer-from-examples auto`, the model's accuracy on a sample of its labelled examples, which the examples'
    /// threshold is then held to (``examplesDecision`` changes). Once per classifier, and only for a run large
    /// enough to be worth the calls; concurrent callers wait for the one measurement.
    /// - Returns: What measuring spent in this call, for the run to count; `nil` when this call measured nothing.
    func calibrate(forQueries queries: Int) async -> ExamplesDecision.ModelMeasurement?

    // No defaults for these: a wrapper (metering, say) that forgot one would silently turn a capability off, as
    // answer reuse once was under `triage serve`. Each conformer says what it offers.
}

/// The tokens and cost one classification is expected to take.
public struct UsageEstimate: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// At the model's configured prices, sent one request at a time.
    public var costUSD: Double
    /// At the provider's batch prices (``ClassifierError`` retries and repair requests not included).
    public var batchCostUSD: Double

    public init(promptTokens: Int, completionTokens: Int, costUSD: Double, batchCostUSD: Double) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
        self.batchCostUSD = batchCostUSD
    }

    public static let zero = UsageEstimate(promptTokens: 0, completionTokens: 0, costUSD: 0, batchCostUSD: 0)

    public static func + (lhs: UsageEstimate, rhs: UsageEstimate) -> UsageEstimate {
        UsageEstimate(promptTokens: lhs.promptTokens + rhs.promptTokens,
                      completionTokens: lhs.completionTokens + rhs.completionTokens,
                      costUSD: lhs.costUSD + rhs.costUSD, batchCostUSD: lhs.batchCostUSD + rhs.batchCostUSD)
    }
}
