import Foundation
import Testing
import TestSupport
import TriageCore
@testable import TriageLLM
import TriageSQLite

@Suite("Rate limits and retry hints")
struct RateLimitTests {
    @Test("requests are paced evenly, never a minute's budget at once")
    func requestsArePaced() async {
        let limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        let now = ContinuousClock.now
        var slots: [Double] = []
        for _ in 0..<5 { slots.append(milliseconds(await limiter.reserve(tokens: 0, now: now)! - now)) }
        #expect(slots.map { $0.rounded() } == [0, 100, 200, 300, 400])
    }

    @Test("tokens are paced by the estimate and corrected by the reported usage")
    func tokensArePaced() async {
        let limiter = RateLimiter(requestsPerMinute: nil, tokensPerMinute: 60_000)  // 1,000 tokens a second
        let now = ContinuousClock.now
        _ = await limiter.reserve(tokens: 500, now: now)!
        let second = await limiter.reserve(tokens: 500, now: now)!
        #expect(milliseconds(second - now).rounded() == 500)
        await limiter.correct(estimatedTokens: 500, actualTokens: 100)  // the second used 400 fewer
        let third = await limiter.reserve(tokens: 500, now: now)!
        #expect(milliseconds(third - now).rounded() == 600)
    }

    @Test("a 429 pauses everyone, even those already waiting, and slows the whole run down")
    func throttlingSlowsEveryone() async throws {
        let limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        let now = ContinuousClock.now
        let waiting = await limiter.reserve(tokens: 0, now: now)!
        await limiter.throttled(retryAfter: .milliseconds(300), now: now)
        let first = await limiter.reserve(tokens: 0, now: now)!
        let second = await limiter.reserve(tokens: 0, now: now)!
        #expect(milliseconds(first - now).rounded() == 300)
        #expect(milliseconds(second - first).rounded() == 125)  // 100 ms ÷ 0.8
        #expect(await limiter.slowdown == 0.8)
        // The one that was waiting when the 429 came does not send into the pause: it gets the next slot.
        let moved = try #require(await limiter.recheck(slot: waiting, tokens: 0, now: waiting))
        #expect(milliseconds(moved - second).rounded() == 125)
    }

    @Test("wake-ups late after a stall take fresh, evenly spaced slots instead of sending together")
    func lateWakeUpsDoNotBurst() async throws {
        let limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: 60_000)
        let now = ContinuousClock.now
        var slots: [ContinuousClock.Instant] = []
        for _ in 0..<10 { slots.append(await limiter.reserve(tokens: 10, now: now)!) }
        // Woken on time, give or take scheduling jitter: send.
        #expect(await limiter.recheck(slot: slots[0], tokens: 10, now: slots[0] + .milliseconds(5)) == nil)
        // The process stalled: the other nine all wake 2 s after the first slot, most of them long past theirs.
        let woke = now + .seconds(2)
        var sends: [Double] = []
        for slot in slots.dropFirst() {
            let fresh = await limiter.recheck(slot: slot, tokens: 10, now: woke)
            sends.append(milliseconds((fresh ?? woke) - now))
        }
        // Unchecked, all nine would go at 2,000 ms. Instead they go a slot apart, starting then.
        #expect(sends.map { $0.rounded() } == (0..<9).map { 2_000 + 100 * Double($0) })
    }

    private func milliseconds(_ duration: Duration) -> Double { duration.timeInterval * 1_000 }

    /// Three processes' limiters on one SQLite file (three connections), one key's budget.
    private func fleet(requestsPerMinute: Double, in folder: TemporaryDirectory) throws -> [RateLimiter] {
        let location = StoreLocation.sqliteFile(path: folder.path("limits.sqlite"))
        return try (0..<3).map { _ in
            RateLimiter(requestsPerMinute: requestsPerMinute, tokensPerMinute: nil,
                        shared: .init(store: try SQLiteQueryStore(location: location), name: "key-fleet"))
        }
    }

    @Test("three processes sharing one limit draw one evenly spaced schedule, never two slots closer than a slot")
    func sharedLimitIsOneSchedule() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let limiters = try fleet(requestsPerMinute: 600, in: folder)  // one slot each 100 ms, fleet-wide
        let start = ContinuousClock.now
        let slots = try await withThrowingTaskGroup(of: [ContinuousClock.Instant].self) { group in
            for limiter in limiters {
                group.addTask {
                    var slots: [ContinuousClock.Instant] = []
                    for _ in 0..<20 { slots.append(try await limiter.take(tokens: 0)) }
                    return slots
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }.sorted()
        #expect(slots.count == 60)
        let gaps = zip(slots, slots.dropFirst()).map { milliseconds($1 - $0) }
        // Each pacing alone at the whole limit, three slots would share every 100 ms.
        #expect(gaps.allSatisfy { $0 > 99 })
        #expect(slots.first! >= start)
    }

    @Test("a 429 one process sees pauses and slows the others")
    func sharedThrottling() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let limiters = try fleet(requestsPerMinute: 600, in: folder)
        _ = try await limiters[1].take(tokens: 0)
        await limiters[0].throttled(retryAfter: .seconds(2))
        let throttledAt = ContinuousClock.now
        // The second process used up its span before the 429; its next one starts after the pause, at 80% pace.
        var slots: [ContinuousClock.Instant] = []
        for _ in 0..<10 { slots.append(try await limiters[1].take(tokens: 0)) }
        let afterPause = slots.drop { $0 < throttledAt + .milliseconds(1_900) }
        #expect(afterPause.count >= 5)
        #expect(zip(afterPause, afterPause.dropFirst()).allSatisfy { milliseconds($1 - $0) > 124 })
        #expect(await limiters[1].slowdown == 0.8)
    }

    @Test("Retry-After in seconds or as an HTTP date, and OpenAI's reset durations")
    func parsesRetryHints() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RetryAfter.delay(from: [("Retry-After", "2")], now: now) == .seconds(2))
        #expect(RetryAfter.delay(from: [("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT")], now: now) == .seconds(10))
        #expect(RetryAfter.delay(from: [("x-ratelimit-reset-requests", "1m30s"), ("x-ratelimit-reset-tokens", "20ms")],
                                 now: now) == .seconds(90))
        #expect(RetryAfter.goDuration("6m0s") == .seconds(360))
        #expect(RetryAfter.goDuration("1h2m3.5s") == .seconds(3723.5))
        #expect(RetryAfter.goDuration("soon") == nil)
        #expect(RetryAfter.delay(from: [("Content-Type", "x")]) == nil)
    }
}
