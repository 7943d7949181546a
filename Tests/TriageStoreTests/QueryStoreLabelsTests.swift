import Foundation
import MongoTestSupport
import TestSupport
import Testing
import TriageCore

/// Expected labels, corrections and review flags, the same on every ``StoreFixture``.
@Suite("QueryStore labels")
struct QueryStoreLabelsTests {
    func classification(_ category: String, confidence: Double = 0.9, needsReview: Bool = false) -> Classification {
        Classification(category: category, priority: "high", sentiment: "negative", language: "en",
                       confidence: confidence, summary: "s", model: "m", taxonomyVersion: "v",
                       needsReview: needsReview)
    }

    @Test("expected labels are stored with the query and read back", arguments: StoreFixture.allCases)
    func expectedLabelsRoundTrip(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            var queries = sampleQueries(3)
            queries[0].expected = ExpectedLabels(category: "billing", priority: "high")
            queries[1].expected = ExpectedLabels(sentiment: "negative")
            _ = try await store.insert(queries)
            let stored = try await store.list(QueryFilter(), after: nil, limit: 10)
            #expect(stored.map(\.query.expected) == [queries[0].expected, queries[1].expected, nil])
            // Only a category makes a query labelled: a sentiment alone does not say what it is about.
            let labelled = try await store.list(QueryFilter(labelled: true), after: nil, limit: 10)
            #expect(labelled.map(\.query.externalId) == [queries[0].externalId])
            #expect(try await store.labelledExamples()
                    == [LabelledExample(text: queries[0].text, category: "billing", priority: "high")])
        }
    }

    @Test("a correction is kept beside the answer, and a later run's answer leaves it alone",
          arguments: StoreFixture.allCases)
    func correctionSurvivesLaterRun(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(2))
            let now = Date()
            let claimed = try await store.claim(limit: 2, owner: "w", leaseFor: .seconds(60), now: now)
            let token = try #require(claimed.first?.lease?.token)
            try await store.complete(claimed[0].id, token: token, classification: classification("billing"))
            let correction = Correction(category: "account", priority: "low", note: "a login problem", by: "alice",
                                        at: Date(timeIntervalSince1970: 1_800_000_000))
            let corrected = try #require(try await store.correct(claimed[0].id, with: correction))
            #expect(corrected.correction == correction)
            #expect(corrected.classification?.category == "billing")
            #expect(corrected.status == .classified)
            #expect(corrected.knownLabels?.category == "account")

            // The second query is corrected while a run holds it; the run's answer lands, the correction stays.
            _ = try await store.correct(claimed[1].id, with: Correction(category: "shipping", by: "bob"))
            try await store.complete(claimed[1].id, token: token, classification: classification("billing"))
            let both = try await store.list(QueryFilter(), after: nil, limit: 10)
            #expect(both.map { $0.correction?.category } == ["account", "shipping"])
            #expect(both.map { $0.classification?.category } == ["billing", "billing"])
            #expect(try await store.summary().corrected == 2)
            #expect(try await store.correct(QueryID("999999"), with: correction) == nil)
        }
    }

    @Test("correcting a query nobody answered yet settles it: no run claims it", arguments: StoreFixture.allCases)
    func correctingPendingSettlesIt(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(2))
            let first = try #require(try await store.list(QueryFilter(), after: nil, limit: 1).first)
            let record = try #require(try await store.correct(first.id, with: Correction(category: "refund", by: "cli")))
            #expect(record.status == .classified)
            #expect(record.classification == nil)
            let claimed = try await store.claim(limit: 10, owner: "w", leaseFor: .seconds(60), now: Date())
            #expect(claimed.map(\.id) != [first.id])
            #expect(claimed.count == 1)
        }
    }

    @Test("needsReview lists flagged answers until a person corrects them", arguments: StoreFixture.allCases)
    func needsReviewFilter(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(3))
            let claimed = try await store.claim(limit: 3, owner: "w", leaseFor: .seconds(60), now: Date())
            let token = try #require(claimed.first?.lease?.token)
            try await store.complete(claimed[0].id, token: token,
                                     classification: classification("billing", confidence: 0.3, needsReview: true))
            try await store.complete(claimed[1].id, token: token,
                                     classification: classification("billing", confidence: 0.4, needsReview: true))
            try await store.complete(claimed[2].id, token: token, classification: classification("billing"))
            var flagged = try await store.list(QueryFilter(needsReview: true), after: nil, limit: 10)
            #expect(flagged.map(\.id) == [claimed[0].id, claimed[1].id])
            #expect(flagged.allSatisfy { $0.classification?.needsReview == true })
            #expect(try await store.summary().needsReview == 2)

            _ = try await store.correct(claimed[0].id, with: Correction(category: "account", by: "alice"))
            flagged = try await store.list(QueryFilter(needsReview: true), after: nil, limit: 10)
            #expect(flagged.map(\.id) == [claimed[1].id])
            #expect(try await store.summary().needsReview == 1)
        }
    }

    @Test("a query can be found by its externalId", arguments: StoreFixture.allCases)
    func findByExternalId(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let queries = sampleQueries(3)
            _ = try await opened.store.insert(queries)
            let found = try await opened.store.list(QueryFilter(externalId: queries[1].externalId), after: nil, limit: 5)
            #expect(found.map(\.query.text) == [queries[1].text])
        }
    }
}

@Suite("Reusable answers in the store")
struct ReusableAnswerStoreTests {
    @Test("reusable finds a classified query by its answer's reuse key, and nothing else", arguments: StoreFixture.allCases)
    func findsByReuseKey(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert([SupportQuery(text: "a"), SupportQuery(text: "b")])
            #expect(try await store.reusable("rk-1") == nil)
            let claimed = try await store.claim(limit: 2, owner: "w", leaseFor: .seconds(60), now: Date())
            let token = try #require(claimed.first?.lease?.token)
            var answer = Classification(category: "billing", priority: "high", sentiment: "negative", language: "en",
                                        confidence: 0.8, summary: "s", model: "m", taxonomyVersion: "v")
            answer.reuseKey = "rk-1"
            answer.reusedFrom = QueryID("source-7")
            try await store.complete(claimed[0].id, token: token, classification: answer)
            let found = try #require(try await opened.peer.reusable("rk-1"))
            #expect(found.id == claimed[0].id)
            #expect(found.classification?.reuseKey == "rk-1")
            #expect(found.classification?.reusedFrom == QueryID("source-7"))
            #expect(try await store.reusable("rk-2") == nil)
        }
    }
}
