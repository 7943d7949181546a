import Foundation
import TestSupport
import Testing

/// Expected labels on import, `--review-below`, `triage label` and `triage eval` over the store, end to end.
@Suite("triage label and review")
struct CLILabelTests {
    /// Four queries the mock classifier files under known categories, with expected labels in every spelling.
    static let queries = """
        {"externalId": "q1", "text": "I was charged twice for my subscription this month", "expected": {"category": "billing", "priority": "high"}}
        {"externalId": "q2", "text": "My card keeps getting declined at checkout", "expectedCategory": "payments"}
        {"externalId": "q3", "text": "I cannot log in, the password reset email never arrives", "expected_category": "billing"}
        {"externalId": "q4", "text": "Where is my parcel? The tracking has not moved in a week"}
        """

    /// A temporary folder with a SQLite store holding ``queries``, and the store's URI.
    static func importedStore() async throws -> (TemporaryDirectory, String) {
        let folder = try TemporaryDirectory()
        try folder.write("queries.jsonl", queries)
        let store = "sqlite:" + folder.path("t.sqlite")
        let imported = try await TriageBinary.run(["import", "--file", folder.path("queries.jsonl"), "--store", store])
        guard imported.status == 0 else { throw CLIFailure(imported.stderr) }
        return (folder, store)
    }

    struct CLIFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("expected labels are imported and exported; a run flags low confidence, scores itself, and a correction sticks")
    func labelReviewAndEval() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("queries.jsonl", Self.queries)
        let store = "sqlite:" + folder.path("t.sqlite")

