import Foundation
import TestSupport
import Testing

@Suite("triage run --dry-run estimates")
struct CLIEstimateTests {
    /// A backlog with examples to show and repeated questions (case and spacing aside).
    static func backlog() -> String {
        let texts = [
            "Where is my order? It has been ten days.", "I was charged twice for my subscription this month",
            "How do I reset my password?", "My card was declined when paying for the annual plan",
            "Please cancel my account, I no longer need it", "The app crashes when I open the settings page",
            "WHERE IS MY ORDER?  It has been ten days.", "Can I return the blue jacket I bought last week?",
            "how do i reset my password?", "The invoice shows the wrong VAT number for our company",
        ]
        return (0..<30).map { index in
            #"{"externalId": "q-\#(index)", "text": "\#(texts[index % texts.count]) (ticket \#(index / 10))"}"#
        }.joined(separator: "\n") + "\n"
    }

    static let examples = """
        {"text": "I want my money back for the broken lamp", "category": "returns_refunds"}
        {"text": "My parcel never arrived", "category": "orders_shipping"}
        {"text": "I cannot log in since yesterday", "category": "account_access"}
        {"text": "Why was I billed twice?", "category": "billing"}

        """

    @Test("the estimate counts the requests a run sends, examples included, and reuse: within 10% of the run")
    func estimateMatchesRun() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        try Self.backlog().write(toFile: folder.path("q.jsonl"), atomically: true, encoding: .utf8)
        try Self.examples.write(toFile: folder.path("examples.jsonl"), atomically: true, encoding: .utf8)
        let imported = try await TriageBinary.run(["import", "--file", folder.path("q.jsonl"), "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")

        // The fake counts tokens with a tokenizer of its own, as a provider does, and answers with a one-line summary
        // (the estimate cannot know the answer's length: it assumes a typical one).
        let server = FakeLLMServer(countsTokens: true) { _ in
            .classification(category: "orders_shipping",
                            summary: "The customer asks about an order placed ten days ago that has not arrived.")
        }
        let environment = ["OPENAI_API_KEY": "sk-test"]
        let (dry, run) = try await server.run {
            let arguments = ["--llm", "openai", "--llm-url", server.openAIBaseURL, "--model", "gpt-4o-mini",
                             "--examples", folder.path("examples.jsonl"), "--max-concurrent", "1", "--store", store,
                             "--json"]
            let dry = try await TriageBinary.run(["run", "--dry-run"] + arguments, environment: environment)
            let sentByDryRun = server.requestCount
            let run = try await TriageBinary.run(["run"] + arguments, environment: environment)
            #expect(sentByDryRun == 0, "a dry run sends nothing")
            return (dry, run)
        }
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(run.status == 0, "\(run.stderr)")
        let estimate = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])["estimate"]
            as? [String: Any]
        let record = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let statistics = try #require(record["statistics"] as? [String: Any])
        let tokens = try #require(statistics["tokens"] as? [String: Any])

        // Two of every ten questions come back in other case and spacing; the ticket number makes the rest differ.
        #expect(estimate?["reused"] as? Int == statistics["reused"] as? Int)
        #expect(estimate?["requests"] as? Int == server.requestCount)
        func close(_ estimated: Any?, _ actual: Any?, _ what: String) {
            let (e, a) = ((estimated as? NSNumber)?.doubleValue ?? -1, (actual as? NSNumber)?.doubleValue ?? 0)
            #expect(a > 0 && abs(e - a) / a <= 0.10, "\(what): estimated \(e), the run reported \(a)")
        }
        close(estimate?["promptTokens"], tokens["prompt"], "prompt tokens")
        close(estimate?["completionTokens"], tokens["completion"], "completion tokens")
        close(estimate?["costUSD"], statistics["costUSD"], "cost")
        let batch = (estimate?["batchCostUSD"] as? Double) ?? 0
        let online = (estimate?["costUSD"] as? Double) ?? 0
        #expect(abs(batch - online / 2) < 1e-9, "batch prices are half")
    }

    @Test("a person reads what would be sent, what it costs and how long it takes")
    func humanEstimate() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "50", "--store", store])
        let dry = try await TriageBinary.run(
            ["run", "--dry-run", "--llm", "openai", "--llm-url", "http://127.0.0.1:9/v1", "--model", "gpt-4o-mini",
             "--rpm", "60", "--store", store], environment: ["OPENAI_API_KEY": "sk-test"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("Dry run: would classify 50 of 50 eligible queries"))
        #expect(dry.stdout.contains("online") && dry.stdout.contains("in batch mode"))
        // 50 requests at 60 a minute, unless some are reused: under a minute either way, and bound by --rpm.
        #expect(dry.stdout.contains("at the --rpm limit"), "\(dry.stdout)")
    }
}
