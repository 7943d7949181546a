import Foundation
import MongoTestSupport
import TestSupport
import Testing

/// Several `triage` processes on one store, as a fleet is run: what they guarantee when one is killed, when the
/// provider or the store goes away, and when they share one rate limit. Each proof runs on a SQLite file and on
/// MongoDB (a test server of its own, since one proof takes it down). One at a time, and apart from the rest of the
/// suite (`scripts/test` runs them after it): three processes pacing a rate limit to the millisecond need the CPU a
/// fleet's machines would give them, not the share left by every other test at once.
@Suite("A fleet of workers on one store", .serialized)
struct CLIFleetTests {
    enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
        case sqlite, mongo
        var description: String { rawValue }
    }

    /// The store a fleet shares, and how to make it unavailable for a while.
    struct FleetStore: Sendable {
        let arguments: [String]
        let folder: TemporaryDirectory
        let mongo: MongoTestServer?

        static func make(_ backend: Backend) async throws -> FleetStore {
            let folder = try TemporaryDirectory()
            switch backend {
            case .sqlite:
                return FleetStore(arguments: ["--store", "sqlite:\(folder.path("fleet.sqlite"))"], folder: folder,
                                  mongo: nil)
            case .mongo:
                let server = try await MongoTestServer()
                let uri = server.uri(database: "fleet", options: "serverSelectionTimeoutMS=1000&connectTimeoutMS=1000")
                return FleetStore(arguments: ["--store", uri], folder: folder, mongo: server)
            }
        }

        /// Imports `count` queries with distinct texts, so the provider's log tells which query each request was for.
        func importQueries(_ count: Int) async throws {
            let lines = (0..<count).map {
                #"{"externalId": "q\#($0)", "text": "Order \#($0) has not arrived and nobody answers my emails"}"#
            }
            let file = try folder.write("queries.jsonl", lines.joined(separator: "\n") + "\n")
            let result = try await TriageBinary.run(["import", "--file", file] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
        }

        /// Makes the store unavailable for `duration`: the MongoDB server refuses connections; the SQLite file is
        /// locked by another process's exclusive transaction (no worker can write to it).
        func goDown(for duration: Duration) async throws {
            if let mongo {
                try await mongo.goDown()
                try await Task.sleep(for: duration)
                try await mongo.comeBack()
                return
            }
            let lock = Process()
            lock.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            lock.arguments = ["-c", """
                import sqlite3, sys, time
                db = sqlite3.connect(sys.argv[1], isolation_level=None)
                db.execute("BEGIN EXCLUSIVE")
                print("locked", flush=True)
                time.sleep(float(sys.argv[2]))
                db.execute("COMMIT")
                """, folder.path("fleet.sqlite"), "\(duration.timeInterval)"]
            let output = Pipe()
            lock.standardOutput = output
            try lock.run()
            _ = output.fileHandleForReading.availableData  // "locked": the store is down from here
            while lock.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        }

        func counts() async throws -> [String: Int] {
            let stats = try await TriageBinary.run(["stats", "--json"] + arguments)
            let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
            return object?["byStatus"] as? [String: Int] ?? [:]
        }

        /// Every stored query as `export` writes it.
        func exported() async throws -> [[String: Any]] {
            let export = try await TriageBinary.run(["export", "--format", "jsonl"] + arguments)
            return try export.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }

        func cleanUp() {
            mongo?.stop()
            folder.remove()
        }
    }

    static let key = ["OPENAI_API_KEY": "sk-fleet-test"]

    static func llm(_ server: FakeLLMServer) -> [String] {
        ["--llm", "openai", "--llm-url", server.openAIBaseURL]
    }

    /// Starts three `triage` processes with `arguments`, against `server`, on `store`.
    static func startThree(_ arguments: [String], server: FakeLLMServer, store: FleetStore) throws -> [RunningTriage] {
        try (0..<3).map { _ in
            try TriageBinary.start(arguments + llm(server) + store.arguments, environment: key)
        }
    }

    /// Stops workers gently (SIGTERM) and waits for each one's report.
    static func stop(_ workers: some Sequence<RunningTriage>) async throws -> [TriageBinary.Result] {
        var results: [TriageBinary.Result] = []
        for worker in workers {
            worker.signal(SIGTERM)
            results.append(try await worker.wait(timeout: .seconds(30)))
        }
        return results
    }

    /// How many requests the provider received for each query.
    static func requestsPerQuery(_ server: FakeLLMServer) -> [String: Int] {
        Dictionary(grouping: server.requests, by: \.lastUserMessage).mapValues(\.count)
    }

    /// A number from the run statistics a `--json` report holds.
    static func statistic(_ name: String, of result: TriageBinary.Result) throws -> Int? {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (object?["statistics"] as? [String: Any])?[name] as? Int
    }

    @Test("three processes sharing --rpm 540 with a provider allowing 10 a second: no 429, the fleet at 540 RPM",
          arguments: Backend.allCases)
    func sharedRateLimit(backend: Backend) async throws {
        let store = try await FleetStore.make(backend)
        defer { store.cleanUp() }
        try await store.importQueries(200)
        // 600 RPM enforced as 10 in each second.
        let server = FakeLLMServer(requestsPerSecond: 10, window: .quantized)
        let results = try await server.run {
            let workers = try Self.startThree(["run", "--rpm", "540", "--batch-size", "4", "--max-concurrent", "4",
                                               "--json"], server: server, store: store)
            var results: [TriageBinary.Result] = []
            for worker in workers { results.append(try await worker.wait(timeout: .seconds(120))) }
            return results
        }
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        #expect(server.throttledCount == 0)
        let times = server.requests.map(\.receivedAt).sorted()
        try #require(times.count == 200)
        // The steady state, past the start-up of the three processes and before the last ones stop.
        let rate = 160 / (times[180] - times[20]).timeInterval * 60
        #expect(abs(rate - 540) / 540 < 0.03, "the fleet sent \(rate) requests a minute")
        let shares = try results.map { try #require(try Self.statistic("classified", of: $0)) }
        #expect(shares.reduce(0, +) == 200)
        #expect(shares.allSatisfy { $0 > 0 }, "\(shares)")
        #expect(try await store.counts()["classified"] == 200)
    }

    @Test("SIGKILL one of three workers mid-run: every query classified, once; only what it had in flight asked again",
          arguments: Backend.allCases)
    func killedWorker(backend: Backend) async throws {
        let store = try await FleetStore.make(backend)
        defer { store.cleanUp() }
        try await store.importQueries(120)
        let server = FakeLLMServer { _ in .classification(after: .milliseconds(300)) }
        let survivors = try await server.run {
            let workers = try Self.startThree(["work", "--lease-seconds", "3", "--batch-size", "4",
                                               "--max-concurrent", "4", "--json"], server: server, store: store)
            #expect(await eventually { server.requestCount >= 30 })
            workers[0].signal(SIGKILL)
            _ = try await workers[0].wait(timeout: .seconds(10))
            // The others take its share once its leases (3 s) expire.
            #expect(try await eventually(timeout: .seconds(90)) { try await store.counts()["classified"] == 120 })
            return try await Self.stop(workers.dropFirst())
        }
        for result in survivors {
            #expect(result.status == 0, "\(result.stderr)")
            // No write of theirs was refused: no result was written over another, none twice.
            #expect(try Self.statistic("leaseLost", of: result) == 0)
        }
        let perQuery = Self.requestsPerQuery(server)
        #expect(perQuery.count == 120)
        let askedAgain = perQuery.values.filter { $0 > 1 }
        // Asked again: at most the 4 the killed worker had in flight, and each of those only once more.
        #expect(askedAgain.count <= 4 && askedAgain.allSatisfy { $0 == 2 }, "\(askedAgain)")
        #expect(server.requestCount == 120 + askedAgain.count)
        let records = try await store.exported()
        #expect(records.count == 120)
        #expect(records.allSatisfy { $0["status"] as? String == "classified" })
        // Attempts went up for what it held: in flight, or claimed and waiting for a slot (a batch of 4).
        #expect(records.filter { $0["attempts"] as? Int == 2 }.count <= 8)
    }

    @Test("the provider refusing connections, then answering 503, mid-run: nothing failed, no attempt spent",
          arguments: Backend.allCases)
    func providerOutage(backend: Backend) async throws {
        let store = try await FleetStore.make(backend)
        defer { store.cleanUp() }
        try await store.importQueries(150)
        let first = FakeLLMServer { _ in .classification(after: .milliseconds(50)) }
        let worker = try await first.run {
            let worker = try TriageBinary.start(["run", "--batch-size", "4", "--max-concurrent", "4", "--json"]
                                                + Self.llm(first) + store.arguments, environment: Self.key)
            #expect(await eventually { first.requestCount >= 40 })
            return worker
        }
        // The provider is gone: connections refused.
        try await Task.sleep(for: .seconds(10))
        #expect(worker.isRunning)
        #expect(try await store.counts()["failed", default: 0] == 0)
        // Back, answering 503 for a while, then classifying.
        let back = ContinuousClock.now
        let second = FakeLLMServer(port: first.listeningPort) { _ in
            ContinuousClock.now - back < .seconds(8) ? .status(503, body: #"{"error":{"message":"overloaded"}}"#)
                : .classification(after: .milliseconds(50))
        }
        let finished = try await second.run {
            try await eventually(timeout: .seconds(90)) { try await store.counts()["classified"] == 150 }
        }
        #expect(finished)
        let result = try await worker.wait(timeout: .seconds(30))
        #expect(result.status == 0, "\(result.stderr)")
        let records = try await store.exported()
        #expect(records.count == 150)
        #expect(records.allSatisfy { $0["status"] as? String == "classified" && $0["attempts"] as? Int == 1 })
    }

    @Test("the store gone for 10 s under three workers: nothing lost, nothing asked or written twice",
          arguments: Backend.allCases)
    func storeOutage(backend: Backend) async throws {
        let store = try await FleetStore.make(backend)
        defer { store.cleanUp() }
        try await store.importQueries(240)
        let server = FakeLLMServer { _ in .classification(after: .milliseconds(100)) }
        let results = try await server.run {
            let workers = try Self.startThree(["work", "--batch-size", "4", "--max-concurrent", "4", "--json"],
                                              server: server, store: store)
            #expect(await eventually { server.requestCount >= 40 })
            try await store.goDown(for: .seconds(10))
            #expect(try await eventually(timeout: .seconds(90)) { try await store.counts()["classified"] == 240 })
            return try await Self.stop(workers)
        }
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        let shares = try results.map { try #require(try Self.statistic("classified", of: $0)) }
        #expect(shares.reduce(0, +) == 240)
        #expect(Self.requestsPerQuery(server).values.allSatisfy { $0 == 1 })
        #expect(server.requestCount == 240)
        let records = try await store.exported()
        #expect(records.count == 240)
        #expect(records.allSatisfy { $0["status"] as? String == "classified" && $0["attempts"] as? Int == 1 })
    }
}
