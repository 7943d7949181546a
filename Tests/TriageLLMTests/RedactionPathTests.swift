import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Synchronization
import Testing
import TriageCore
import TriageLLM
import TriageProcessor
import TriageRedaction
import TriageSQLite

/// What reaches the provider with redaction on, read from what the fake provider received: online requests, the
/// examples shown with them, repair requests, and the batch files of both providers.
@Suite("Redaction on every request path")
struct RedactionPathTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Queries full of personal values, and examples like them (examples are customers' queries too).
    static let queries = [
        SupportQuery(text: "Hi, my name is Maria García. My card 4111 1111 1111 1111 was charged twice, refund please.",
                     subject: "Refund for maria.garcia@example.com"),
        SupportQuery(text: "Please call me on +44 20 7946 0958 about the refund to DE89 3704 0044 0532 0130 00."),
        SupportQuery(text: "Login from 203.0.113.42 blocked. Ship to 221B Baker Street, London NW1 6XE. Thanks, John Smith"),
        SupportQuery(text: "My password is Summer2024! and my account number is 12345678, refund the card charge"),
    ]
    static let examples = [
        LabelledExample(text: "Refund my card 5500 0000 0000 0004 charged twice, I am Anna Kowalski", category: "billing"),
        LabelledExample(text: "call me at (555) 123-4567 about the refund charged twice", category: "billing"),
    ]

    /// Every personal value the redactor finds in the queries and examples.
    static var values: [String] {
        let redactor = Redactor()
        return (queries.flatMap { [$0.text] + [$0.subject].compactMap { $0 } } + examples.map(\.text))
            .flatMap { redactor.redact($0).findings.map(\.value) }
    }

    /// Runs the queries through the processor against the fake provider with redaction on.
    func run(provider: LLMConfiguration.Provider = .openAI, batch: Bool, repairFirst: Bool = false)
        async throws -> (RunRecord, SQLiteQueryStore, FakeLLMServer) {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        _ = try await store.insert(Self.queries)
        let repaired = Mutex(Set<String>())
        let server = FakeLLMServer(batches: .init(pollsInProgress: 0)) { request in
            // The summary names the placeholders the model saw: they are put back before it is stored.
            let messages = request.json["messages"] as? [[String: Any]] ?? []
            let message = messages.compactMap { $0["content"] as? String }.last { $0.contains("<<<QUERY") }
                ?? request.lastUserMessage
            let placeholders = ["<EMAIL_1>", "<CARD_1>", "<PHONE_1>", "<ADDRESS_1>", "<PERSON_1>"].filter(message.contains)
            let summary = "About " + (placeholders.isEmpty ? "nothing" : placeholders.joined(separator: " and "))
            if repairFirst, repaired.withLock({ $0.insert(message).inserted }) {
                return .classification(category: "not_a_category", summary: summary)
            }
            return .classification(summary: summary)
        }
        let record = try await server.run {
            try await withHTTPClient { client in
                var configuration = LLMConfiguration(
                    provider: provider, baseURL: provider == .openAI ? server.openAIBaseURL : server.anthropicBaseURL,
                    model: "test-model", apiKey: "sk-test")
                configuration.redact = true
                configuration.answerFromExamples = .off
                configuration.retryPolicy = RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(30))
                let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                               logger: Self.silent, examples: ExampleIndex(Self.examples))
                var settings = BatchProcessor.Configuration()
                settings.maxConcurrent = 4
                settings.retryPolicy = RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(30))
                if batch {
                    settings.via = .batch
                    settings.batch.pollInterval = .milliseconds(20)
                }
                return try await BatchProcessor(store: store, classifier: classifier, configuration: settings,
                                                logger: Self.silent).run()
            }
        }
        return (record, store, server)
    }

    /// No value the redactor found is in any byte the fake provider received, whatever its encoding in JSON.
    func expectNothingPersonalReceived(_ server: FakeLLMServer) {
        let received = server.requests.map { String(decoding: $0.body, as: UTF8.self) }.joined(separator: "\n")
        #expect(!received.isEmpty)
        for value in Self.values {
            let escaped = String(decoding: (try? JSONSerialization.data(withJSONObject: [value])) ?? Data(), as: UTF8.self)
                .dropFirst(2).dropLast(2)
            #expect(!received.contains(value) && !received.contains(escaped), "\(value) reached the provider")
        }
        #expect(received.contains("<CARD_1>") && received.contains("<EMAIL_1>"))
    }

    @Test("the redactor finds values of every kind the queries carry")
    func valuesFound() {
        let values = Self.values
        for value in ["4111 1111 1111 1111", "maria.garcia@example.com", "Maria García", "+44 20 7946 0958",
                      "DE89 3704 0044 0532 0130 00", "203.0.113.42", "221B Baker Street, London NW1 6XE", "John Smith",
                      "Summer2024!", "12345678", "5500 0000 0000 0004", "Anna Kowalski", "(555) 123-4567"] {
            #expect(values.contains(value), "\(value) not found")
        }
    }

    @Test("online, with examples and repair requests: nothing found leaves; the summary gets its values back")
    func online() async throws {
        let (record, store, server) = try await run(batch: false, repairFirst: true)
        #expect(record.statistics.classified == Self.queries.count)
        #expect(server.requests.count > Self.queries.count, "repair requests were sent")
        expectNothingPersonalReceived(server)
        let stored = try await store.list(QueryFilter(), after: nil, limit: 10)
        // The stored text is the customer's; the classification counts what was redacted, never the values.
        #expect(Set(stored.map(\.query.text)) == Set(Self.queries.map(\.text)))
        let first = try #require(stored.first { $0.query.text.contains("Maria") }?.classification)
        #expect(first.redactions == ["CARD": 1, "EMAIL": 1, "PERSON": 1])
        #expect(first.summary.contains("4111 1111 1111 1111") && !first.summary.contains("<CARD_1>"))
    }

    @Test("OpenAI and Anthropic batch files carry no value found", arguments: [LLMConfiguration.Provider.openAI, .anthropic])
    func batches(provider: LLMConfiguration.Provider) async throws {
        let (record, store, server) = try await run(provider: provider, batch: true)
        #expect(record.statistics.classified == Self.queries.count)
        #expect(server.batchesCreated == 1)
        expectNothingPersonalReceived(server)
        let stored = try await store.list(QueryFilter(), after: nil, limit: 10)
        #expect(stored.allSatisfy { ($0.classification?.redactions ?? [:]).isEmpty == false })
    }

    @Test("redaction is on by default for a hosted endpoint and off for a model on loopback")
    func defaults() {
        func redacts(_ url: String) -> Bool { LLMConfiguration(provider: .openAI, baseURL: url, model: "m").redacts }
        #expect(redacts("https://api.openai.com/v1"))
        #expect(redacts("https://llm.internal.example/v1"))
        #expect(!redacts("http://127.0.0.1:8080/v1"))
        #expect(!redacts("http://localhost:11434/v1"))
        #expect(!redacts("http://[::1]:8080/v1"))
        var forced = LLMConfiguration(provider: .openAI, baseURL: "http://127.0.0.1:8080/v1", model: "m")
        forced.redact = true
        #expect(forced.redacts)
    }
}
