import Foundation
import Testing
import TriageCore
@testable import TriageServer

/// The metering wrapper offers every capability of the classifier it wraps: reuse, estimates, the batch API. (It once
/// dropped reuse, and `serve --workers` paid for every repeated query.)
@Suite("MeteredClassifier forwards every capability")
struct MeteredClassifierTests {
    struct Batches: ProviderBatches {
        var provider: String { "openai" }
        var endpoint: String { "http://127.0.0.1:1/v1" }
        var model: String { "m" }
        var maxRequests: Int { 7 }
        var maxBytes: Int { 9_000 }
        func requestBody(for query: SupportQuery) throws -> Data { Data(query.text.utf8) }
        func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String { "b" }
        func submitted(named name: String, since: Date) async throws -> String? { nil }
        func status(_ providerBatchId: String) async throws -> ProviderBatchStatus {
            ProviderBatchStatus(state: .completed, counts: .init())
        }
        func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult] { [:] }
        func classification(from response: JSONValue, for query: SupportQuery) throws -> Classification {
            Classification(category: "billing", priority: "low", sentiment: "neutral", language: "en",
                           confidence: 1, summary: "", model: "m", taxonomyVersion: "v", promptTokens: 3)
        }
        func cancel(_ providerBatchId: String) async throws {}
    }

    struct Capable: Classifier {
        let taxonomy = Taxonomy.customerSupport
        func classify(_ request: ClassificationRequest) async throws -> Classification {
            throw ClassifierError.server("not asked")
        }
        var reuseScope: String? { "scope-1" }
        func estimate(_ query: SupportQuery) -> UsageEstimate? {
            UsageEstimate(promptTokens: 11, completionTokens: 2, costUSD: 0.5, batchCostUSD: 0.25)
        }
        var batches: (any ProviderBatches)? { Batches() }
        func answerWithoutCall(_ query: SupportQuery) -> Classification? {
            Classification(category: "refunds", priority: "", sentiment: "", language: "en", confidence: 1,
                           summary: "", model: "examples", taxonomyVersion: "v")
        }
        var maxTextBytes: Int? { 77 }
        var examplesDecision: ExamplesDecision? {
            ExamplesDecision(mode: "auto", threshold: 0.5, pool: 9, measured: 9, coverage: 0.5, accuracy: 1, note: nil)
        }
        func calibrate(forQueries queries: Int) async -> ExamplesDecision.ModelMeasurement? {
            ExamplesDecision.ModelMeasurement(measured: queries, correct: 1, target: 0.5, requests: 3, promptTokens: 0,
                                              completionTokens: 0, costUSD: 0)
        }
    }

    @Test("reuse scope, estimate and batch API come through the wrapper, and batch answers are metered")
    func forwards() async throws {
        let metrics = TriageMetrics()
        let metered = MeteredClassifier(base: Capable(), metrics: metrics)
        #expect(metered.reuseScope == "scope-1")
        #expect(metered.estimate(SupportQuery(text: "x"))?.promptTokens == 11)
        #expect(metered.answerWithoutCall(SupportQuery(text: "x"))?.category == "refunds")
        #expect(metered.examplesDecision?.threshold == 0.5)
        #expect(metered.maxTextBytes == 77)
        #expect(await metered.calibrate(forQueries: 40)?.measured == 40)
        let batches = try #require(metered.batches)
        #expect(batches.maxRequests == 7 && batches.maxBytes == 9_000 && batches.provider == "openai")
        #expect(try batches.requestBody(for: SupportQuery(text: "hello")) == Data("hello".utf8))
        _ = try batches.classification(from: .null, for: SupportQuery(text: "x"))
        #expect(metrics.render().contains(#"triage_queries_classified_total{category="billing"} 1"#))
    }
}
