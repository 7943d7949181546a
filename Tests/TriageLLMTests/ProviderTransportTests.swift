import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
@testable import TriageLLM

/// One table from HTTP status to error, held by every path to the provider: chat completions, messages, and each
/// line of both batch APIs, read back from what the fake provider answered.
@Suite("Provider transport: one status table")
struct ProviderTransportTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let key = "sk-table-SECRET-42"

    struct Row: Sendable, CustomStringConvertible {
        var status: Int
        var kind: String
        var scope: ClassifierError.Scope
        var description: String { "\(status) → \(kind)" }
    }

    static let table: [Row] = [
        Row(status: 400, kind: "rejected", scope: .query),
        Row(status: 401, kind: "unauthorized", scope: .run),
        Row(status: 403, kind: "unauthorized", scope: .run),
        Row(status: 404, kind: "configuration", scope: .run),
        Row(status: 408, kind: "server_error", scope: .attempt),
        Row(status: 409, kind: "server_error", scope: .attempt),
        Row(status: 413, kind: "rejected", scope: .query),
        Row(status: 422, kind: "rejected", scope: .query),
        Row(status: 429, kind: "rate_limited", scope: .attempt),
        Row(status: 500, kind: "server_error", scope: .attempt),
        Row(status: 503, kind: "server_error", scope: .attempt),
        Row(status: 529, kind: "server_error", scope: .attempt),
    ]

    /// The statuses Anthropic's batch results can carry: each error type stands for one.
    static let anthropicLineStatuses: Set<Int> = [400, 401, 403, 404, 413, 429, 500, 529]

    /// A body that quotes the key, as an upstream error sometimes does: it must never come back.
    static func reply(_ status: Int) -> FakeLLMServer.Reply {
        .status(status, body: #"{"error": {"message": "refused for key \#(key)"}}"#)
    }

    func withClassifier<T: Sendable>(_ provider: LLMConfiguration.Provider, status: Int,
                                     _ body: @Sendable (LLMClassifier) async throws -> T) async throws -> T {
        let server = FakeLLMServer(batches: .init(pollsInProgress: 0)) { _ in Self.reply(status) }
        return try await server.run {
            var configuration = LLMConfiguration(
                provider: provider, baseURL: provider == .openAI ? server.openAIBaseURL : server.anthropicBaseURL,
                model: "test-model", apiKey: Self.key)
            configuration.retryBudget = 0
            configuration.requestTimeout = .seconds(60)
            return try await withHTTPClient { client in
                try await body(LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                             logger: Self.silent))
            }
        }
    }

    func expect(_ error: ClassifierError, _ row: Row, path: String) {
        #expect(error.kind == row.kind, "\(path): HTTP \(row.status) is \(row.kind), not \(error.kind)")
        #expect(error.scope == row.scope, "\(path): HTTP \(row.status)")
        #expect(!error.message.contains(Self.key), "\(path): the key is masked: \(error.message)")
    }

    @Test("online, OpenAI-compatible and Anthropic", arguments: table)
    func online(row: Row) async throws {
        for provider in [LLMConfiguration.Provider.openAI, .anthropic] {
            try await withClassifier(provider, status: row.status) { classifier in
                do {
                    _ = try await classifier.classify(ClassificationRequest(
                        id: QueryID("1"), query: SupportQuery(text: "I was charged twice"), attempt: 1))
                    Issue.record("HTTP \(row.status) classified")
                } catch let error as ClassifierError {
                    expect(error, row, path: "online \(provider)")
                }
            }
        }
    }

    // The receiver trickles forever: without the deadline the call never ends, and the time limit fails the test.
    // No tighter bound on wall time: on a loaded 2-core machine the whole suite can stall for tens of seconds.
    @Test("an endpoint that answers slowly in any shape gets one deadline for the whole request, body included",
          .timeLimit(.minutes(2)), arguments: TricklingReceiver.Shape.allCases)
    func slowEndpoint(shape: TricklingReceiver.Shape) async throws {
        let receiver = TricklingReceiver(shape)
        try await receiver.run {
            var configuration = LLMConfiguration(provider: .openAI, baseURL: "http://127.0.0.1:\(URL(string: receiver.url)?.port ?? 0)/v1",
                                                 model: "test-model", apiKey: Self.key)
            configuration.retryBudget = 0
            configuration.requestTimeout = .milliseconds(800)
            try await withHTTPClient { client in
                let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                               logger: Self.silent)
                let error = await #expect(throws: ClassifierError.self) {
                    _ = try await classifier.classify(ClassificationRequest(
                        id: QueryID("1"), query: SupportQuery(text: "I was charged twice"), attempt: 1))
                }
                #expect(error?.kind == "timeout", "\(String(describing: error))")
                #expect(error?.message.contains("within 0.8 seconds") == true, "\(String(describing: error))")
            }
        }
    }

    @Test("an upstream error quotes nothing of the key (whole, in part or encoded), no other host and no stack trace")
    func upstreamErrorsMasked() async throws {
        let key = "sk-proj-4f9Qz7LmN2xV8cR1tY6uB3wE0aS5dK"
        let partial = "sk-proj-4f9Q****************************0aS5dK"
        let encoded = Data("Bearer \(key)".utf8).base64EncodedString()
        let message = "upstream https://llm-gw-3.internal.corp.example:8443/v1 refused key \(partial) "
            + "(Authorization: Basic \(encoded)); trace id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0 "
            + "tail \(key.suffix(10))\n    at Proxy.forward (/srv/proxy/lib/forward.js:42:17)\n    at process.tick"
        let server = FakeLLMServer { _ in
            .status(502, body: #"{"error": {"message": \#(String(decoding: try! JSONEncoder().encode(message), as: UTF8.self))}}"#)
        }
        try await server.run {
            var configuration = LLMConfiguration(provider: .openAI, baseURL: server.openAIBaseURL, model: "test-model",
                                                 apiKey: key)
            configuration.retryBudget = 0
            try await withHTTPClient { client in
                let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                               logger: Self.silent)
                let error = await #expect(throws: ClassifierError.self) {
                    _ = try await classifier.classify(ClassificationRequest(
                        id: QueryID("1"), query: SupportQuery(text: "I was charged twice"), attempt: 1))
                }
                let said = try #require(error?.message)
                for leak in [key, String(key.suffix(10)), "4f9Q", "0aS5dK", encoded, "eyJhbGci", "internal.corp",
                             "llm-gw-3", "forward.js", "Proxy.forward", "process.tick"] {
                    #expect(!said.contains(leak), "\(leak) reached the error: \(said)")
                }
                #expect(said.contains("HTTP 502") && said.contains("refused key"), "\(said)")
                #expect(said.contains("127.0.0.1"), "the endpoint's own address may show: \(said)")
            }
        }
    }

    @Test("a batch line's own status, on both batch APIs", arguments: table)
    func batchLine(row: Row) async throws {
        for provider in [LLMConfiguration.Provider.openAI, .anthropic]
        where provider == .openAI || Self.anthropicLineStatuses.contains(row.status) {
            try await withClassifier(provider, status: row.status) { classifier in
                let batches = try #require(classifier.batches)
                let query = SupportQuery(text: "I was charged twice")
                let id = try await batches.submit(
                    [ProviderBatchLine(customId: "q1", body: try batches.requestBody(for: query))], metadata: [:])
                var status = try await batches.status(id)
                for _ in 0..<5 where !status.state.providerEnded { status = try await batches.status(id) }
                let results = try await batches.results(status)
                guard case .failed(let error)? = results["q1"] else {
                    Issue.record("\(provider): the line is not failed: \(String(describing: results["q1"]))")
                    return
                }
                expect(error, row, path: "batch line \(provider)")
            }
        }
    }

    @Test("the batch API's own calls: an unknown batch is the same 404 as an unknown model")
    func batchCall() async throws {
        try await withClassifier(.openAI, status: 200) { classifier in
            do {
                _ = try await classifier.batches?.status("batch_nowhere")
                Issue.record("an unknown batch was found")
            } catch let error as ClassifierError {
                expect(error, Self.table[3], path: "batch status")
            }
        }
    }
}
