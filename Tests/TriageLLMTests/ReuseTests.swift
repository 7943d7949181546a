import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
import TriageLLM
import TriageProcessor
import TriageSQLite

/// A query whose text was already classified under the same model, taxonomy and examples takes that answer.
@Suite("Reusing answers to identical queries")
struct ReuseTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("the reuse key ignores case and spacing, and changes with the text and the scope")
    func reuseKey() {
        let query = SupportQuery(text: "Where is my  ORDER?\n", subject: "a")
        let same = SupportQuery(text: "  where is my order? ", subject: "b", channel: "chat")
        #expect(query.reuseKey(scope: "m|t") == same.reuseKey(scope: "m|t"))
        #expect(query.reuseKey(scope: "m|t") != query.reuseKey(scope: "m|t2"))
        #expect(query.reuseKey(scope: "m|t") != SupportQuery(text: "Where is my order").reuseKey(scope: "m|t"))
    }

    /// Four texts, each three times with other case and spacing, classified one at a time against the fake.
    func run(reuse: Bool) async throws -> (RunRecord, [QueryRecord], requests: Int) {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        let texts = ["Where is my order?", "I was charged twice", "Cannot log in", "Cancel my plan please"]
        _ = try await store.insert((0..<3).flatMap { copy in
            texts.map { SupportQuery(text: copy == 0 ? $0 : copy == 1 ? $0.uppercased() : "  " + $0 + "  ") }
        })
        let server = FakeLLMServer { _ in .classification(category: "billing", promptTokens: 100, completionTokens: 20) }
        let record = try await server.run {
            let configuration = LLMConfiguration(provider: .openAI, baseURL: server.openAIBaseURL, model: "test-model",
                                                 apiKey: "sk-test")
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                           logger: Self.silent)
            var settings = BatchProcessor.Configuration()
            settings.maxConcurrent = 1
            settings.batchSize = 1
            settings.reuse = reuse
            return try await BatchProcessor(store: store, classifier: classifier, configuration: settings,
                                            logger: Self.silent).run()
        }
        return (record, try await store.list(QueryFilter(), after: nil, limit: 100), server.requestCount)
    }

    @Test("each text is asked once; the copies take its answer, marked with their source, at no cost")
    func identicalQueriesAreReused() async throws {
        let (record, stored, requests) = try await run(reuse: true)
        #expect(requests == 4)
        #expect(record.statistics.classified == 12)
        #expect(record.statistics.reused == 8)
        #expect(record.statistics.tokens.prompt == 400)
        let reused = stored.filter { $0.classification?.reusedFrom != nil }
        #expect(reused.count == 8)
        let asked = Dictionary(uniqueKeysWithValues: stored.filter { $0.classification?.reusedFrom == nil }
            .map { ($0.id, $0) })
        for copy in reused {
            let classification = try #require(copy.classification)
            let sourceID = try #require(classification.reusedFrom)
            let source = try #require(asked[sourceID])
            #expect(source.query.text.lowercased().trimmingCharacters(in: .whitespaces)
                    == copy.query.text.lowercased().trimmingCharacters(in: .whitespaces))
            #expect(classification.category == source.classification?.category)
            #expect(classification.promptTokens == 0 && classification.costUSD == 0)
            #expect(classification.reuseKey == source.classification?.reuseKey)
        }
    }

    @Test("--no-reuse asks the model about every query")
    func reuseOff() async throws {
        let (record, stored, requests) = try await run(reuse: false)
        #expect(requests == 12)
        #expect(record.statistics.reused == nil)
        #expect(stored.allSatisfy { $0.classification?.reusedFrom == nil && $0.classification?.reuseKey == nil })
    }
}
