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

    /// Waits for a slot for a request of about `tokens` tokens.
    ///
    /// A task that wakes well after its slot (its process was short of CPU) does not use it: the slots missed during
    /// a stall would otherwise all be spent at once when it ends — a burst the provider counts against its limit. It
    /// takes the next free slot instead, so sends stay evenly spaced however late the wake-ups.
    func acquire(tokens: Int) async throws {
        var slot = reserve(tokens: tokens)
        while true {
            try await Task.sleep(until: slot, clock: .continuous)
            guard let later = recheck(slot: slot, tokens: tokens) else { return }
            slot = later
        }
    }

    /// Reserves the next slot for a request of about `tokens` tokens and returns when it is due.
    func reserve(tokens: Int, now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant {
        var start = max(now, pausedUntil)
        if let requestInterval {
            start = max(start, nextRequestAt)
            nextRequestAt = start + .seconds(requestInterval / slowdown)
        }
        if let secondsPerToken {
            start = max(start, nextTokenAt)
            nextTokenAt = start + .seconds(Double(tokens) * secondsPerToken / slowdown)
        }
        return start
    }

    /// Checks a slot at the moment its task woke for it: `nil` to send now, or a fresh slot if a 429 has paused
    /// everyone since it was reserved, or if the task is so late that sending would join others released by the same
    /// stall. The missed slot's tokens are given back; its request slot stays spent, erring on the side of the limit.
    func recheck(slot: ContinuousClock.Instant, tokens: Int,
                 now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        let tolerance = max(Self.lateness, .seconds((requestInterval ?? 0) / slowdown))
        guard now - slot > tolerance || slot < pausedUntil else { return nil }
        correct(estimatedTokens: tokens, actualTokens: 0)
        return reserve(tokens: tokens, now: now)
    }

    /// How late past its slot a wake-up may be and still send: scheduling jitter, not a stall.
    static let lateness = Duration.milliseconds(20)

    /// Corrects the token schedule once the provider has said what a request really used.
    func correct(estimatedTokens: Int, actualTokens: Int) {
        guard let secondsPerToken else { return }
        nextTokenAt = nextTokenAt + .seconds(Double(actualTokens - estimatedTokens) * secondsPerToken / slowdown)
    }

    /// The provider said 429: everyone waits until `retryAfter` (1 s when unsaid), and the run keeps 80% of its pace.
    func throttled(retryAfter: Duration?, now: ContinuousClock.Instant = .now) {
        throttledResponses += 1
        pausedUntil = max(pausedUntil, now + (retryAfter ?? .seconds(1)))
        slowdown = max(0.1, slowdown * 0.8)
    }
}
