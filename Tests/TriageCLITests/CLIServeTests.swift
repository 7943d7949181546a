import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// `triage serve` as an operator runs it: a process that takes queries over HTTP and stops cleanly on SIGTERM.
@Suite("triage serve")
struct CLIServeTests {
    func request(_ method: String, _ url: String, body: String? = nil, key: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 5
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error); return }
                continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0,
                                                String(decoding: data ?? Data(), as: UTF8.self)))
            }.resume()
        }
    }

    @Test("ingest over HTTP with workers, then SIGTERM mid-work: exit 0 within the grace period, nothing processing")
    func serveAndStop() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("serve.sqlite"))"
        // Port 0: the server picks a free port and says which, so no other test can take it in between.
        let server = try TriageBinary.start(
            ["serve", "--workers", "--mock-llm", "--mock-latency-ms", "300", "--store", store, "--port", "0",
             "--max-concurrent", "8", "--grace-seconds", "5"],
            environment: ["TRIAGE_API_KEYS": "cli-key-1"]
        )
        let listening = await eventually(timeout: .seconds(60)) {
            server.stderrSoFar.contains("Serving ") || !server.isRunning
        }
        let announced = server.stderrSoFar
        let port = try #require(announced.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)/).map { String($0.1) },
                                "serve did not start: \(announced)")
        #expect(listening)
        let base = "http://127.0.0.1:\(port)"
        #expect(await eventually { (try? await request("GET", base + "/healthz").0) == 200 })
        #expect(try await request("GET", base + "/v1/stats").0 == 401)
        let queries = (1...300).map { #"{"text": "query \#($0): I was charged twice"}"# }.joined(separator: ",")
        let ingest = try await request("POST", base + "/v1/queries", body: "[\(queries)]", key: "cli-key-1")
        #expect(ingest.0 == 201, "\(ingest.1)")
        #expect(try await eventually { try await TriageBinary.statusCounts(store: store)["classified", default: 0] >= 8 })

        let signalled = ContinuousClock.now
        server.signal(SIGTERM)
        let result = try await server.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - signalled < .seconds(12))
        #expect(result.status == 0, "\(result.stderr)")
        let byStatus = try await TriageBinary.statusCounts(store: store)
        #expect(byStatus["processing", default: 0] == 0)
        #expect(byStatus["classified", default: 0] + byStatus["pending", default: 0] == 300)
        #expect(!(result.stdout + result.stderr).contains("cli-key-1"))
    }

    /// Starts `triage serve` on a free port with a key; returns the process and its base URL.
    func serve(_ arguments: [String], environment: [String: String] = [:]) async throws -> (RunningTriage, String) {
        let server = try TriageBinary.start(["serve", "--port", "0"] + arguments,
                                            environment: ["TRIAGE_API_KEYS": "cli-key-1"].merging(environment) { $1 })
        _ = await eventually(timeout: .seconds(60)) { server.stderrSoFar.contains("Serving ") || !server.isRunning }
        let port = try #require(server.stderrSoFar.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)/).map { String($0.1) },
                                "serve did not start: \(server.stderrSoFar)")
        return (server, "http://127.0.0.1:\(port)")
    }

    @Test("40 parallel POST /v1/classify with --max-concurrent 2: never more than 2 at the provider, the rest wait or get 429 with Retry-After; a text over the cap is a 413 that costs nothing")
    func classifyHoldsTheLimit() async throws {
        let fake = FakeLLMServer { _ in .classification(category: "billing", after: .milliseconds(150)) }
        try await fake.run {
            let (server, base) = try await serve(
                ["--store", "sqlite::memory:", "--llm", "openai", "--llm-url", fake.openAIBaseURL,
                 "--max-concurrent", "2", "--max-text-bytes", "4096"], environment: ["OPENAI_API_KEY": "sk-x"])
            let answers = await withTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        var request = URLRequest(url: URL(string: base + "/v1/classify")!)
                        request.httpMethod = "POST"
                        request.timeoutInterval = 30
                        request.httpBody = Data(#"{"text": "query \#(index): I was charged twice"}"#.utf8)
                        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                        request.setValue("Bearer cli-key-1", forHTTPHeaderField: "Authorization")
                        guard let (_, response) = try? await URLSession.shared.data(for: request),
                              let http = response as? HTTPURLResponse else { return (0, nil) }
                        return (http.statusCode, http.value(forHTTPHeaderField: "Retry-After"))
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(fake.maxInFlight <= 2, "at the provider at once: \(fake.maxInFlight)")
            #expect(answers.allSatisfy { [200, 429].contains($0.0) }, "\(answers.map(\.0))")
            #expect(answers.count { $0.0 == 200 } >= 2)
            #expect(answers.filter { $0.0 == 429 }.allSatisfy { $0.1 == "1" })
            let before = fake.requestCount
            let long = String(repeating: "x", count: 5_000)
            let refused = try await request("POST", base + "/v1/classify", body: #"{"text": "\#(long)"}"#, key: "cli-key-1")
            #expect(refused.0 == 413, "\(refused.1)")
            #expect(refused.1.contains("'text'") && refused.1.contains("4096"), "\(refused.1)")
            let stored = try await request("POST", base + "/v1/queries", body: #"{"text": "\#(long)"}"#, key: "cli-key-1")
            #expect(stored.0 == 413, "\(stored.1)")
            #expect(fake.requestCount == before, "nothing over the cap reached the provider")
            server.signal(SIGTERM)
            _ = try await server.wait(timeout: .seconds(30))
        }
    }

    @Test("a webhook receiver that trickles its answer frees the run's slot when the run ends, and SIGTERM exits within --grace-seconds")
    func tricklingWebhookReceiver() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let receiver = TricklingReceiver(.chunkedBody)
        try await receiver.run {
            let (server, base) = try await serve(
                ["--mock-llm", "--store", "sqlite:\(folder.path("serve.sqlite"))", "--max-runs", "1",
                 "--grace-seconds", "2"],
                environment: ["TRIAGE_WEBHOOK_URLS": receiver.url, "TRIAGE_WEBHOOK_TIMEOUT_SECONDS": "300"])
            #expect(try await request("POST", base + "/v1/queries", body: #"{"text": "where is my parcel"}"#,
                                      key: "cli-key-1").0 == 201)
            #expect(try await request("POST", base + "/v1/runs", body: "{}", key: "cli-key-1").0 == 202)
            #expect(await eventually(timeout: .seconds(20)) { receiver.open >= 1 }, "the delivery never started")
            let again = try await request("POST", base + "/v1/runs", body: "{}", key: "cli-key-1")
            #expect(again.0 == 202, "the ended run's slot is free while its webhook trickles: \(again.1)")
            let signalled = ContinuousClock.now
            server.signal(SIGTERM)
            let result = try await server.wait(timeout: .seconds(60))
            #expect(ContinuousClock.now - signalled < .seconds(7), "--grace-seconds 2 bounds the shutdown")
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    @Test("serve --workers reuses answers: 40 queries with 20 distinct texts cost 20 LLM calls, as under triage run")
    func workersReuseAnswers() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("serve.sqlite"))"
        let fake = FakeLLMServer { _ in .classification(category: "billing") }
        try await fake.run {
            // One slot: the first of two identical texts is answered before the second is claimed.
            let (server, base) = try await serve(
                ["--workers", "--store", store, "--llm", "openai", "--llm-url", fake.openAIBaseURL,
                 "--max-concurrent", "1", "--batch-size", "1"], environment: ["OPENAI_API_KEY": "sk-x"])
            let queries = (0..<40).map { #"{"text": "query \#($0 % 20): I was charged twice"}"# }
            let ingest = try await request("POST", base + "/v1/queries", body: "[\(queries.joined(separator: ","))]",
                                           key: "cli-key-1")
            #expect(ingest.0 == 201, "\(ingest.1)")
            #expect(try await eventually {
                try await TriageBinary.statusCounts(store: store)["classified", default: 0] == 40
            })
            server.signal(SIGTERM)
            _ = try await server.wait(timeout: .seconds(30))
        }
        #expect(fake.requests.filter { $0.path == "/v1/chat/completions" }.count == 20)
    }

    @Test("serve --workers --via batch: ingested queries go through the provider's batch API, no online request")
    func workersInBatchMode() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("serve.sqlite"))"
        let fake = FakeLLMServer(batches: .init(pollsInProgress: 1)) { _ in .classification(category: "billing") }
        try await fake.run {
            let (server, base) = try await serve(
                ["--workers", "--via", "batch", "--batch-window-seconds", "0.3", "--poll-seconds", "0.05",
                 "--store", store, "--llm", "openai", "--llm-url", fake.openAIBaseURL, "--no-reuse"],
                environment: ["OPENAI_API_KEY": "sk-x"])
            let queries = (0..<12).map { #"{"text": "query \#($0): where is my parcel"}"# }
            let ingest = try await request("POST", base + "/v1/queries", body: "[\(queries.joined(separator: ","))]",
                                           key: "cli-key-1")
            #expect(ingest.0 == 201, "\(ingest.1)")
            #expect(try await eventually {
                try await TriageBinary.statusCounts(store: store)["classified", default: 0] == 12
            }, "\(server.stderrSoFar)")
            server.signal(SIGTERM)
            let result = try await server.wait(timeout: .seconds(30))
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(fake.batchesCreated >= 1)
        #expect(!fake.requests.contains { $0.path == "/v1/chat/completions" })
    }

    @Test("POST /v1/runs {\"via\": \"batch\"}: a run through the batch API, its batch shown while it runs")
    func apiRunInBatchMode() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("serve.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "10", "--store", store])
        let fake = FakeLLMServer(batches: .init(pollsInProgress: 1_000_000)) { _ in .classification() }
        try await fake.run {
            let (server, base) = try await serve(
                ["--poll-seconds", "0.05", "--store", store, "--llm", "openai", "--llm-url", fake.openAIBaseURL,
                 "--no-reuse"], environment: ["OPENAI_API_KEY": "sk-x"])
            let started = try await request("POST", base + "/v1/runs", body: #"{"via": "batch"}"#, key: "cli-key-1")
            #expect(started.0 == 202, "\(started.1)")
            let id = try #require(started.1.firstMatch(of: /"id" *: *"([^"]+)"/).map { String($0.1) })
            #expect(try await eventually {
                let (_, body) = try await request("GET", base + "/v1/runs/\(id)", key: "cli-key-1")
                return body.contains("in_progress") && body.contains("batch_1")
            }, "the run shows its batch's provider state")
            let page = try await request("GET", base + "/v1/status-page", key: "cli-key-1")
            #expect(page.1.contains("batch batch_1: in_progress"), "\(page.1)")
            fake.setBatchBehaviour(.init(pollsInProgress: 0))
            #expect(try await eventually {
                let (_, body) = try await request("GET", base + "/v1/runs/\(id)", key: "cli-key-1")
                return body.contains(#""completed""#)
            })
            server.signal(SIGTERM)
            _ = try await server.wait(timeout: .seconds(30))
        }
        #expect(try await TriageBinary.statusCounts(store: store)["classified"] == 10)
        #expect(!fake.requests.contains { $0.path == "/v1/chat/completions" })
    }
}
