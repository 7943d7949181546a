import Foundation

/// How a run ended, or that it is still going.
public enum RunState: String, Sendable, Hashable, Codable {
    case running
    case completed
    case cancelled
    case failed
}

/// The options a run was started with.
public struct RunOptions: Sendable, Hashable, Codable {
    public var batchSize: Int
    public var maxConcurrent: Int
    public var maxAttempts: Int
    public var limit: Int?
    public var classifier: String
    /// `online` or `batch` (the provider's batch API); absent in records of runs before batch mode was the
    /// processor's.
    public var via: String?

    public init(batchSize: Int, maxConcurrent: Int, maxAttempts: Int, limit: Int?, classifier: String) {
        self.batchSize = batchSize
        self.maxConcurrent = maxConcurrent
        self.maxAttempts = maxAttempts
        self.limit = limit
        self.classifier = classifier
    }
}

/// One processing run as the store keeps it.
public struct RunRecord: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var owner: String
    public var state: RunState
    public var options: RunOptions
    public var statistics: RunStatistics
    /// Why the run stopped, when it failed.
    public var error: String?
    /// Every attempt to deliver the run's webhook event, in order (absent when none was configured).
    public var webhookDeliveries: [WebhookDelivery]?
    /// When the classifier's examples answered alone, as chosen at the run's start (absent without examples).
    public var examplesDecision: ExamplesDecision?

    public init(id: String, owner: String, state: RunState, options: RunOptions, statistics: RunStatistics, error: String? = nil) {
        self.id = id
        self.owner = owner
        self.state = state
        self.options = options
        self.statistics = statistics
        self.error = error
    }
}

/// One attempt to deliver a run's webhook event.
public struct WebhookDelivery: Sendable, Hashable, Codable {
    /// The receiver (query string and credentials removed).
    public var url: String
    public var attempt: Int
    public var at: Date
    /// The receiver's HTTP status, when it answered.
    public var status: Int?
    /// Why the attempt failed, when it did.
    public var error: String?
    public var delivered: Bool

    public init(url: String, attempt: Int, at: Date, status: Int?, error: String?, delivered: Bool) {
        self.url = url
        self.attempt = attempt
        self.at = at
        self.status = status
        self.error = error
        self.delivered = delivered
    }
}

/// When a classifier's labelled examples answer a query alone, with no call: the decisiveness (the leading label's
/// share of the evidence, the retrieved examples' similarity and the categories' likeness, times the nearest
/// example's closeness) at or above ``threshold``. With `--answer-from-examples auto` it is chosen at the start of
/// the run by leave-one-out over the example pool: the lowest threshold at which the examples' own answers are at
/// least 0.97 accurate with 95% confidence; where the model was measured on a sample of the pool (``model``) and is
/// less accurate than that, lower still, as far as the answers added there are at least as accurate as the model.
public struct ExamplesDecision: Sendable, Hashable, Codable {
    /// `auto`, `off`, or `fixed`.
    public var mode: String
    /// `nil`: the examples never answer alone.
    public var threshold: Double?
    /// Examples in the pool, and how many leave-one-out measured.
    public var pool: Int
    public var measured: Int
    /// Of the measured examples, the share the threshold lets the examples answer, and how accurate those answers
    /// were.
    public var coverage: Double
    public var accuracy: Double
    /// Why the examples do not answer, when they do not.
    public var note: String?
    /// The model measured on a sample of the pool, when `auto` held the examples to its accuracy; `nil` when it
    /// was not measured (too small a run to be worth the calls, or not `auto`).
    public var model: ModelMeasurement?

    /// The model's own accuracy on examples of the pool, each classified with the others as its examples: what
    /// `auto` holds the examples' answers below 0.97's threshold to, when the model is measurably less accurate.
    public struct ModelMeasurement: Sendable, Hashable, Codable {
        /// Examples the model classified, and how many it labelled right.
        public var measured: Int
        public var correct: Int
        /// The accuracy the examples' further answers were held to: the model's 95% upper bound, at most 0.97.
        public var target: Double
        /// What measuring spent: requests (repairs included), tokens and cost.
        public var requests: Int
        public var promptTokens: Int
        public var completionTokens: Int
        public var costUSD: Double

        public init(measured: Int, correct: Int, target: Double, requests: Int, promptTokens: Int,
                    completionTokens: Int, costUSD: Double) {
            self.measured = measured
            self.correct = correct
            self.target = target
            self.requests = requests
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.costUSD = costUSD
        }

        /// The share of the measured examples the model labelled right.
        public var accuracy: Double { measured > 0 ? Double(correct) / Double(measured) : 0 }
    }

    public init(mode: String, threshold: Double?, pool: Int, measured: Int, coverage: Double, accuracy: Double,
                note: String?) {
        self.mode = mode
        self.threshold = threshold
        self.pool = pool
        self.measured = measured
        self.coverage = coverage
        self.accuracy = accuracy
        self.note = note
    }

    public static let off = ExamplesDecision(mode: "off", threshold: nil, pool: 0, measured: 0, coverage: 0,
                                             accuracy: 0, note: "turned off")
}
