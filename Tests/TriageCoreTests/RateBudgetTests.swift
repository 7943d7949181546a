import Foundation
import Testing
import TriageCore

@Suite("Shared rate budget")
struct RateBudgetTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("spans follow one another on each schedule, and none starts in the past")
    func spansFollowOneAnother() {
        var budget = RateBudget()
        let first = budget.take(requestSeconds: 0.5, tokenSeconds: 0, now: t0)
        let second = budget.take(requestSeconds: 0.5, tokenSeconds: 0.25, now: t0)
        #expect(first.requests == t0..<t0.addingTimeInterval(0.5))
        #expect(first.tokens == nil)
        #expect(second.requests == t0.addingTimeInterval(0.5)..<t0.addingTimeInterval(1))
        #expect(second.tokens == t0..<t0.addingTimeInterval(0.25))
        // Idle for a minute: the schedule starts again from now, not from where it stopped.
        let later = t0.addingTimeInterval(60)
        #expect(budget.take(requestSeconds: 0.5, tokenSeconds: 0, now: later).requests?.lowerBound == later)
    }

    @Test("a 429 pauses every span after it and slows them; each quiet minute takes a step back up")
    func throttlingPausesAndRecovers() {
        var budget = RateBudget()
        _ = budget.take(requestSeconds: 0.5, tokenSeconds: 0, now: t0)
        budget.throttle(retryAfter: .seconds(2), now: t0)
        let paused = budget.take(requestSeconds: 0.5, tokenSeconds: 0, now: t0)
        #expect(paused.slowdown == 0.8)
        #expect(paused.requests == t0.addingTimeInterval(2)..<t0.addingTimeInterval(2 + 0.5 / 0.8))
        budget.throttle(retryAfter: .seconds(1), now: t0)
        #expect(budget.slowdown == 0.8 * 0.8)
        // A minute without a 429: one step back; two minutes: two (back to the full pace).
        #expect(abs(budget.take(requestSeconds: 0.1, tokenSeconds: 0, now: t0.addingTimeInterval(61)).slowdown - 0.8) < 1e-9)
        #expect(budget.take(requestSeconds: 0.1, tokenSeconds: 0, now: t0.addingTimeInterval(125)).slowdown == 1)
    }

    @Test("the budget's name hides the key: the same key and endpoint share one, any other does not")
    func namesHideTheKey() {
        let key = "sk-secret-123456"
        let name = RateBudget.name(endpoint: "https://api.openai.com/v1", apiKey: key)
        #expect(!name.contains(key) && !name.contains("secret"))
        #expect(name == RateBudget.name(endpoint: "https://api.openai.com/v1", apiKey: key))
        #expect(name != RateBudget.name(endpoint: "https://api.openai.com/v1", apiKey: key + "7"))
        #expect(name != RateBudget.name(endpoint: "http://127.0.0.1:8080/v1", apiKey: key))
        #expect(name != RateBudget.name(endpoint: "https://api.openai.com/v1", apiKey: nil))
    }
}
