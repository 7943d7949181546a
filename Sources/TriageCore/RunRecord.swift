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
