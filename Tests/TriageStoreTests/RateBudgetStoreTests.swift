import Foundation
import MongoTestSupport
import Testing
import TriageCore

/// The shared rate limits' part of the store contract: two handles on one store (two processes) draw spans of one
/// budget that never overlap, and see each other's 429s.
@Suite("Rate budgets in the store")
struct RateBudgetStoreTests {
    @Test("two processes taking spans at once get disjoint, back-to-back spans", arguments: StoreFixture.allCases)
    func concurrentSpansAreDisjoint(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let stores: [any RateBudgetStore] = [opened.store, opened.peer]
            let now = Date()
            let spans = try await withThrowingTaskGroup(of: [Range<Date>].self) { group in
                for store in stores {
                    group.addTask {
                        var taken: [Range<Date>] = []
                        for _ in 0..<15 {
                            let grant = try await store.updateRateBudget("key-test") {
                                $0.take(requestSeconds: 0.5, tokenSeconds: 0, now: now)
                            }
                            taken.append(try #require(grant.requests))
                        }
                        return taken
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }.sorted { $0.lowerBound < $1.lowerBound }
            #expect(spans.count == 30)
            for (earlier, later) in zip(spans, spans.dropFirst()) {
                #expect(abs(later.lowerBound.timeIntervalSince(earlier.upperBound)) < 0.001)
            }
            #expect(abs(spans.last!.upperBound.timeIntervalSince(now) - 15) < 0.001)
            // Another key's budget is untouched.
            let other = try await stores[0].updateRateBudget("key-other") {
                $0.take(requestSeconds: 0.5, tokenSeconds: 0, now: now)
            }
            #expect(abs(try #require(other.requests).lowerBound.timeIntervalSince(now)) < 0.001)
        }
    }

    @Test("a 429 recorded by one process pauses and slows the other's next span", arguments: StoreFixture.allCases)
    func throttlingIsShared(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let (one, other): (any RateBudgetStore, any RateBudgetStore) = (opened.store, opened.peer)
            let now = Date()
            try await one.updateRateBudget("key-test") { $0.throttle(retryAfter: .seconds(3), now: now) }
            let grant = try await other.updateRateBudget("key-test") {
                $0.take(requestSeconds: 0.4, tokenSeconds: 0, now: now)
            }
            #expect(grant.slowdown == 0.8)
            let span = try #require(grant.requests)
            #expect(abs(span.lowerBound.timeIntervalSince(now) - 3) < 0.001)
            #expect(abs(span.upperBound.timeIntervalSince(span.lowerBound) - 0.5) < 0.001)
        }
    }
}