        let imported = try await TriageBinary.run(["import", "--file", folder.path("queries.jsonl"), "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("3 of the file's queries carry an expected category"), "\(imported.stdout)")

        // The mock's confidence is under 1 for everything, so a threshold of 1 flags every answer.
        let run = try await TriageBinary.run(["run", "--mock-llm", "--review-below", "1", "--store", store, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let statistics = try #require(try json(run.stdout)["statistics"] as? [String: Any])
        #expect(statistics["needsReview"] as? Int == 4)
        let agreement = try #require(statistics["expectedLabels"] as? [String: Any])
        #expect(agreement["scored"] as? Int == 3)
        #expect(agreement["correct"] as? Int == 2, "the mock files q3 (a login problem) under account_access")

        let stats = try await TriageBinary.run(["stats", "--needs-review", "--store", store])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("Review: 4 flagged and not corrected yet, 0 corrected"), "\(stats.stdout)")
        #expect(stats.stdout.contains("I cannot log in"))
        #expect(stats.stdout.contains("category accuracy 0.667 on 3 queries with expected labels"))

        let label = try await TriageBinary.run(["label", "q3", "--category", "account_access", "--note", "login",
                                                "--by", "alice", "--store", store])
        #expect(label.status == 0, "\(label.stderr)")
        #expect(label.stdout.contains("corrected to account_access by alice"), "\(label.stdout)")

        let flagged = try await TriageBinary.run(["export", "--needs-review", "--format", "jsonl", "--store", store])
        #expect(flagged.stdout.split(separator: "\n").count == 3, "\(flagged.stdout)")
        #expect(!flagged.stdout.contains("\"q3\""))

        let exported = try await TriageBinary.run(["export", "--format", "jsonl", "--store", store])
        let records = try exported.stdout.split(separator: "\n").map { try json(String($0)) }
        let q1 = try #require(records.first { $0["externalId"] as? String == "q1" })
        #expect(q1["expectedCategory"] as? String == "billing")
        #expect(q1["expectedPriority"] as? String == "high")
        let q3 = try #require(records.first { $0["externalId"] as? String == "q3" })
        #expect(q3["category"] as? String == "account_access")
        #expect(q3["correctedCategory"] as? String == "account_access")
        #expect(q3["correctedBy"] as? String == "alice")
        #expect(q3["correctionNote"] as? String == "login")
        #expect(q3["needsReview"] as? Bool == true, "the model's answer keeps its flag; the correction settles it")

        // The correction is the truth eval scores against: q3's answer is now right, so 3 of 3.
        let eval = try await TriageBinary.run(["eval", "--store", store, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let category = try #require(try json(eval.stdout)["category"] as? [String: Any])
        #expect(category["count"] as? Int == 3)
        #expect(category["accuracy"] as? Double == 1.0)
        let table = try await TriageBinary.run(["eval", "--store", store])
        #expect(table.stdout.contains("Scored 3 stored answers against their expected labels or corrections"), "\(table.stdout)")

        // A later run over the store leaves the correction alone.
        _ = try await TriageBinary.run(["requeue", "--failed", "--store", store])
        _ = try await TriageBinary.run(["run", "--mock-llm", "--store", store])
        let after = try await TriageBinary.run(["export", "--format", "jsonl", "--store", store])
        #expect(after.stdout.contains("\"correctedCategory\":\"account_access\""), "\(after.stdout)")
    }

    @Test("label refuses a category outside the taxonomy and a query that does not exist, changing nothing")
    func labelRefusesBadInput() async throws {
        let (folder, store) = try await Self.importedStore()
        defer { folder.remove() }

        let unknownLabel = try await TriageBinary.run(["label", "q1", "--category", "bananas", "--store", store])
        #expect(unknownLabel.status != 0)
        #expect(unknownLabel.stderr.contains("field 'category': 'bananas' is not in the taxonomy"), "\(unknownLabel.stderr)")
        let unknownQuery = try await TriageBinary.run(["label", "nope", "--category", "billing", "--store", store])
        #expect(unknownQuery.status != 0)
        #expect(unknownQuery.stderr.contains("no query with id or externalId 'nope'"), "\(unknownQuery.stderr)")
        let stats = try await TriageBinary.run(["stats", "--json", "--store", store])
        #expect(try json(stats.stdout)["corrected"] as? Int == 0)
    }

    @Test("an expected label outside the taxonomy is refused on import, naming file, line and field")
    func importRefusesUnknownExpectedLabel() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("taxonomy.yaml", """
            name: shop
            categories: [{name: billing, description: Money.}, {name: delivery, description: Parcels.}]
            priorities: [{name: normal, description: Normal.}]
            sentiments: [{name: neutral, description: Neutral.}]
            """)
        try folder.write("queries.jsonl", """
            {"text": "where is my parcel", "expected": {"category": "delivery"}}
            {"text": "refund please", "expected": {"category": "refunds"}}
            """)
        let store = "sqlite:" + folder.path("t.sqlite")
        let result = try await TriageBinary.run(["import", "--file", folder.path("queries.jsonl"), "--taxonomy",
                                                 folder.path("taxonomy.yaml"), "--store", store])
        #expect(result.status != 0)
        #expect(result.stderr.contains("queries.jsonl, line 2, field 'expected.category': 'refunds' is not in the taxonomy"),
                "\(result.stderr)")
        let stats = try await TriageBinary.run(["stats", "--json", "--store", store])
        #expect(try json(stats.stdout)["total"] as? Int == 0)
    }

    @Test("--review-below outside 0...1 is refused")
    func reviewBelowRange() async throws {
        let result = try await TriageBinary.run(["run", "--mock-llm", "--review-below", "1.5", "--store", "sqlite::memory:"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--review-below: must be at most 1, not 1.5"), "\(result.stderr)")
    }
}

/// `--examples store` and `triage eval --holdout` over the store, against the fake provider.
@Suite("triage examples from the store")
struct CLIStoreExamplesTests {
    @Test("--examples store shows labelled queries as examples, never a query its own label")
    func examplesFromStore() async throws {
        let (folder, store) = try await CLILabelTests.importedStore()
        defer { folder.remove() }
        let server = FakeLLMServer { _ in .classification(category: "billing") }
        let run = try await server.run {
            try await TriageBinary.run(["run", "--examples", "store", "--llm", "openai", "--llm-url",
                                        server.openAIBaseURL, "--model", "fake", "--max-concurrent", "1",
                                        "--store", store])
        }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(server.requestCount == 4)
        let labelled: Set = ["I was charged twice for my subscription this month",
                             "My card keeps getting declined at checkout",
                             "I cannot log in, the password reset email never arrives"]
        var shownAtAll = 0
        for request in server.requests {
            let messages = try #require(request.json["messages"] as? [[String: Any]])
            let users = messages.filter { $0["role"] as? String == "user" }.compactMap { $0["content"] as? String }
                .compactMap(Self.queryText)
            let query = try #require(users.last)
            let examples = users.dropLast()
            #expect(!examples.contains(query), "a query is never its own example")
            #expect(Set(examples).isSubset(of: labelled), "only labelled queries are examples")
            shownAtAll += examples.count
        }
        #expect(shownAtAll > 0)
        let answers = server.requests.flatMap { ($0.json["messages"] as? [[String: Any]]) ?? [] }
            .filter { $0["role"] as? String == "assistant" }.compactMap { $0["content"] as? String }
        #expect(answers.contains(#"{"category":"payments"}"#), "\(answers)")
        #expect(answers.contains(#"{"category":"billing","priority":"high"}"#), "\(answers)")
    }

    /// The query text inside a user message (a JSON object on its own line between the markers).
    static func queryText(_ message: String) -> String? {
        message.split(separator: "\n").lazy.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }.first?["text"] as? String
    }

    @Test("--examples store with nothing labelled says what to do")
    func nothingLabelled() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:" + folder.path("t.sqlite")
        _ = try await TriageBinary.run(["import", "--count", "3", "--store", store])
        let result = try await TriageBinary.run(["run", "--examples", "store", "--llm", "openai", "--llm-url",
                                                 "http://127.0.0.1:9/v1", "--store", store])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--examples store: no query in the store has an expected category"),
                "\(result.stderr)")
        let eval = try await TriageBinary.run(["eval", "--store", store])
        #expect(eval.status != 0)
        #expect(eval.stderr.contains("has an expected category or a correction"), "\(eval.stderr)")
    }

    @Test("eval --holdout over the store classifies a share with the rest as examples")
    func holdoutOverStore() async throws {
        let (folder, store) = try await CLILabelTests.importedStore()
        defer { folder.remove() }
        let server = FakeLLMServer { _ in .classification(category: "billing") }
        let result = try await server.run {
            try await TriageBinary.run(["eval", "--holdout", "0.34", "--llm", "openai", "--llm-url",
                                        server.openAIBaseURL, "--model", "fake", "--json", "--store", store])
        }
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((report["category"] as? [String: Any])?["count"] as? Int == 1)
        #expect(server.requestCount == 1)
    }
}
