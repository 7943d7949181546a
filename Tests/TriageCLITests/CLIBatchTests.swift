import Foundation
import TestSupport
import Testing
import TriageCore
import TriageSQLite

/// `triage run --via batch` against the fake batch APIs (OpenAI files and batches, Anthropic message batches).
@Suite("Batch mode")
struct CLIBatchTests {
    static let environment = ["OPENAI_API_KEY": "sk-batch-SECRET", "ANTHROPIC_API_KEY": "sk-ant-SECRET"]

    func arguments(_ server: FakeLLMServer, anthropic: Bool = false, store: String) -> [String] {
        ["run", "--via", "batch", "--poll-seconds", "0.05", "--store", store, "--json",
         "--llm", anthropic ? "anthropic" : "openai",
         "--llm-url", anthropic ? server.anthropicBaseURL : server.openAIBaseURL,
         "--model", anthropic ? "claude-3-5-haiku-latest" : "gpt-4o-mini"]
    }

    func statistics(_ result: TriageBinary.Result) throws -> [String: Any] {
        let record = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                  "\(result.stdout) \(result.stderr)")
        return try #require(record["statistics"] as? [String: Any])
    }

    @Test("every query classified through one batch, at half price, on both APIs", arguments: [false, true])
    func endToEnd(anthropic: Bool) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "20", "--store", store])
        let server = FakeLLMServer { _ in .classification(category: "payments", promptTokens: 1_000, completionTokens: 100) }
        let result = try await server.run {
            try await TriageBinary.run(arguments(server, anthropic: anthropic, store: store) + ["--no-reuse"],
                                       environment: Self.environment)
        }
        #expect(result.status == 0, "\(result.stderr)")
        let statistics = try statistics(result)
        #expect(statistics["classified"] as? Int == 20)
        #expect(server.batchesCreated == 1)
        // No online request: only the batch API's.
        #expect(!server.requests.contains { $0.path.hasSuffix("/chat/completions") || $0.path == "/v1/messages" })
        let online = anthropic ? (1_000 * 0.80 + 100 * 4.00) / 1_000_000 : (1_000 * 0.15 + 100 * 0.60) / 1_000_000
        let cost = try #require(statistics["costUSD"] as? Double)
        #expect(abs(cost - 20 * online / 2) < 1e-9, "batch prices are half the online ones")
        #expect(try await TriageBinary.statusCounts(store: store)["classified"] == 20)
        #expect(!(result.stdout + result.stderr).contains("SECRET"))
        let listed = try await TriageBinary.run(["batches", "--store", store])
        #expect(listed.stdout.contains("ingested"), "\(listed.stdout)")
    }

    @Test("a run killed while polling, started again, polls the same batch: one created, each query asked once")
    func killedWhilePolling() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "15", "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 1_000_000)) { _ in .classification() }
        try await server.run {
            let first = try TriageBinary.start(arguments(server, store: store), environment: Self.environment)
            // Wait for the batch to be created and polled.
            #expect(await eventually { first.stderrSoFar.contains("in_progress") }, "\(first.stderrSoFar)")
            first.signal(SIGKILL)
            _ = try await first.wait()
            #expect(server.batchesCreated == 1)
            server.setBatchBehaviour(.init(pollsInProgress: 0))
            let second = try await TriageBinary.run(arguments(server, store: store), environment: Self.environment)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("batch batch_1: in_progress, 0 of 14 done (sent by an earlier run"),
                    "the second run follows the batch the first sent: \(second.stderr)")
            #expect(try statistics(second)["classified"] as? Int == 15)
        }
        #expect(server.batchesCreated == 1, "the second run polled the first one's batch instead of paying again")
        let records = try await SQLiteQueryStore(location: .sqliteFile(path: folder.path("t.sqlite")))
            .list(QueryFilter(), after: nil, limit: 100)
        #expect(records.count == 15)
        #expect(records.allSatisfy { $0.status == .classified && $0.attempts == 1 })
    }

    @Test("a run killed after the provider started its batch but before it learnt the id finds that batch by its metadata")
    func killedBeforeRecordingTheId() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "12", "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 0, createUnanswered: true)) { _ in .classification() }
        try await server.run {
            let first = try TriageBinary.start(arguments(server, store: store), environment: Self.environment)
            // The provider has the batch; the store has it recorded, without the provider's id.
            #expect(await eventually { server.batchesCreated == 1 })
            first.signal(SIGKILL)
            _ = try await first.wait()
            server.setBatchBehaviour(.init(pollsInProgress: 0))
            let second = try await TriageBinary.run(arguments(server, store: store), environment: Self.environment)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("batch batch_1: ") && second.stderr.contains("sent by an earlier run"),
                    "the batch the provider had started is followed: \(second.stderr)")
            #expect(try statistics(second)["classified"] as? Int == 12)
        }
        #expect(server.batchesCreated == 1, "the second run polled the batch the provider had started, not a new one")
        let counts = try await TriageBinary.statusCounts(store: store)
        #expect(counts["classified"] == 12 && counts.values.reduce(0, +) == 12, "\(counts)")
    }

    @Test("errored and expired lines go back to pending and the next batch answers them; an invalid one is repaired online")
    func failedLines() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        let texts = ["please refund me", "the app crashes", "where is my parcel", "cancel my plan", "invoice wrong",
                     "card declined"]
        let file = texts.enumerated().map { #"{"externalId": "e\#($0.offset)", "text": "\#($0.element)"}"# }
            .joined(separator: "\n")
        try file.write(toFile: folder.path("q.jsonl"), atomically: true, encoding: .utf8)
        _ = try await TriageBinary.run(["import", "--file", folder.path("q.jsonl"), "--store", store])
        // The first batch: one line errors, one is invalid, one never finishes (the batch expires). The invalid one
        // is asked again online, where the repair request fixes it; the second batch answers the other two.
        let server = FakeLLMServer(batches: .init(pollsInProgress: 1, expire: true)) { request in
            let text = request.lastUserMessage
            let repair = text.hasPrefix("Your answer was not valid")
            if request.batchNumber ?? 0 > 1 || repair { return .classification(category: "billing") }
            if text.contains("refund") { return .status(500, body: #"{"error": {"message": "overloaded"}}"#) }
            if text.contains("crashes") { return .content(#"{"category": "not_a_category"}"#) }
            if text.contains("parcel") { return .hang }
            return .classification(category: "billing")
        }
        let result = try await server.run {
            try await TriageBinary.run(arguments(server, store: store) + ["--no-reuse"], environment: Self.environment)
        }
        #expect(result.status == 0, "\(result.stderr)")
        let statistics = try statistics(result)
        #expect(statistics["classified"] as? Int == 6)
        #expect(statistics["retried"] as? Int == 2)
        #expect(server.batchesCreated == 2)
        #expect(server.requests.filter { $0.path == "/v1/chat/completions" }.count == 2,
                "the invalid answer asked online once more, then repaired")
        let errors = statistics["errorsByKind"] as? [String: Int] ?? [:]
        #expect(errors.values.reduce(0, +) == 3, "\(errors)")
        let records = try await SQLiteQueryStore(location: .sqliteFile(path: folder.path("t.sqlite")))
            .list(QueryFilter(), after: nil, limit: 100)
        let retried = records.filter { $0.attempts == 2 }
        #expect(retried.count == 2)
        #expect(Set(retried.compactMap { $0.lastError?.kind }) == ["server_error", "timeout"])
        #expect(records.first { $0.query.text.contains("crashes") }?.status == .classified)
    }

    @Test("a line the provider rejects fails at once, as online; a rate-limited line is retried in the next batch")
    func lineFailuresFollowTheirScope() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        let file = ["please refund me", "forbidden words here", "slow down please"].enumerated()
            .map { #"{"externalId": "e\#($0.offset)", "text": "\#($0.element)"}"# }.joined(separator: "\n")
        try file.write(toFile: folder.path("q.jsonl"), atomically: true, encoding: .utf8)
        _ = try await TriageBinary.run(["import", "--file", folder.path("q.jsonl"), "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 0)) { request in
            let text = request.lastUserMessage
            if text.contains("forbidden") {
                return .status(400, body: #"{"error": {"message": "this content is refused"}}"#)
            }
            if text.contains("slow down"), request.batchNumber == 1 {
                return .status(429, body: #"{"error": {"message": "too many"}}"#)
            }
            return .classification(category: "billing")
        }
        let result = try await server.run {
            try await TriageBinary.run(arguments(server, store: store) + ["--no-reuse", "--retry-base-seconds", "0.1"],
                                       environment: Self.environment)
        }
        #expect(result.status == 0, "\(result.stderr)")
        let records = try await SQLiteQueryStore(location: .sqliteFile(path: folder.path("t.sqlite")))
            .list(QueryFilter(), after: nil, limit: 10)
        let rejected = try #require(records.first { $0.query.text.contains("forbidden") })
        #expect(rejected.status == .failed && rejected.attempts == 1, "a rejected line is not asked again")
        #expect(rejected.lastError?.kind == "rejected")
        let limited = try #require(records.first { $0.query.text.contains("slow down") })
        #expect(limited.status == .classified && limited.attempts == 2, "a rate-limited line goes in the next batch")
        #expect(server.batchesCreated == 2)
    }

    @Test("a backlog over the line or byte limit is split into batches")
    func splitting() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "25", "--store", store])
        let server = FakeLLMServer { _ in .classification() }
        let result = try await server.run {
            try await TriageBinary.run(arguments(server, store: store) + ["--no-reuse", "--batch-max-requests", "10"],
                                       environment: Self.environment)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try statistics(result)["classified"] as? Int == 25)
        #expect(server.batchesCreated == 3)
        // And at the byte limit: a line of these requests is a few kilobytes, so 8 KB holds at most a few.
        _ = try await TriageBinary.run(["import", "--count", "6", "--seed", "9", "--store", store])
        let bytesServer = FakeLLMServer { _ in .classification() }
        let split = try await bytesServer.run {
            try await TriageBinary.run(arguments(bytesServer, store: store) + ["--no-reuse", "--batch-max-bytes", "8000"],
                                       environment: Self.environment)
        }
        #expect(try statistics(split)["classified"] as? Int == 6)
        #expect(bytesServer.batchesCreated >= 2, "6 lines of several kilobytes do not fit in one 8 KB file")
        let sizes = bytesServer.requests.filter { $0.path == "/v1/files" }.map(\.body.count)
        #expect(sizes.allSatisfy { $0 <= 8_000 + 1_000 }, "each upload within the limit (and its form's headers)")
    }

    @Test("a batch recorded without its provider id whose queries nobody holds any more is over, not sent")
    func staleRecord() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "3", "--store", store])
        let server = FakeLLMServer { _ in .classification() }
        let opened = try SQLiteQueryStore(location: .sqliteFile(path: folder.path("t.sqlite")))
        let result = try await server.run {
            try await opened.saveBatch(ProviderBatch(
                id: "tb-stale", provider: "openai", endpoint: server.openAIBaseURL, model: "gpt-4o-mini",
                runId: "gone", claims: [.init(token: "a-lease-long-gone", queryIds: [QueryID("1"), QueryID("2")])]))
            return try await TriageBinary.run(arguments(server, store: store) + ["--no-reuse"],
                                              environment: Self.environment)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try statistics(result)["classified"] as? Int == 3)
        #expect(server.batchesCreated == 1, "only the backlog's own batch")
        #expect(try await opened.batch("tb-stale")?.state == .ingested)
    }

    @Test("triage batches cancel: the provider cancels, the polling run hands the queries back and ends cancelled",
          arguments: [false, true])
    func cancel(anthropic: Bool) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "8", "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 1_000_000)) { _ in .classification() }
        try await server.run {
            let running = try TriageBinary.start(arguments(server, anthropic: anthropic, store: store) + ["--no-reuse"],
                                                 environment: Self.environment)
            #expect(await eventually { running.stderrSoFar.contains("in_progress") }, "\(running.stderrSoFar)")
            let cancelled = try await TriageBinary.run(
                ["batches", "cancel", anthropic ? "msgbatch_1" : "batch_1", "--store", store,
                 "--llm", anthropic ? "anthropic" : "openai",
                 "--llm-url", anthropic ? server.anthropicBaseURL : server.openAIBaseURL],
                environment: Self.environment)
            #expect(cancelled.status == 0, "\(cancelled.stderr)")
            let result = try await running.wait()
            #expect(result.status == 130, "a cancelled run ends cancelled: \(result.stderr)")
            #expect(try statistics(result)["released"] as? Int == 8)
        }
        #expect(try await TriageBinary.statusCounts(store: store)["pending"] == 8)
        let listed = try await TriageBinary.run(["batches", "--store", store, "--json"])
        #expect(listed.stdout.contains("\"state\" : \"ingested\""))
    }
}

