import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
@testable import TriageLLM

/// Without examples, the prompt lists the categories most like the query first.
@Suite("Category ranking without examples")
struct CategoryRankingTests {
    /// The system prompt sent for `text`.
    func systemPrompt(for text: String, rank: Bool) async throws -> String {
        let server = FakeLLMServer { _ in .classification() }
        return try await server.run {
            var configuration = LLMConfiguration(provider: .openAI, baseURL: server.openAIBaseURL, model: "m")
            configuration.rankCategories = rank
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                           logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
            _ = try? await classifier.classify(ClassificationRequest(id: QueryID("1"), query: SupportQuery(text: text),
                                                                     attempt: 1))
            try await client.shutdown()
            let messages = try #require(server.requests.first?.json["messages"] as? [[String: Any]])
            return try #require(messages.first?["content"] as? String)
        }
    }

    func categoryOrder(_ system: String) -> [String] {
        let names = Taxonomy.customerSupport.categoryNames
        return system.split(separator: "\n").compactMap { line in
            names.first { line.hasPrefix("- \($0):") }
        }
    }

    @Test("categories sharing words with the query come first, most alike first; the rest keep their order")
    func ranked() async throws {
        let system = try await systemPrompt(for: "my refund for the returning items", rank: true)
        let order = categoryOrder(system)
        #expect(order.first == "returns_refunds", "\(order)")
        #expect(Set(order) == Set(Taxonomy.customerSupport.categoryNames))
        #expect(order.count == Taxonomy.customerSupport.categories.count)
    }

    @Test("a query sharing no word keeps the taxonomy's order, and so does ranking turned off")
    func unranked() async throws {
        let names = Taxonomy.customerSupport.categoryNames
        #expect(categoryOrder(try await systemPrompt(for: "zzz qqq", rank: true)) == names)
        #expect(categoryOrder(try await systemPrompt(for: "my refund for the returning items", rank: false)) == names)
    }
}
