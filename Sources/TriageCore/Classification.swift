import Foundation

/// What the classifier concluded about one query, with the facts needed to account for it.
public struct Classification: Sendable, Hashable, Codable {
    public var category: String
    public var priority: String
    public var sentiment: String
    /// An ISO 639-1 language code such as `en` or `de`.
    public var language: String
    /// The classifier's confidence, in `0...1`.
    public var confidence: Double
    /// A one-line summary of the query.
    public var summary: String
    public var model: String
    public var taxonomyVersion: String
    /// Every prompt token, those read from the provider's prompt cache included.
    public var promptTokens: Int
    public var completionTokens: Int
    /// Of the prompt tokens, those read from the provider's prompt cache (priced lower); `nil` when none were.
    public var cachedPromptTokens: Int?
    /// Wall time of the classification, all attempts of the request included.
    public var latencyMs: Double
    /// What the classification cost, every attempt and repair included, from the configured price table.
    public var costUSD: Double
    public var classifiedAt: Date
    /// Whether the run that made it flagged it for a person to check: its confidence was under the run's
    /// `--review-below` threshold.
    public var needsReview: Bool
    /// What identifies this answer for reuse: the query's normalised text under the classifier's model, taxonomy
    /// version and example pool (``SupportQuery/reuseKey(scope:)``); `nil` when it may not be reused.
    public var reuseKey: String?
    /// The query this answer was copied from, when it was reused rather than asked of the model.
    public var reusedFrom: QueryID?
    /// Who gave the answer: ``AnsweredBy/model`` or ``AnsweredBy/examples`` (the retrieved examples decided it,
    /// with no LLM call). A reused answer keeps its source's, and says where it came from in ``reusedFrom``.
    public var answeredBy: AnsweredBy?
    /// What was wrong with a field the answer can do without, and what was done about it (normalised or dropped):
    /// the answer itself was kept. `nil` when nothing was.
    public var fieldProblems: [String]?
    /// What was replaced by placeholders before the query was sent, by kind (`{"EMAIL": 1, "PHONE": 2}`), never
    /// the values; `nil` when redaction was off or found nothing.
    public var redactions: [String: Int]?
    /// The model's answers this classification took: 1, or 2 when the first needed a repair request. Measured for
    /// evaluation and statistics, not stored; `nil` when no model was asked or it is not known.
    public var requests: Int?

    /// Who gave an answer.
    public enum AnsweredBy: String, Sendable, Hashable, Codable, CaseIterable {
        /// The LLM.
        case model
        /// The retrieved examples, whose agreement and closeness decided it: no call.
        case examples
    }

    public init(
        category: String,
        priority: String,
        sentiment: String,
        language: String,
        confidence: Double,
        summary: String,
        model: String,
        taxonomyVersion: String,
        promptTokens: Int = 0,
        completionTokens: Int = 0,
        latencyMs: Double = 0,
        costUSD: Double = 0,
        classifiedAt: Date = Date(),
        needsReview: Bool = false,
        reuseKey: String? = nil,
        reusedFrom: QueryID? = nil,
        cachedPromptTokens: Int? = nil
    ) {
        self.category = category
        self.priority = priority
        self.sentiment = sentiment
        self.language = language
        self.confidence = confidence
        self.summary = summary
        self.model = model
        self.taxonomyVersion = taxonomyVersion
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.latencyMs = latencyMs
        self.costUSD = costUSD
        self.classifiedAt = classifiedAt
        self.needsReview = needsReview
        self.reuseKey = reuseKey
        self.reusedFrom = reusedFrom
        self.cachedPromptTokens = cachedPromptTokens
    }
}
