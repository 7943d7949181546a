import Foundation
import TriageCore
import TriageProcessor

/// How `triage serve` behaves. Built at the edge (flags, environment, config file) and passed in whole.
public struct ServerConfiguration: Sendable {
    /// Where to listen; loopback by default.
    public var host = "127.0.0.1"
    public var port = 8080
    /// Bearer tokens accepted on `/v1` routes (and on any path in ``protectedPaths``). Empty: no authentication.
    public var apiKeys: Set<String> = []
    /// Paths outside `/v1` that also require a key (by default `/healthz`, `/readyz`, `/metrics` and `/` are open).
    public var protectedPaths: Set<String> = []
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 1 << 20
    /// Keep classifying new pending queries in the background.
    public var workers = false
    /// How runs started through the API, and the background workers, process queries.
    public var processor = BatchProcessor.Configuration()
    /// How long in-flight classifications may take to finish once shutdown begins; the rest are handed back.
    public var gracePeriod: Duration = .seconds(10)
    /// Receivers of every run's end event, besides the one a run may name.
    public var webhookURLs: [String] = []
    /// Webhook signing and retries.
    public var webhooks = WebhookConfiguration()
    /// Checks beyond the store that `/readyz` runs (such as "the LLM endpoint answers"); `nil` means ready.
    public var readinessCheck: (@Sendable () async -> String?)?

    public init() {}
}

/// How webhook events are signed and delivered.
public struct WebhookConfiguration: Sendable {
    /// The HMAC-SHA256 key; without one, events are sent unsigned.
    public var secret: String?
    /// Deliveries per event and receiver before giving up.
    public var maxAttempts = 5
    /// Delay before the next attempt (full jitter).
    public var retryPolicy = RetryPolicy(base: .milliseconds(500), maximum: .seconds(30))
    /// How long one delivery may take.
    public var timeout: Duration = .seconds(10)

    public init() {}
}
