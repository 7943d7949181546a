import Foundation
import TriageCore
import TriageProcessor

/// How `triage serve` behaves. Built at the edge (flags, environment, config file) and passed in whole.
public struct ServerConfiguration: Sendable {
    /// Where to listen; loopback by default.
    public var host = "127.0.0.1"
    public var port = 8080
    /// Bearer tokens accepted on `/v1` routes (and on any path in ``protectedPaths``).
    public var apiKeys: APIKeys = []
    /// Serve `/v1` without keys when none are configured (`--no-auth`). Off: with no keys, `/v1` answers 401.
    public var allowUnauthenticated = false
    /// Routes outside `/v1` that also require a key (`/`, `/healthz`, `/readyz`, `/metrics`, `/openapi.json` are
    /// open by default); a trailing slash is ignored. ``validate()`` refuses a path that names no route.
    public var protectedPaths: Set<String> = []
    /// Host names requests may address besides IP addresses, `localhost` and ``host`` (DNS rebinding defence).
    public var allowedHosts: HostPatterns = []
    /// How long a connection may stay open with no request in progress, which bounds the time to send a request's
    /// head too (a socket that sends nothing, or headers a byte at a time, is closed then).
    public var idleTimeout: Duration = .seconds(30)
    /// How long a request's body may take to arrive whole once its head has; the connection is closed then.
    public var bodyTimeout: Duration = .seconds(30)
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 1 << 20
    /// A `GET /v1/queries` page stops at about this many bytes (its `nextCursor` goes on), so a page of large texts
    /// costs memory by this, not by `limit` × text size.
    public var maxPageBytes = 4 << 20
    /// Keep classifying new pending queries in the background.
    public var workers = false
    /// How runs started through the API, and the background workers, process queries. A run request may lower
    /// `batchSize`, `maxConcurrent` and `limit`, never raise them.
    public var processor = BatchProcessor.Configuration()
    /// How long a `POST /v1/classify` waits for one of its `processor.maxConcurrent` slots before a 429 with
    /// `Retry-After`.
    public var classifyWait: Duration = .seconds(2)
    /// Runs started through the API that may be running at once; more get 429.
    public var maxActiveRuns = 4
    /// How long in-flight classifications may take to finish once shutdown begins; the rest are handed back.
    public var gracePeriod: Duration = .seconds(10)
    /// Receivers of every run's end event, besides the one a run may name. Trusted: set by the operator.
    public var webhookURLs: [String] = []
    /// Webhook signing, retries, and which URLs API clients may name.
    public var webhooks = WebhookConfiguration()
    /// Checks beyond the store that `/readyz` runs (such as "the LLM endpoint answers"): a problem, or `nil`.
    /// Its result is kept for ``readinessCacheTime``.
    public var readinessCheck: (@Sendable () async -> String?)?
    /// How long `/readyz` reuses its last answer, so a probe storm cannot become a storm on the LLM endpoint.
    public var readinessCacheTime: Duration = .seconds(5)
    /// How long `/metrics` reuses its summary of the store (counts by status), so a scrape flood costs the store one
    /// query per period.
    public var metricsCacheTime: Duration = .seconds(5)

    public init() {}

    /// A configuration that cannot be served as it is.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Throws: ``Invalid`` for a protected path that names no route, or limits below 1.
    public func validate() throws {
        let known = Set(OperationsController.paths)
        for path in protectedPaths where !known.contains(Self.routePath(path)) {
            throw Invalid(description: """
                --protect \(path): no such route; the routes outside /v1 are \
                \(OperationsController.paths.joined(separator: ", ")) (every /v1 route needs a key already)
                """)
        }
        if maxActiveRuns < 1 { throw Invalid(description: "the most runs at once must be at least 1") }
    }

    /// `/metrics/` and `/metrics` name one route.
    static func routePath(_ path: String) -> String {
        let trimmed = "/" + path.split(separator: "/").joined(separator: "/")
        return trimmed
    }
}

/// How webhook events are signed and delivered, and where API clients may send them.
public struct WebhookConfiguration: Sendable {
    /// The HMAC-SHA256 key; without one, events are sent unsigned.
    public var secret: String?
    /// Deliveries per event and receiver before giving up.
    public var maxAttempts = 5
    /// Delay before the next attempt (full jitter).
    public var retryPolicy = RetryPolicy(base: .milliseconds(500), maximum: .seconds(30))
    /// How long one delivery attempt may take, all of it: connecting, the receiver's headers and its body.
    public var timeout: Duration = .seconds(10)
    /// Hosts a run's own webhook may name (`server.webhookHosts`, `TRIAGE_WEBHOOK_HOSTS`); empty: none.
    public var allowedHosts: HostPatterns = []
    /// Let a run's webhook reach loopback, private and link-local addresses (off; tests with a local receiver).
    public var allowPrivateAddresses = false

    public init() {}

    var targetPolicy: WebhookTargetPolicy {
        WebhookTargetPolicy(allowedHosts: allowedHosts, allowPrivateAddresses: allowPrivateAddresses)
    }
}
