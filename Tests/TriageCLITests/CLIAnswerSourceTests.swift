import Foundation
import TestSupport
import Testing

/// Who answered (the model, the examples, an earlier answer), counted the same by the estimate, the run and eval;
/// and expected labels that cannot match, said where they are imported, run and scored.
@Suite("Answers by source, and labels that cannot match")
struct CLIAnswerSourceTests {
    /// Two clear topics, ten examples each.
    static let pool = (1...10).map { #"{"text": "my card was declined at checkout again \#($0)", "category": "payments"}"# }
        + (1...10).map { #"{"text": "please send me the invoice copy for march \#($0)", "category": "billing"}"# }

    static let taxonomy = """
        name: two
        fields: [category]
        categories:
          - {name: payments, description: card payments that fail}
          - {name: billing, description: invoices and bills}
          - {name: other, description: anything else}
        priorities: [{name: normal, description: usual}]
        sentiments: [{name: neutral, description: neutral}]
        """

    @Test("decisive examples answer alone: no request, counted by source in the estimate, the run and its report")
    func examplesAnswerCounted() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        try folder.write("pool.jsonl", Self.pool.joined(separator: "\n"))
        try folder.write("taxonomy.yaml", Self.taxonomy)
        // Four queries the examples decide, two they cannot (no shared words).
        let queries = ["my card was declined at checkout again today", "my card was declined at checkout again, why",
                       "please send me the invoice copy for march now", "please send me the invoice copy for march too",
                       "hello there, a quick word", "good morning to all of you"]
        try folder.write("q.jsonl", queries.enumerated().map { #"{"externalId": "q\#($0)", "text": "\#($1)"}"# }
            .joined(separator: "\n"))
        let imported = try await TriageBinary.run(["import", "--file", folder.path("q.jsonl"), "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")
        let server = FakeLLMServer { _ in .classification(category: "other") }
        let (dry, run, report) = try await server.run {
            let arguments = ["--llm", "openai", "--llm-url", server.openAIBaseURL, "--model", "fake", "--examples",
                             folder.path("pool.jsonl"), "--taxonomy", folder.path("taxonomy.yaml"),
                             "--answer-from-examples", "0.5", "--store", store]
            let dry = try await TriageBinary.run(["run", "--dry-run", "--json"] + arguments)
            let run = try await TriageBinary.run(["run", "--json"] + arguments)
            let report = try await TriageBinary.run(["stats", "--store", store])  // shows the last run
            return (dry, run, report)
        }
        #expect(run.status == 0, "\(run.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let statistics = try #require(record["statistics"] as? [String: Any])
        let bySource = try #require(statistics["answersBySource"] as? [String: [String: Any]])
        let fromExamples = bySource["examples"]?["count"] as? Int ?? 0
        let fromModel = bySource["model"]?["count"] as? Int ?? 0
        #expect(fromExamples == 4, "\(bySource)")
        #expect(fromModel == 2)
        #expect(server.requestCount == fromModel, "the examples' answers send nothing")
        let estimate = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])["estimate"]
            as? [String: Any]
        #expect(estimate?["fromExamples"] as? Int == fromExamples)
        #expect(estimate?["requests"] as? Int == fromModel)
        let decision = try #require(record["examplesDecision"] as? [String: Any])
        #expect(decision["threshold"] as? Double == 0.5)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("answered by model 2, examples 4"), "\(report.stdout)")
        let exported = try await TriageBinary.run(["export", "--store", store, "--format", "jsonl"])
        let answeredBy = exported.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["answeredBy"] as? String
        }
        #expect(answeredBy.sorted() == ["examples", "examples", "examples", "examples", "model", "model"])
    }

    @Test("expected labels from another taxonomy: import, run and eval say how many cannot match and what to pass")
    func labelsThatCannotMatch() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        // Two of three expected categories are no name of the built-in taxonomy.
        try folder.write("q.jsonl", """
            {"text": "card lost abroad", "expected": {"category": "card_lost"}}
            {"text": "card lost again", "expected": {"category": "card_lost"}}
            {"text": "invoice please", "expected": {"category": "billing"}}
            """)
        let imported = try await TriageBinary.run(["import", "--file", folder.path("q.jsonl"), "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("2 of 3 expected categories (card_lost) are no category of the taxonomy in use"),
                "\(imported.stderr)")
        #expect(imported.stderr.contains("--taxonomy"))
        let run = try await TriageBinary.run(["run", "--mock-llm", "--store", store])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2 of 3 expected categories are no category of the taxonomy in use"), "\(run.stdout)")
        let eval = try await TriageBinary.run(["eval", "--store", store])
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(eval.stdout.contains("2 of 3 expected categories (card_lost)"), "\(eval.stdout)")
        let json = try await TriageBinary.run(["eval", "--store", store, "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((report["unknownLabels"] as? [String: Any])?["queries"] as? Int == 2)
    }
}
