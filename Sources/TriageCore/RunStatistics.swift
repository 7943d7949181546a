import Foundation

/// What a run did, in numbers a person and a dashboard can read.
public struct RunStatistics: Sendable, Hashable, Codable {
    /// Latency percentiles of successful classifications, in milliseconds.
    public struct Latency: Sendable, Hashable, Codable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var mean: Double
        public var max: Double

        public init(p50: Double = 0, p95: Double = 0, p99: Double = 0, mean: Double = 0, max: Double = 0) {
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
            self.mean = mean
            self.max = max
        }
    }

    /// Tokens spent, failed and repaired attempts included.
    public struct Tokens: Sendable, Hashable, Codable {
        public var prompt: Int
        public var completion: Int
        /// Of the prompt tokens, those the provider read from its prompt cache (priced lower); `nil` when none.
        public var cachedPrompt: Int?
        public var total: Int { prompt + completion }

        public init(prompt: Int = 0, completion: Int = 0, cachedPrompt: Int? = nil) {
            self.prompt = prompt
            self.completion = completion
            self.cachedPrompt = cachedPrompt
        }

        enum CodingKeys: String, CodingKey { case prompt, completion, total }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            prompt = try c.decode(Int.self, forKey: .prompt)
            completion = try c.decode(Int.self, forKey: .completion)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(prompt, forKey: .prompt)
            try c.encode(completion, forKey: .completion)
            try c.encode(total, forKey: .total)
        }
    }

    /// How the run's answers compare with the expected labels of the queries that have them.
    public struct LabelAgreement: Sendable, Hashable, Codable {
        /// Classified queries that had an expected category.
        public var scored: Int
        /// Of those, how many got it.
        public var correct: Int
        public var accuracy: Double
        /// Of `scored`, those whose expected category is no name of the run's taxonomy: they can never be right
        /// (the labels come from another taxonomy). `nil` when there were none.
        public var unknown: Int?

        public init(scored: Int = 0, correct: Int = 0, unknown: Int? = nil) {
            self.scored = scored
            self.correct = correct
            self.unknown = unknown
            accuracy = scored > 0 ? Double(correct) / Double(scored) : 0
        }
    }

    public var startedAt: Date
    public var finishedAt: Date?
    public var durationSeconds: Double
    /// Claims made (a query retried within the run counts once per claim).
    public var claimed: Int
    public var classified: Int
    /// Queries that ended `failed` in this run.
    public var failed: Int
    /// Failed attempts scheduled for another try.
    public var retried: Int
    /// Claims handed back untouched (cancellation, a run-level error).
    public var released: Int
    /// Writes refused because another worker had taken the query over.
    public var leaseLost: Int
    /// Classified queries per second of wall time.
    public var queriesPerSecond: Double
    public var latencyMs: Latency
    public var tokens: Tokens
    /// Spent on the LLM, failed and repaired attempts included, from the configured price table.
    public var costUSD: Double
    /// Failed attempts by error kind.
    public var errorsByKind: [String: Int]
    public var byCategory: [String: Int]
    /// Classifications flagged for review (confidence under `--review-below`); absent when the run set no threshold.
    public var needsReview: Int?
    /// Classified queries that took an identical earlier query's answer instead of asking the model; absent when
    /// the run did not reuse answers.
    public var reused: Int?
    /// Category accuracy against expected labels; absent when no classified query had one.
    public var expectedLabels: LabelAgreement?
    /// Answers by who gave them (`model`, `examples`, `reused`), each with its accuracy where labels are known.
    public var answersBySource: [String: AnswerSource]?
    /// Answers kept although a field the answer can do without was wrong (normalised or dropped).
    public var fieldProblems: Int?
    /// Personal values replaced by placeholders before anything was sent, by kind (`EMAIL`, `PHONE`, …), over the
    /// classified queries; absent when nothing was redacted.
    public var redactions: [String: Int]?

    /// The answers one source gave.
    public struct AnswerSource: Sendable, Hashable, Codable {
        public var count = 0
        /// Of those, the ones whose expected category was known, and how many of them were right.
        public var scored = 0
        public var correct = 0

        public init() {}

        public var accuracy: Double? { scored > 0 ? Double(correct) / Double(scored) : nil }
    }

    public init(
        startedAt: Date,
        finishedAt: Date? = nil,
        durationSeconds: Double = 0,
        claimed: Int = 0,
        classified: Int = 0,
        failed: Int = 0,
        retried: Int = 0,
        released: Int = 0,
        leaseLost: Int = 0,
        queriesPerSecond: Double = 0,
        latencyMs: Latency = Latency(),
        tokens: Tokens = Tokens(),
        costUSD: Double = 0,
        errorsByKind: [String: Int] = [:],
        byCategory: [String: Int] = [:]
    ) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationSeconds = durationSeconds
        self.claimed = claimed
        self.classified = classified
        self.failed = failed
        self.retried = retried
        self.released = released
        self.leaseLost = leaseLost
        self.queriesPerSecond = queriesPerSecond
        self.latencyMs = latencyMs
        self.tokens = tokens
        self.costUSD = costUSD
        self.errorsByKind = errorsByKind
        self.byCategory = byCategory
    }
}
