import Foundation
import TestSupport
import Testing
import TriageCore
import TriageSQLite

/// `triage work --via batch`: a continuous worker that gathers new queries into provider batches, against the fake
/// batch API.
@Suite("triage work --via batch")
struct CLIWorkBatchTests {
    static let environment = ["OPENAI_API_KEY": "sk-work-SECRET"]

    func arguments(_ server: FakeLLMServer, store: String) -> [String] {
        ["work", "--via", "batch", "--poll-seconds", "0.05", "--batch-window-seconds", "0.3", "--store", store,
         "--json", "--llm", "openai", "--llm-url", server.openAIBaseURL, "--model", "gpt-4o-mini"]
    }

    func records(_ folder: TemporaryDirectory) async throws -> [QueryRecord] {
        try await SQLiteQueryStore(location: .sqliteFile(path: folder.path("t.sqlite")))
            .list(QueryFilter(), after: nil, limit: 1_000)
    }

    @Test("queries arriving at a worker are gathered into batches and classified, no online request; SIGTERM exits 0")
    func gathersArrivals() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "1", "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 2)) { _ in .classification(category: "billing") }
        try await server.run {
            let worker = try TriageBinary.start(arguments(server, store: store), environment: Self.environment)
            #expect(try await eventually { try await TriageBinary.statusCounts(store: store)["classified"] == 1 },
                    "\(worker.stderrSoFar)")
            // Two more arrivals, while the worker runs: a batch of their own.
            _ = try await TriageBinary.run(["import", "--count", "20", "--seed", "7", "--store", store])
            #expect(try await eventually {
                try await TriageBinary.statusCounts(store: store)["classified"] == 21
            }, "\(worker.stderrSoFar)")
            worker.signal(SIGTERM)
            let result = try await worker.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!(result.stdout + result.stderr).contains("SECRET"))
        }
        #expect(server.batchesCreated >= 2, "the later arrivals went in a batch of their own")
        #expect(!server.requests.contains { $0.path.hasSuffix("/chat/completions") }, "no online request")
        let all = try await records(folder)
        #expect(all.count == 21 && all.allSatisfy { $0.status == .classified && $0.attempts == 1 })
    }

    @Test("SIGTERM while a batch runs: the worker follows it to the end, writes it, and exits 0 with nothing lost")
    func sigtermFollowsTheBatch() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "12", "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 1_000_000)) { _ in .classification() }
        try await server.run {
            let worker = try TriageBinary.start(arguments(server, store: store), environment: Self.environment)
            #expect(await eventually { worker.stderrSoFar.contains("in_progress") }, "\(worker.stderrSoFar)")
            worker.signal(SIGTERM)
            try await Task.sleep(for: .milliseconds(300))
            #expect(worker.isRunning, "a paid batch is followed after SIGTERM")
            server.setBatchBehaviour(.init(pollsInProgress: 0))
            let result = try await worker.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(server.batchesCreated == 1)
        let counts = try await TriageBinary.statusCounts(store: store)
        #expect(counts["classified"] == 12 && counts.values.reduce(0, +) == 12, "\(counts)")
    }

    @Test("SIGKILL while a batch runs, then a new worker: it follows the same batch, none created twice")
    func killedThenRestarted() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "15", "--store", store])
        let server = FakeLLMServer(batches: .init(pollsInProgress: 1_000_000)) { _ in .classification() }
        try await server.run {
            let first = try TriageBinary.start(arguments(server, store: store), environment: Self.environment)
            #expect(await eventually { first.stderrSoFar.contains("in_progress") }, "\(first.stderrSoFar)")
            first.signal(SIGKILL)
            _ = try await first.wait()
            server.setBatchBehaviour(.init(pollsInProgress: 0))
            let second = try TriageBinary.start(arguments(server, store: store), environment: Self.environment)
            #expect(try await eventually {
                try await TriageBinary.statusCounts(store: store)["classified"] == 15
            }, "\(second.stderrSoFar)")
            second.signal(SIGTERM)
            let result = try await second.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("sent by an earlier run"), "\(result.stderr)")
        }
        #expect(server.batchesCreated == 1, "the second worker followed the first one's batch instead of paying again")
        let all = try await records(folder)
        #expect(all.count == 15 && all.allSatisfy { $0.status == .classified && $0.attempts == 1 })
    }

    @Test("two batch workers on one store: each batch is followed by one, none sent twice, every query written once")
    func twoWorkers() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        let server = FakeLLMServer(batches: .init(pollsInProgress: 1_000_000)) { _ in .classification() }
        try await server.run {
            let first = try TriageBinary.start(arguments(server, store: store) + ["--no-reuse"],
                                               environment: Self.environment)
            let second = try TriageBinary.start(arguments(server, store: store) + ["--no-reuse"],
                                                environment: Self.environment)
            try await Task.sleep(for: .milliseconds(500))
            _ = try await TriageBinary.run(["import", "--count", "10", "--store", store])
            #expect(await eventually { server.batchesCreated >= 1 })
            // Long enough for each worker to look for batches nobody follows, several times over.
            try await Task.sleep(for: .seconds(7))
            let created = server.batchesCreated
            server.setBatchBehaviour(.init(pollsInProgress: 0))
            #expect(try await eventually { try await TriageBinary.statusCounts(store: store)["classified"] == 10 })
            first.signal(SIGTERM)
            second.signal(SIGTERM)
            let results = [try await first.wait(timeout: .seconds(60)), try await second.wait(timeout: .seconds(60))]
            #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
            let classified = try results.map { result -> Int in
                let record = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                return (record?["statistics"] as? [String: Any])?["classified"] as? Int ?? -1
            }
            #expect(classified.reduce(0, +) == 10, "each query counted once, by the worker that held its batch")
            #expect(server.batchesCreated == created, "no batch sent again by the other worker")
        }
        let all = try await records(folder)
        #expect(all.count == 10 && all.allSatisfy { $0.status == .classified && $0.attempts == 1 })
    }
}
