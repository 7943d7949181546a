import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// What the operator can see of what leaves the machine, and what the fake provider received, on the command line's
/// and the server's paths.
@Suite("Privacy on the command line and the server")
struct CLIPrivacyTests {
    static let text = "Hi, I'm Maria Keller, card 4111 1111 1111 1111 was charged twice; mail maria.keller@example.com or call +44 20 7946 0958"
    static let values = ["4111 1111 1111 1111", "maria.keller@example.com", "+44 20 7946 0958", "Keller"]

    @Test("run --dry-run --show-requests N prints the first N bodies as they would be sent, redacted, and sends nothing; classify --show-request too")
    func showRequests() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("p.sqlite"))"
        let file = folder.path("q.jsonl")
        let lines = (1...3).map { #"{"text": "query \#($0): \#(Self.text)"}"# }.joined(separator: "\n")
        try Data(lines.utf8).write(to: URL(fileURLWithPath: file))
        #expect(try await TriageBinary.run(["import", "--file", file, "--store", store]).status == 0)
        let fake = FakeLLMServer { _ in .classification(category: "billing") }
        try await fake.run {
            let llm = ["--llm", "openai", "--llm-url", fake.openAIBaseURL, "--redact"]
            let dry = try await TriageBinary.run(["run", "--dry-run", "--show-requests", "2", "--store", store] + llm,
                                                 environment: ["OPENAI_API_KEY": "sk-x"])
            #expect(dry.status == 0, "\(dry.stderr)")
            let shown = dry.stdout.split(separator: "\n").filter { $0.hasPrefix("query ") }
            #expect(shown.count == 2, "\(dry.stdout)")
            for line in shown {
                #expect(line.contains("<CARD_1>") && line.contains("<EMAIL_1>") && line.contains("<PHONE_1>"), "\(line)")
                for value in Self.values { #expect(!line.contains(value), "\(value) in \(line)") }
                let body = try #require(line.split(separator: " ", maxSplits: 2).last.map { Data($0.utf8) })
                #expect((try? JSONSerialization.jsonObject(with: body)) is [String: Any], "a JSON body: \(line)")
            }
            let json = try await TriageBinary.run(["run", "--dry-run", "--show-requests", "1", "--json", "--store", store] + llm,
                                                  environment: ["OPENAI_API_KEY": "sk-x"])
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((object?["requests"] as? [[String: Any]])?.count == 1, "\(json.stdout)")

            let one = try await TriageBinary.run(["classify", "--show-request", Self.text] + llm,
                                                 environment: ["OPENAI_API_KEY": "sk-x"])
            #expect(one.status == 0, "\(one.stderr)")
            #expect(one.stdout.contains("<EMAIL_1>"), "\(one.stdout)")
            for value in Self.values { #expect(!one.stdout.contains(value), "\(value) in \(one.stdout)") }
        }
        #expect(fake.requestCount == 0, "a dry run and --show-request send nothing")
        #expect(try await TriageBinary.statusCounts(store: store)["pending", default: 0] == 3)
    }

    @Test("POST /v1/classify and the workers under serve --redact: the provider receives no value the redactor found; /metrics counts them by kind")
    func serverPaths() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("s.sqlite"))"
        let fake = FakeLLMServer { _ in .classification(category: "billing") }
        try await fake.run {
            let server = try TriageBinary.start(
                ["serve", "--port", "0", "--workers", "--store", store, "--llm", "openai", "--llm-url", fake.openAIBaseURL,
                 "--redact"], environment: ["TRIAGE_API_KEYS": "k-1", "OPENAI_API_KEY": "sk-x"])
            _ = await eventually(timeout: .seconds(60)) { server.stderrSoFar.contains("Serving ") || !server.isRunning }
            let port = try #require(server.stderrSoFar.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)/).map { String($0.1) },
                                    "serve did not start: \(server.stderrSoFar)")
            let base = "http://127.0.0.1:\(port)"
            func post(_ path: String, _ body: String) async throws -> (Int, String) {
                var request = URLRequest(url: URL(string: base + path)!)
                request.httpMethod = "POST"
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.setValue("Bearer k-1", forHTTPHeaderField: "Authorization")
                let (data, response) = try await URLSession.shared.data(for: request)
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
            }
            let body = #"{"text": "\#(Self.text)", "subject": "Refund for maria.keller@example.com"}"#
            let classified = try await post("/v1/classify", body)
            #expect(classified.0 == 200, "\(classified.1)")
            #expect(classified.1.contains("\"redactions\""), "\(classified.1)")
            #expect(try await post("/v1/queries", body).0 == 201)
            #expect(try await eventually { try await TriageBinary.statusCounts(store: store)["classified", default: 0] == 1 })
            var metrics = URLRequest(url: URL(string: base + "/metrics")!)
            metrics.httpMethod = "GET"
            let (data, _) = try await URLSession.shared.data(for: metrics)
            #expect(String(decoding: data, as: UTF8.self).contains(#"triage_redactions_total{kind="EMAIL"}"#))
            server.signal(SIGTERM)
            _ = try await server.wait(timeout: .seconds(30))
        }
        let sent = fake.requests.filter { $0.path.hasSuffix("/chat/completions") }
        #expect(sent.count == 2, "one for /v1/classify, one for the worker")
        for request in sent {
            let text = String(decoding: request.body, as: UTF8.self)
            for value in Self.values + ["maria.keller"] { #expect(!text.contains(value), "\(value) reached the provider") }
        }
    }
}
