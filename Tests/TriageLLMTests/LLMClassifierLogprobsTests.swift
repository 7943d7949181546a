import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
@testable import TriageLLM

/// Token log-probabilities over HTTP: asked for, read into the confidence, and dropped when an endpoint refuses them.
@Suite("LLM classifier: logprobs")
struct LLMClassifierLogprobsTests {
    /// A chat-completions body whose answer is `billing`, with the label's token at probability 0.6 against
    /// `payments` at 0.2 among the top alternatives.
    static let withLogprobs = """
        {"model": "fake", "usage": {"prompt_tokens": 100, "completion_tokens": 20},
         "choices": [{"index": 0, "finish_reason": "stop",
          "message": {"role": "assistant", "content": "{\\"category\\": \\"billing\\", \\"priority\\": \\"normal\\", \\"sentiment\\": \\"neutral\\", \\"language\\": \\"en\\", \\"confidence\\": 0.5, \\"summary\\": \\"s\\"}"},
          "logprobs": {"content": [
            {"token": "{\\"category\\": \\"", "logprob": -0.01, "top_logprobs": []},
            {"token": "billing", "logprob": \(log(0.6)), "top_logprobs": [
              {"token": "billing", "logprob": \(log(0.6))}, {"token": "payments", "logprob": \(log(0.2))},
              {"token": "Sure", "logprob": \(log(0.1))}]},
            {"token": "\\", \\"priority\\": \\"normal\\", \\"sentiment\\": \\"neutral\\", \\"language\\": \\"en\\", \\"confidence\\": 0.5, \\"summary\\": \\"s\\"}", "logprob": -0.1, "top_logprobs": []}
          ]}}]}
        """

    func classify(_ text: String = "charged twice", script: @escaping @Sendable (FakeLLMServer.Request) -> FakeLLMServer.Reply)
        async throws -> (Classification, FakeLLMServer) {
        let server = FakeLLMServer(script: script)
        let classification = try await server.run {
            var configuration = LLMConfiguration(provider: .openAI, baseURL: server.openAIBaseURL, model: "m")
            configuration.requestTimeout = .seconds(60)  // a loaded CI machine can take seconds to answer
            let request = ClassificationRequest(id: QueryID("1"), query: SupportQuery(text: text), attempt: 1)
            return try await withHTTPClient { client in
                try await LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                        logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
                    .classify(request)
            }
        }
        return (classification, server)
    }

    @Test("the label's probability among allowed labels stands for the model's own confidence")
    func logprobsBecomeConfidence() async throws {
        let (classification, server) = try await classify { _ in .status(200, body: Self.withLogprobs) }
        #expect(classification.category == "billing")
        // The label's probability is 0.6 / (0.6 + 0.2) ('Sure' is no label); the query shares no word with any
        // category, so the evidence's agreement is 0: (0 + 0.75) / 2.
        #expect(classification.confidence == 0.375)
        // A query whose only word is billing's name makes the evidence agree: (1 + 0.75) / 2.
        let (billing, _) = try await classify("billing") { _ in .status(200, body: Self.withLogprobs) }
        #expect(billing.confidence == 0.875)
        let sent = try #require(server.requests.first)
        #expect(sent.json["logprobs"] as? Bool == true)
        #expect(sent.json["top_logprobs"] as? Int == 10)
    }

    @Test("an endpoint that refuses logprobs is asked again without them, and the model's confidence stands")
    func refusedLogprobs() async throws {
        let (classification, server) = try await classify { request in
            request.json["logprobs"] != nil
                ? .status(400, body: #"{"error": {"message": "logprobs is not supported with this model"}}"#)
                : .classification(category: "payments", confidence: 0.4)
        }
        #expect(classification.category == "payments")
        #expect(classification.confidence == 0.2, "the stated 0.4 and no agreeing evidence: (0 + 0.4) / 2")
        #expect(server.requestCount == 2)
        #expect(server.requests.last?.json["logprobs"] == nil)
    }
}
