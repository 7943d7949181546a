import Foundation
import TriageCore

/// Paces requests and tokens evenly under per-minute limits, and slows the whole run when the provider says 429.
///
/// Providers enforce per-minute limits over much shorter periods (OpenAI: 60,000 RPM as 1,000 per second), so a
/// minute's budget is never sent at once: each request gets the next free slot on an evenly spaced schedule
/// (virtual scheduling, no burst). Token costs are estimated before the request and corrected by reported usage.
///
/// The limits are the provider key's. When they are ``Shared`` through the store, the schedules are the fleet's
/// (``RateBudget``): this limiter takes half a second of them at a time and hands out the slots in it, so every
/// process on the store and the key sends on one evenly spaced schedule, and a 429 that one process sees slows all.
/// Alone, the schedules are this process's and the store is never asked.
actor RateLimiter {
    /// The fleet's budget: where it is kept and under which name.
    struct Shared: Sendable {
        var store: any RateBudgetStore
        var name: String
    }

    /// One schedule: the next free slot, and where the span this process may send in ends (`nil`: no end, alone).
    private struct Lane {
        var next: ContinuousClock.Instant = .now
        var end: ContinuousClock.Instant?

        /// Whether a slot of `length` from `start` ends within the span (give or take the rounding of converting
        /// the store's wall-clock times).
        func fits(_ length: Duration, from start: ContinuousClock.Instant) -> Bool {
            end.map { start + length <= $0 + .milliseconds(1) } ?? true
        }
    }

    private let requestInterval: Double?
    private let secondsPerToken: Double?
    private let shared: Shared?
    private var requests = Lane()
    private var tokens = Lane()
    private var pausedUntil: ContinuousClock.Instant = .now
    /// The spans being taken from the shared budget, awaited by everyone who needs them.
    private var refill: Task<Void, any Error>?
    /// Below 1 after 429s: the run (or the fleet, when shared) keeps this share of the configured rates.
    private(set) var slowdown = 1.0
    private(set) var throttledResponses = 0

    init(requestsPerMinute: Double?, tokensPerMinute: Double?, shared: Shared? = nil) {
        requestInterval = requestsPerMinute.map { 60 / $0 }
        secondsPerToken = tokensPerMinute.map { 60 / $0 }
        self.shared = requestsPerMinute == nil && tokensPerMinute == nil ? nil : shared
        if self.shared != nil {
            requests.end = .now
            tokens.end = .now
        }
    }

    /// Waits for a slot for a request of about `tokens` tokens.
    ///
    /// A task that wakes well after its slot (its process was short of CPU) does not use it: the slots missed during
    /// a stall would otherwise all be spent at once when it ends — a burst the provider counts against its limit. It
    /// takes the next free slot instead, so sends stay evenly spaced however late the wake-ups.
    func acquire(tokens: Int) async throws {
        var slot = try await take(tokens: tokens)
        while true {
            try await Task.sleep(until: slot, clock: .continuous)
            guard isLate(slot, now: .now) else { return }
            correct(estimatedTokens: tokens, actualTokens: 0)
            slot = try await take(tokens: tokens)
        }
    }

    /// A slot, taking more of the shared budget when this process's spans are used up. The store being unreachable
    /// holds the request back (a second between tries) rather than sending it past the fleet's limit.
    func take(tokens: Int) async throws -> ContinuousClock.Instant {
        while true {
            if let slot = reserve(tokens: tokens) { return slot }
            do {
                try await extend(tokens: tokens)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Reserves the next slot for a request of about `tokens` tokens and returns when it is due, or `nil` when the
    /// shared spans this process holds have no room for it.
    func reserve(tokens: Int, now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        let requestLength = requestInterval.map { Duration.seconds($0 / slowdown) }
        let tokenLength = secondsPerToken.map { Duration.seconds(Double(tokens) * $0 / slowdown) }
        var start = max(now, pausedUntil)
        if requestLength != nil { start = max(start, requests.next) }
        if tokenLength != nil { start = max(start, self.tokens.next) }
        if let requestLength, !requests.fits(requestLength, from: start) { return nil }
        if let tokenLength, !self.tokens.fits(tokenLength, from: start) { return nil }
        if let requestLength { requests.next = start + requestLength }
        if let tokenLength { self.tokens.next = start + tokenLength }
        return start
    }

    /// Checks a slot at the moment its task woke for it: `nil` to send now, or a fresh slot if a 429 has paused
    /// everyone since it was reserved, or if the task is so late that sending would join others released by the same
    /// stall. The missed slot's tokens are given back; its request slot stays spent, erring on the side of the limit.
    func recheck(slot: ContinuousClock.Instant, tokens: Int,
                 now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        guard isLate(slot, now: now) else { return nil }
        correct(estimatedTokens: tokens, actualTokens: 0)
        return reserve(tokens: tokens, now: now)
    }

    private func isLate(_ slot: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Bool {
        let tolerance = max(Self.lateness, .seconds((requestInterval ?? 0) / slowdown))
        return now - slot > tolerance || slot < pausedUntil
    }

    /// How late past its slot a wake-up may be and still send: scheduling jitter, not a stall.
    static let lateness = Duration.milliseconds(20)
    /// How much of the shared schedules a process takes at a time: a store write per lane every half second at
    /// most, and at most half a second of the fleet's budget unused when a process stops or dies.
    static let span = 0.5

    /// Corrects the token schedule once the provider has said what a request really used. Tokens used beyond the
    /// span this process holds are taken from its next span.
    func correct(estimatedTokens: Int, actualTokens: Int) {
        guard let secondsPerToken else { return }
        tokens.next = tokens.next + .seconds(Double(actualTokens - estimatedTokens) * secondsPerToken / slowdown)
    }

    /// The provider said 429: everyone waits until `retryAfter` (1 s when unsaid), and the run keeps 80% of its pace.
    /// When shared, the whole fleet does: the budget records it, and this process gives up its spans to take fresh
    /// ones past the pause, at the fleet's new pace.
    func throttled(retryAfter: Duration?, now: ContinuousClock.Instant = .now) async {
        let pause = retryAfter ?? .seconds(1)
        throttledResponses += 1
        pausedUntil = max(pausedUntil, now + pause)
        slowdown = max(RateBudget.slowest, slowdown * RateBudget.step)
        guard let shared else { return }
        requests.end = requests.next
        tokens.end = tokens.next
        let wall = Date()
        _ = try? await shared.store.updateRateBudget(shared.name) { $0.throttle(retryAfter: pause, now: wall) }
    }

    /// Takes fresh spans of the shared schedules for the lanes with no room left for a request of `tokens` tokens.
    private func extend(tokens count: Int) async throws {
        guard let shared else { return }
        if refill == nil {
            let now = ContinuousClock.now
            let start = max(now, pausedUntil)
            var requestSeconds = 0.0
            var tokenSeconds = 0.0
            if let requestInterval,
               !requests.fits(.seconds(requestInterval / slowdown), from: max(start, requests.next)) {
                requestSeconds = max(1, (Self.span / requestInterval).rounded(.down)) * requestInterval
            }
            if let secondsPerToken,
               !tokens.fits(.seconds(Double(count) * secondsPerToken / slowdown), from: max(start, tokens.next)) {
                tokenSeconds = max(Self.span, Double(count) * secondsPerToken)
            }
            refill = Task { try await self.takeSpans(shared, requestSeconds: requestSeconds, tokenSeconds: tokenSeconds) }
        }
        try await refill?.value
    }

    private func takeSpans(_ shared: Shared, requestSeconds: Double, tokenSeconds: Double) async throws {
        defer { refill = nil }
        let grant = try await shared.store.updateRateBudget(shared.name) {
            $0.take(requestSeconds: requestSeconds, tokenSeconds: tokenSeconds, now: Date())
        }
        // Wall-clock times (shared by every process) to this process's clock.
        let (wall, now) = (Date(), ContinuousClock.now)
        func instant(_ date: Date) -> ContinuousClock.Instant { now + .seconds(date.timeIntervalSince(wall)) }
        slowdown = grant.slowdown
        if let span = grant.requests {
            requests = Lane(next: instant(span.lowerBound), end: instant(span.upperBound))
        }
        if let span = grant.tokens {
            // Tokens used past the old span (a request that used more than estimated) come out of the new one.
            let debt = max(.zero, tokens.next - (tokens.end ?? tokens.next))
            tokens = Lane(next: instant(span.lowerBound) + debt, end: instant(span.upperBound))
        }
    }
}
