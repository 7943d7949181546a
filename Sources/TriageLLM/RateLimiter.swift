/// Paces requests and tokens evenly under per-minute limits, and slows the whole run when the provider says 429.
///
/// Providers enforce per-minute limits over much shorter periods (OpenAI: 60,000 RPM as 1,000 per second), so a
/// minute's budget is never sent at once: each request gets the next free slot on an evenly spaced schedule
/// (virtual scheduling, no burst). Token costs are estimated before the request and corrected by reported usage.
actor RateLimiter {
    private var requestInterval: Double?
    private var secondsPerToken: Double?
    private var nextRequestAt: ContinuousClock.Instant = .now
    private var nextTokenAt: ContinuousClock.Instant = .now
    private var pausedUntil: ContinuousClock.Instant = .now
    /// Below 1 after 429s: the run keeps this share of the configured rates.
    private(set) var slowdown = 1.0
    private(set) var throttledResponses = 0

    init(requestsPerMinute: Double?, tokensPerMinute: Double?) {
        requestInterval = requestsPerMinute.map { 60 / $0 }
        secondsPerToken = tokensPerMinute.map { 60 / $0 }
    }

    /// Reserves the next slot for a request of about `tokens` tokens and returns how long to wait for it.
    func reserve(tokens: Int) -> Duration {
        let now = ContinuousClock.now
        var start = max(now, pausedUntil)
        if let requestInterval {
            start = max(start, nextRequestAt)
            nextRequestAt = start + .seconds(requestInterval / slowdown)
        }
        if let secondsPerToken {
            start = max(start, nextTokenAt)
            nextTokenAt = start + .seconds(Double(tokens) * secondsPerToken / slowdown)
        }
        return start - now
    }

    /// Corrects the token schedule once the provider has said what a request really used.
    func correct(estimatedTokens: Int, actualTokens: Int) {
        guard let secondsPerToken else { return }
        nextTokenAt = nextTokenAt + .seconds(Double(actualTokens - estimatedTokens) * secondsPerToken / slowdown)
    }

    /// The provider said 429: everyone waits until `retryAfter` (1 s when unsaid), and the run keeps 80% of its pace.
    func throttled(retryAfter: Duration?) {
        throttledResponses += 1
        pausedUntil = max(pausedUntil, .now + (retryAfter ?? .seconds(1)))
        slowdown = max(0.1, slowdown * 0.8)
    }
}
