import Foundation
import Logging
import MongoTestSupport
import TestSupport
import Testing
import TriageCore
import TriageProcessor

/// What a run does with expected labels, review thresholds and corrections.
@Suite("BatchProcessor labels")
struct BatchProcessorLabelsTests {
    func processor(_ store: any QueryStore, reviewBelow: Double? = nil) -> BatchProcessor {
        var configuration = BatchProcessor.Configuration()
        configuration.reviewBelow = reviewBelow
        // The scripted classifier answers orders_shipping with confidence 0.9 to everything.
        return BatchProcessor(store: store, classifier: ScriptedClassifier(), configuration: configuration,
                              logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test("a run scores its answers against expected labels", arguments: StoreFixture.processorCases)
    func runScoresExpectedLabels(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            var queries = sampleQueries(5)
            queries[0].expected = ExpectedLabels(category: "orders_shipping")
            queries[1].expected = ExpectedLabels(category: "orders_shipping")
            queries[2].expected = ExpectedLabels(category: "billing")
            queries[3].expected = ExpectedLabels(priority: "high")
            _ = try await opened.store.insert(queries)
            let run = try await processor(opened.store).run()
            #expect(run.statistics.classified == 5)
            #expect(run.statistics.expectedLabels == RunStatistics.LabelAgreement(scored: 3, correct: 2))
            #expect(run.statistics.needsReview == nil)
            #expect(try await opened.store.run(run.id)?.statistics.expectedLabels?.accuracy == 2.0 / 3.0)
        }
    }

    @Test("a run without expected labels reports no accuracy")
    func noExpectedLabelsNoAccuracy() async throws {
        try await StoreFixture.sqliteMemory.withBacklog(3) { store in
            let run = try await processor(store).run()
            #expect(run.statistics.expectedLabels == nil)
        }
    }

    @Test("answers under the review threshold are flagged, the rest are not", arguments: [0.95, 0.5])
    func reviewThreshold(threshold: Double) async throws {
        try await StoreFixture.sqliteMemory.withBacklog(4) { store in
            let run = try await processor(store, reviewBelow: threshold).run()
            let flagged = threshold > 0.9 ? 4 : 0
            #expect(run.statistics.needsReview == flagged)
            #expect(try await store.summary().needsReview == flagged)
            #expect(try await store.list(QueryFilter(needsReview: true), after: nil, limit: 10).count == flagged)
        }
    }

    @Test("a correction survives a later run over the same queries", arguments: StoreFixture.processorCases)
    func correctionSurvivesRequeue(fixture: StoreFixture) async throws {
        try await fixture.withBacklog(3) { store in
            _ = try await processor(store).run()
            let first = try #require(try await store.list(QueryFilter(), after: nil, limit: 1).first)
            let correction = Correction(category: "billing", note: "double charge", by: "alice",
                                        at: Date(timeIntervalSince1970: 1_800_000_000))
            _ = try await store.correct(first.id, with: correction)
            // Nothing brings a corrected query back to a run: no claim takes it, and a new run finds no work.
            let claimed = try await store.claim(limit: 10, owner: "x", leaseFor: .seconds(60), now: Date())
            #expect(claimed.isEmpty)
            let pending = try await store.list(QueryFilter(status: .pending), after: nil, limit: 10)
            #expect(pending.isEmpty)
            let second = try await processor(store).run()
            #expect(second.statistics.classified == 0)
            let after = try #require(try await store.find(first.id))
            #expect(after.correction == correction)
            #expect(after.classification?.category == "orders_shipping")
        }
    }
}
