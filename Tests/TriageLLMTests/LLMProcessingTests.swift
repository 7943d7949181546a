import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing
import TriageCore
import TriageLLM
import TriageProcessor
import TriageSQLite

/// Whole runs through the processor, the HTTP classifier and the fake provider.
@Suite("Runs against the fake provider")
struct LLMProcessingTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func run(
        queries: Int,
        requestsPerSecond: Int? = nil,
        configure: @escaping @Sendable (inout LLMConfiguration) -> Void = { _ in },
        processor: @escaping @Sendable (inout BatchProcessor.Configuration) -> Void = { _ in },
        script: @escaping @Sendable (FakeLLMServer.Request) -> FakeLLMServer.Reply
    ) async throws -> (RunRecord, SQLiteQueryStore, FakeLLMServer) {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        _ = try await store.insert(sampleQueries(queries))
        let server = FakeLLMServer(requestsPerSecond: requestsPerSecond, script: script)
        let record = try await server.run {
            var configuration = LLMConfiguration(provider: .openAI, baseURL: server.openAIBaseURL, model: "test-model",
                                                 apiKey: "sk-test")
            configuration.retryPolicy = RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(30))
            configure(&configuration)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                           logger: Self.silent)
            var settings = BatchProcessor.Configuration()
            settings.maxConcurrent = 8
            settings.retryPolicy = RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(30))
            processor(&settings)
            return try await BatchProcessor(store: store, classifier: classifier, configuration: settings,
                                            logger: Self.silent).run()
        }
        return (record, store, server)
    }

    @Test("a bad API key stops the run and leaves every query pending")
    func badKeyLeavesBacklogPending() async throws {
        let (record, store, server) = try await run(queries: 50) { _ in
            .status(401, body: #"{"error":{"message":"Incorrect API key provided"}}"#)
        }
        #expect(record.state == .failed)
        #expect(record.error?.contains("API key was refused") == true)
        #expect(try await store.summary().byStatus == ["pending": 50])
        let all = try await store.list(QueryFilter(), after: nil, limit: 100)
        #expect(all.allSatisfy { $0.attempts == 0 && $0.lastError == nil })
        #expect(server.requestCount <= 8)
    }

    @Test("the retry budget and maxAttempts end in a recorded failure; tokens of every attempt are counted")
    func exhaustedRetriesAreRecorded() async throws {
        let (record, store, _) = try await run(queries: 3, configure: { $0.retryBudget = 1 },
                                               processor: { $0.maxAttempts = 2 }) { request in
            request.firstUserMessage.contains("query 1:") ? .status(500, body: "down") : .classification()
        }
        #expect(record.statistics.classified == 2)
        #expect(record.statistics.failed == 1)
        #expect(record.statistics.tokens.prompt == 300)
        let failed = try #require(try await store.list(QueryFilter(status: .failed), after: nil, limit: 5).first)
        #expect(failed.attempts == 2)
        #expect(failed.lastError?.kind == "server_error")
        #expect(failed.lastError?.message.contains("HTTP 500") == true)
    }

    @Test("invalid answers are repaired or recorded as invalid_output, and their tokens count")
    func invalidOutputIsRecorded() async throws {
        let (record, store, _) = try await run(queries: 4, processor: { $0.maxAttempts = 1 }) { request in
            if request.firstUserMessage.contains("query 1:") { return .content("not json at all") }
            if request.firstUserMessage.contains("query 2:") { return .content("{\"category\": \"nonsense\"}") }
            return .classification()
        }
        #expect(record.statistics.classified == 2)
        #expect(record.statistics.failed == 2)
        #expect(record.statistics.errorsByKind == ["invalid_output": 2])
        // 2 classified × 150 + 2 failed × (150 + 150 for the repair).
        #expect(record.statistics.tokens.prompt == 900)
        #expect(try await store.list(QueryFilter(status: .failed), after: nil, limit: 5).allSatisfy {
            $0.lastError?.kind == "invalid_output"
        })
    }

    @Test("under a per-second enforced limit, paced requests provoke no 429")
    func pacingAvoidsThrottling() async throws {
        // The provider allows 20 per second; we ask for 600 a minute (10 per second). Unpaced, 32 requests in flight
        // would blow through the limit at once. The margin is wide because CI runs this beside CPU-bound peers, which
        // can hold back paced requests and release them together.
        let (record, _, server) = try await run(queries: 45, requestsPerSecond: 20,
                                                configure: { $0.requestsPerMinute = 600 },
                                                processor: { $0.maxConcurrent = 32 }) { _ in .classification() }
        #expect(record.statistics.classified == 45)
        // Unpaced, at least 12 of the first 32 would be refused. Paced, none are on a quiet machine (the `ratelimit`
        // benchmark: 0 in 60 s); the suite's CPU-bound peers can stall the fake server long enough that it counts
        // one late batch in a single second, so one refusal is tolerated here.
        #expect(server.throttledCount <= 1)
        #expect(record.statistics.durationSeconds > 3.8)
    }
}
