import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
import TriageProcessor
import TriageSQLite
@testable import TriageLLM

/// Prompt caching: a stable request prefix, and cached prompt tokens read from usage and priced at their own rate.
@Suite("Prompt caching")
struct PromptCachingTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let price = LLMConfiguration.Price(promptPerMillion: 1_000, completionPerMillion: 2_000,
                                              cachedPromptPerMillion: 100, cacheWritePerMillion: 1_250)

    func withClassifier<T: Sendable>(
        _ provider: LLMConfiguration.Provider,
        examples: [LabelledExample]? = nil,
        script: @escaping @Sendable (FakeLLMServer.Request) -> FakeLLMServer.Reply,
        _ body: @Sendable (LLMClassifier, FakeLLMServer) async throws -> T
    ) async throws -> T {
        let server = FakeLLMServer(script: script)
        return try await server.run {
            let base = provider == .openAI ? server.openAIBaseURL : server.anthropicBaseURL
            var configuration = LLMConfiguration(provider: provider, baseURL: base, model: "test-model", apiKey: "sk-t")
            configuration.prices["test-model"] = Self.price
            return try await withHTTPClient { client in
                try await body(LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                             logger: Self.silent, examples: examples.map(ExampleIndex.init)), server)
            }
        }
    }

    func request(_ text: String, id: String = "1") -> ClassificationRequest {
        ClassificationRequest(id: QueryID(id), query: SupportQuery(text: text), attempt: 1)
    }

    @Test("OpenAI: prompt_tokens_details.cached_tokens is counted and priced at the cached rate")
    func openAICachedTokens() async throws {
        try await withClassifier(.openAI, script: { _ in
            .classification(promptTokens: 1_500, completionTokens: 40, cachedTokens: 1_024)
        }) { classifier, _ in
            let result = try await classifier.classify(request("I was charged twice"))
            #expect(result.promptTokens == 1_500)
            #expect(result.cachedPromptTokens == 1_024)
            // 476 uncached at 1,000 $/M, 1,024 cached at 100 $/M, 40 completion at 2,000 $/M.
            let dollars: [Double] = [476 * 1_000, 1_024 * 100, 40 * 2_000]
            let expected = dollars.reduce(0, +) / 1_000_000
            #expect(abs(result.costUSD - expected) < 1e-12)
        }
    }

    @Test("Anthropic: cache reads and writes are prompt tokens, each priced at its own rate")
    func anthropicCachedTokens() async throws {
        let body = #"""
            {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "tool_use",
             "content": [{"type": "tool_use", "id": "t", "name": "record_classification",
                          "input": {"category": "billing", "priority": "high", "sentiment": "negative",
                                    "language": "en", "confidence": 0.9, "summary": "Charged twice."}}],
             "usage": {"input_tokens": 30, "output_tokens": 40, "cache_read_input_tokens": 1200,
                       "cache_creation_input_tokens": 300}}
            """#
        try await withClassifier(.anthropic, script: { _ in .status(200, body: body) }) { classifier, server in
            let result = try await classifier.classify(request("I was charged twice"))
            #expect(result.promptTokens == 1_530)
            #expect(result.cachedPromptTokens == 1_200)
            let dollars: [Double] = [30 * 1_000, 1_200 * 100, 300 * 1_250, 40 * 2_000]
            let expected = dollars.reduce(0, +) / 1_000_000
            #expect(abs(result.costUSD - expected) < 1e-12)
            let system = try #require(server.requests.first?.json["system"] as? [[String: Any]])
            #expect((system.first?["cache_control"] as? [String: Any])?["type"] as? String == "ephemeral")
        }
    }

    @Test("with examples, every request starts with the same bytes: the system prompt, then the examples")
    func stablePrefix() async throws {
        let examples = [
            LabelledExample(text: "My parcel never arrived", category: "orders_shipping"),
            LabelledExample(text: "I was billed twice this month", category: "billing"),
        ]
        try await withClassifier(.openAI, examples: examples, script: { _ in .classification() }) { classifier, server in
            _ = try await classifier.classify(request("Where is my parcel?", id: "1"))
            _ = try await classifier.classify(request("Why was I charged twice?", id: "2"))
            let systems = server.requests.map { ($0.json["messages"] as? [[String: Any]])?.first?["content"] as? String }
            #expect(systems.count == 2)
            #expect(systems[0] != nil && systems[0] == systems[1])
            // The body puts the messages (system first) before the query's own text.
            let bodies = server.requests.map { String(decoding: $0.body, as: UTF8.self) }
            let systemText = try #require(systems[0])
            let encoded = String(decoding: try JSONEncoder().encode(systemText), as: UTF8.self).dropFirst().dropLast()
            #expect(bodies.allSatisfy { $0.contains(encoded) })
        }
    }

    @Test("a run's statistics and report show the cached prompt tokens")
    func runStatistics() async throws {
        try await withClassifier(.openAI, script: { _ in
            .classification(promptTokens: 1_500, completionTokens: 40, cachedTokens: 1_024)
        }) { classifier, _ in
            let store = try SQLiteQueryStore(location: .sqliteMemory)
            _ = try await store.insert(sampleQueries(3))
            var configuration = BatchProcessor.Configuration()
            configuration.reuse = false
            let run = try await BatchProcessor(store: store, classifier: classifier, configuration: configuration,
                                               logger: Self.silent).run()
            #expect(run.statistics.classified == 3)
            #expect(run.statistics.tokens.prompt == 4_500)
            #expect(run.statistics.tokens.cachedPrompt == 3_072)
        }
    }
}
