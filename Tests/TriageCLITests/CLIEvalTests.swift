import Foundation
import TestSupport
import Testing

/// `triage eval` against the fake provider: scores, the examples it shows, and the holdout split.
@Suite("triage eval")
struct CLIEvalTests {
    /// Ten labelled queries: six about cards (payments), four about invoices (billing).
    static let labelled = (1...6).map { "{\"text\": \"my card was declined at checkout, try \($0)\", \"category\": \"payments\"}" }
        + (1...4).map { "{\"text\": \"please send the invoice for march, copy \($0)\", \"category\": \"billing\"}" }

    @Test("scores every labelled query: accuracy, per-category figures and confusions, as a table and as JSON")
    func scores() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("labelled.jsonl", Self.labelled.joined(separator: "\n"))
        // The fake provider answers "payments" for everything: 6 of 10 right.
        let server = FakeLLMServer { _ in .classification(category: "payments") }
        let (json, table) = try await server.run {
            // The server's port is known once it runs.
            let arguments = ["eval", "--file", folder.path("labelled.jsonl"), "--llm", "openai", "--llm-url",
                             server.openAIBaseURL, "--model", "fake"]
            return (try await TriageBinary.run(arguments + ["--json"]), try await TriageBinary.run(arguments))
        }
        #expect(json.status == 0, "\(json.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let category = try #require(report["category"] as? [String: Any])
        #expect(category["accuracy"] as? Double == 0.6)
        #expect(category["count"] as? Int == 10)
        let confusions = try #require(category["confusions"] as? [[String: Any]])
        let first = try #require(confusions.first)
        #expect(first["expected"] as? String == "billing")
        #expect(first["count"] as? Int == 4)
        #expect(table.stdout.contains("accuracy 60.0%"), "\(table.stdout)")
        #expect(table.stdout.contains("billing → payments: 4"))
        let counts = server.requests.map { ($0.json["messages"] as? [Any])?.count ?? 0 }
        #expect(counts == Array(repeating: 2, count: counts.count), "no examples without a pool")
    }

    @Test("--holdout scores a share of the file with the rest as examples, never a query's own label")
    func holdout() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("labelled.jsonl", Self.labelled.joined(separator: "\n"))
        let server = FakeLLMServer { _ in .classification(category: "billing") }
        let result = try await server.run {
            try await TriageBinary.run(["eval", "--file", folder.path("labelled.jsonl"), "--holdout", "0.2",
                                        "--examples-per-query", "3", "--llm", "openai", "--llm-url",
                                        server.openAIBaseURL, "--model", "fake", "--json"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let category = try #require(report["category"] as? [String: Any])
        #expect(category["count"] as? Int == 2)
        #expect(server.requestCount == 2)
        for request in server.requests {
            let messages = try #require(request.json["messages"] as? [[String: Any]])
            // The system prompt, three examples as user/assistant pairs, then the query.
            let expectedCount = 1 + 3 * 2 + 1
            #expect(messages.count == expectedCount)
            let query = request.lastUserMessage
            let shown = messages.dropFirst().dropLast().compactMap { $0["content"] as? String }
            #expect(!shown.contains(query), "a query was shown as its own example")
            #expect(shown.contains { $0.contains("\"category\"") }, "the examples' answers carry their labels")
        }
    }

    @Test("bad labelled files are named by file, line and field", arguments: [
        ("{\"text\": \"hi\"}", "line 1, field 'category': is missing"),
        ("{\"text\": \"hi\", \"category\": \"weather\"}", "line 1, field 'category': 'weather' is not in the taxonomy"),
    ])
    func badFile(content: String, message: String) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("bad.jsonl", content)
        let result = try await TriageBinary.run(["eval", "--file", folder.path("bad.jsonl"), "--mock-llm"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bad.jsonl, \(message)"), "\(result.stderr)")
    }
}
