import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
@testable import TriageLLM
import TriageProcessor
import TriageSQLite

/// `--answer-from-examples auto` measures the model on a sample of the pool, each example asked with the others as
/// its examples, and holds the examples' answers to the model's accuracy when that is below 0.97.
@Suite("The model measured on the example pool")
struct CalibrationTests {
    static let silent = Logger(label: "calibration-tests") { _ in SwiftLogNoOpLogHandler() }

    /// Two clear topics, 25 examples each: alone they are right every time, but 50 of 50 does not show 0.97 with
    /// confidence, so without the model measured they never answer.
    static let pool = EvidenceTests.topicPool(25, topics: 2)

    static func withClassifier(sample: Int = 10, pool: [LabelledExample] = Self.pool, redact: Bool? = nil,
                               script: @escaping @Sendable (FakeLLMServer.Request) -> FakeLLMServer.Reply,
                               _ body: @escaping @Sendable (LLMClassifier, FakeLLMServer) async throws -> Void) async throws {
        let server = FakeLLMServer(script: script)
        return try await server.run {
            try await withHTTPClient { client in
                var configuration = LLMConfiguration(provider: .openAI, baseURL: server.openAIBaseURL, model: "m",
                                                     apiKey: "sk-test")
                configuration.calibrationSample = sample
                configuration.retryBudget = 0
                configuration.redact = redact
                var taxonomy = EvidenceTests.largeTaxonomy(3)
                taxonomy.fields = [.category]
                let classifier = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                               logger: Self.silent, examples: ExampleIndex(pool))
                return try await body(classifier, server)
            }
        }
    }

    @Test("a model that labels the pool wrong lets the examples answer; each example is asked without itself")
    func weakModel() async throws {
        try await Self.withClassifier(script: { _ in .classification(category: "invoice") }) { classifier, server in
            #expect(classifier.examplesDecision?.threshold == nil, "alone, 50 of 50 is not 0.97 with confidence")
            let measurement = try #require(await classifier.calibrate(forQueries: 100))
            #expect(measurement.measured == 10 && measurement.correct == 0 && measurement.requests == 10)
            #expect(server.requests.count == 10)
            #expect(measurement.target < 0.3, "held to the model's upper bound, \(measurement.target)")
            let decision = try #require(classifier.examplesDecision)
            #expect(decision.threshold != nil)
            #expect(decision.model == measurement)
            // Every measured example went as the query and never among its own examples.
            for request in server.requests {
                let messages = try #require(request.json["messages"] as? [[String: Any]])
                let texts = messages.compactMap { $0["content"] as? String }
                let query = try #require(texts.last)
                let own = try #require(Self.pool.first { query.contains($0.text) })
                #expect(texts.dropLast().allSatisfy { !$0.contains(own.text) })
            }
            // Measured once: the next run pays nothing.
            #expect(await classifier.calibrate(forQueries: 100) == nil)
            #expect(server.requests.count == 10)
            let answer = try await classifier.classify(.init(id: QueryID("q"), query: SupportQuery(
                text: "refund request number 7 money back please"), attempt: 1))
            #expect(answer.answeredBy == .examples && answer.category == "refund")
            #expect(server.requests.count == 10)
        }
    }

    @Test("a model that labels the pool right keeps the examples held to 0.97")
    func strongModel() async throws {
        let script: @Sendable (FakeLLMServer.Request) -> FakeLLMServer.Reply = { request in
            let messages = request.json["messages"] as? [[String: Any]] ?? []
            let query = messages.last?["content"] as? String ?? ""
            return .classification(category: query.contains("refund") ? "refund" : "password")
        }
        try await Self.withClassifier(script: script) { classifier, _ in
            let measurement = try #require(await classifier.calibrate(forQueries: 100))
            #expect(measurement.correct == 10)
            #expect(measurement.target == LLMConfiguration.AnswerFromExamples.autoTarget)
            #expect(classifier.examplesDecision?.threshold == nil)
        }
    }

    @Test("a run smaller than twice the sample, or a provider that fails, measures nothing")
    func notMeasured() async throws {
        try await Self.withClassifier(script: { _ in .classification(category: "invoice") }) { classifier, server in
            #expect(await classifier.calibrate(forQueries: 19) == nil)
            #expect(server.requests.isEmpty)
        }
        try await Self.withClassifier(script: { _ in .status(500, body: "down") }) { classifier, server in
            let measurement = try #require(await classifier.calibrate(forQueries: 100))
            // No answer from the model is no measure of it: the examples stay held to 0.97.
            #expect(measurement.measured == 0 && measurement.target == LLMConfiguration.AnswerFromExamples.autoTarget)
            #expect(classifier.examplesDecision?.threshold == nil && classifier.examplesDecision?.model == nil)
            // And the next run tries again.
            _ = await classifier.calibrate(forQueries: 100)
            #expect(server.requests.count == 20)
        }
    }

    @Test("a run measures the model before its first query, pays for it, records it, and sends the examples redacted")
    func throughARun() async throws {
        // Customers' queries as examples: the measurement sends them, redacted like every request.
        let pool = Self.pool.enumerated().map { index, example in
            LabelledExample(text: example.text + " from jane.doe\(index)@example.com", category: example.category)
        }
        try await Self.withClassifier(pool: pool, redact: true,
                                      script: { _ in .classification(category: "invoice") }) { classifier, server in
            let store = try SQLiteQueryStore(location: .sqliteMemory)
            _ = try await store.insert((0..<20).map { SupportQuery(text: "refund request number \($0) money back") })
            var settings = BatchProcessor.Configuration()
            settings.maxConcurrent = 2
            let record = try await BatchProcessor(store: store, classifier: classifier, configuration: settings,
                                                  logger: Self.silent).run()
            let model = try #require(record.examplesDecision?.model)
            #expect(model.measured == 10 && model.correct == 0)
            // The measurement's tokens are the run's: 10 requests of the fake's 150 prompt tokens at least.
            #expect(record.statistics.tokens.prompt >= 10 * 150)
            #expect(record.statistics.classified == 20)
            #expect(record.statistics.answersBySource?["examples"]?.count ?? 0 > 0)
            let sent = server.requests.map { String(decoding: $0.body, as: UTF8.self) }
            #expect(sent.count >= 10)
            #expect(sent.allSatisfy { !$0.contains("@example.com") }, "an example's address reached the provider")
        }
    }
}
