import Foundation
import Testing
@testable import TriageLLM

@Suite("Rate limits and retry hints")
struct RateLimitTests {
    @Test("requests are paced evenly, never a minute's budget at once")
    func requestsArePaced() async {
        let limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        var delays: [Duration] = []
        for _ in 0..<5 { delays.append(await limiter.reserve(tokens: 0)) }
        #expect(delays[0] < .milliseconds(40))
        for (index, delay) in delays.enumerated() {
            #expect(abs((delay - .milliseconds(100 * index)) / .milliseconds(1)) < 40)
        }
    }

    @Test("tokens are paced by the estimate and corrected by the reported usage")
    func tokensArePaced() async {
        let limiter = RateLimiter(requestsPerMinute: nil, tokensPerMinute: 60_000)  // 1,000 tokens a second
        _ = await limiter.reserve(tokens: 500)
        let second = await limiter.reserve(tokens: 500)
        #expect(abs(second / .milliseconds(1) - 500) < 40)
        await limiter.correct(estimatedTokens: 500, actualTokens: 100)  // the second used 400 fewer
        let third = await limiter.reserve(tokens: 500)
        #expect(abs(third / .milliseconds(1) - 600) < 40)
    }

    @Test("a 429 pauses everyone and slows the whole run down")
    func throttlingSlowsEveryone() async {
        let limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        await limiter.throttled(retryAfter: .milliseconds(300))
        let first = await limiter.reserve(tokens: 0)
        let second = await limiter.reserve(tokens: 0)
        #expect(first >= .milliseconds(250))
        #expect(abs((second - first) / .milliseconds(1) - 125) < 20)  // 100 ms ÷ 0.8
        #expect(await limiter.slowdown == 0.8)
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
