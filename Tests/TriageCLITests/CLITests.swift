import Foundation
import TestSupport
import Testing
import TriageCore
import TriageSQLite

/// Drives the built `triage` binary as a user would.
@Suite("triage command line")
struct CLITests {
    @Test("import → run → export round trip, with stats and run statistics")
    func roundTrip() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        let imported = try await TriageBinary.run(["import", "--count", "120", "--output", folder.path("s.json"), "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("Imported 120 queries"))
        let sample = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("s.json")))
        #expect((sample as? [Any])?.count == 120)

        // Importing the generated file again adds nothing twice.
        let again = try await TriageBinary.run(["import", "--file", folder.path("s.json"), "--store", store, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("\"duplicates\" : 120"))
        #expect(again.stdout.contains("\"inserted\" : 0"))

        let run = try await TriageBinary.run([
            "run", "--mock-llm", "--store", store, "--batch-size", "20", "--max-concurrent", "8",
            "--output", folder.path("stats.json"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("completed"))
        #expect(run.stdout.contains("classified        120"))
        let stats = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("stats.json"))) as? [String: Any]
        )
        let statistics = try #require(stats["statistics"] as? [String: Any])
        #expect(statistics["classified"] as? Int == 120)
        #expect((statistics["latencyMs"] as? [String: Any])?["p95"] != nil)
        #expect((statistics["tokens"] as? [String: Any])?["total"] as? Int ?? 0 > 0)

        let export = try await TriageBinary.run(["export", "--store", store, "--format", "jsonl", "--output", folder.path("out.jsonl")])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = try String(contentsOfFile: folder.path("out.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 120)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["status"] as? String == "classified")
        #expect(first["attempts"] as? Int == 1)
        #expect(first["category"] is String)
        #expect(first["id"] as? String == "1")

        let csv = try await TriageBinary.run(["export", "--store", store, "--status", "classified", "--output", folder.path("out.csv")])
        #expect(csv.status == 0)
        #expect(try String(contentsOfFile: folder.path("out.csv"), encoding: .utf8).hasPrefix("id,externalId,text,"))

        let summary = try await TriageBinary.run(["stats", "--store", store, "--json"])
        #expect(summary.status == 0)
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
        #expect((counts["byStatus"] as? [String: Int])?["classified"] == 120)
        #expect((counts["byCategory"] as? [String: Int])?.values.reduce(0, +) == 120)
        let table = try await TriageBinary.run(["stats", "--store", store])
        #expect(table.stdout.contains("classified"))
        #expect(table.stdout.contains("Category"))
    }

    @Test("dry run reports what would be processed and changes nothing")
    func dryRun() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "30", "--store", store])
        let dry = try await TriageBinary.run(["run", "--dry-run", "--limit", "12", "--output", folder.path("u.json"), "--store", store, "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("\"wouldProcess\" : 12"))
        let unprocessed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path("u.json")))) as? [[String: Any]]
        #expect(unprocessed?.count == 12)
        #expect(unprocessed?.allSatisfy { $0["status"] as? String == "pending" } == true)
        let stats = try await TriageBinary.run(["stats", "--store", store, "--json"])
        #expect(stats.stdout.contains("\"pending\" : 30"))
        #expect(stats.stdout.contains("\"lastRun\"") == false)
    }

    @Test("--dry-run --output lists what a run would take, expired leases included, as many as it counts")
    func dryRunListsExpiredLeases() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("t.sqlite")
        _ = try await TriageBinary.run(["import", "--count", "5", "--store", "sqlite:\(path)"])
        // A worker that crashed: its two claims have expired, and a run would take them again.
        let crashed = try await SQLiteQueryStore(location: .sqliteFile(path: path))
            .claim(limit: 2, owner: "crashed", leaseFor: .zero, now: Date())
        #expect(crashed.count == 2)
        let dry = try await TriageBinary.run(["run", "--dry-run", "--output", folder.path("u.json"),
                                              "--store", "sqlite:\(path)", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("\"wouldProcess\" : 5"))
        let listed = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: folder.path("u.json")))) as? [[String: Any]])
        #expect(listed.count == 5, "the file lists every query the count includes")
        #expect(listed.filter { $0["status"] as? String == "processing" }.count == 2)
    }

    @Test("failed queries are recorded, and requeue gives them another chance")
    func failuresAndRequeue() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "40", "--store", store])
        let run = try await TriageBinary.run([
            "run", "--mock-llm", "--mock-failure-rate", "1", "--max-attempts", "2", "--retry-base-seconds", "0.01",
            "--store", store, "--json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"failed\" : 40"))
        let failed = try await TriageBinary.run(["export", "--store", store, "--status", "failed", "--format", "jsonl"])
        #expect(failed.stdout.split(separator: "\n").count == 40)
        #expect(failed.stdout.contains("\"lastErrorKind\":\"mock_transient\""))
        let requeue = try await TriageBinary.run(["requeue", "--failed", "--store", store])
        #expect(requeue.stdout.contains("Requeued 40"))
        let rerun = try await TriageBinary.run(["run", "--mock-llm", "--store", store, "--json"])
        #expect(rerun.stdout.contains("\"classified\" : 40"))
    }

    @Test("bad input gives one clear error, a non-zero exit, and changes nothing", arguments: [
        (["import", "--file", "malformed.json"], "malformed.json, line 3, column 1: malformed JSON: unexpected end of file"),
        (["import", "--file", "wrongtype.jsonl"], "wrongtype.jsonl, line 2, field 'text': expected a string, found number"),
        (["import", "--file", "empty.csv"], "empty.csv, line 3, field 'text': is missing"),
        (["import", "--file", "unsupported.jsonl"], "unsupported.jsonl, line 1, field 'tags': unsupported value type array"),
        (["import", "--file", "nowhere.jsonl"], "nowhere.jsonl: the file does not exist"),
        (["import", "--file", "."], ".: the file cannot be read"),
        (["stats", "--store", "postgres://admin:hunter2@db/x"], "unsupported store URI 'postgres://admin:***@db/x'"),
        (["run", "--mock-llm", "--batch-size", "0"], "--batch-size: must be at least 1, not 0"),
        (["run", "--mock-llm", "--max-concurrent", "many"], "many"),
        (["run"], "no classifier chosen"),
        (["export", "--status", "done"], "done"),
        (["run", "--mock-llm", "--taxonomy", "missing.yaml"], "missing.yaml: cannot read the taxonomy file"),
    ])
    func badInput(arguments: [String], expected: String) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("malformed.json", "[{\"text\": \"fine\"},\n {\"text\": \"broken\"\n")
        try folder.write("wrongtype.jsonl", "{\"text\": \"fine\"}\n{\"text\": 12}\n")
        try folder.write("empty.csv", "text,subject\nfine,a\n,b\n")
        try folder.write("unsupported.jsonl", "{\"text\": \"fine\", \"tags\": [\"x\"]}\n")
        let store = "sqlite:\(folder.path("t.sqlite"))"
        let withStore = arguments.contains("--store") ? arguments : arguments + ["--store", store]
        let result = try await TriageBinary.run(withStore, in: folder.url)
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"))
        let stats = try await TriageBinary.run(["stats", "--store", store, "--json"])
        #expect(stats.stdout.contains("\"total\" : 0"), "nothing was imported: \(stats.stdout)")
    }

    @Test("two processes on one SQLite file never classify a query twice")
    func twoProcesses() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("shared.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "1000", "--store", store])
        let arguments = ["run", "--mock-llm", "--mock-latency-ms", "2", "--batch-size", "25", "--max-concurrent", "8",
                         "--store", store, "--json"]
        let first = try TriageBinary.start(arguments)
        let second = try TriageBinary.start(arguments)
        let (a, b) = try await (first.wait(), second.wait())
        #expect(a.status == 0, "\(a.stderr)")
        #expect(b.status == 0, "\(b.stderr)")
        func classified(_ output: String) throws -> Int {
            let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
            return (object?["statistics"] as? [String: Any])?["classified"] as? Int ?? -1
        }
        #expect(try classified(a.stdout) + classified(b.stdout) == 1000)
        let export = try await TriageBinary.run(["export", "--store", store, "--format", "jsonl"])
        let records = try export.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        #expect(records.count == 1000)
        #expect(records.allSatisfy { $0["status"] as? String == "classified" && $0["attempts"] as? Int == 1 })
    }

    @Test("Ctrl-C stops the run cleanly: nothing is left processing")
    func interrupt() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        // A backlog the run cannot finish before the signal, however slow a loaded machine makes the polling.
        _ = try await TriageBinary.run(["import", "--count", "2000", "--store", store])
        let running = try TriageBinary.start(["run", "--mock-llm", "--mock-latency-ms", "400", "--max-concurrent", "5",
                                              "--store", store])
        // Interrupt once some queries are done (polling the store, not guessing how long start-up takes).
        let started = await eventually {
            let stats = try? await TriageBinary.run(["stats", "--store", store, "--json"])
            let object = stats.flatMap { try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any] }
            return ((object?["byStatus"] as? [String: Int])?["classified"] ?? 0) > 0
        }
        #expect(started)
        running.signal(SIGINT)
        let result = try await running.wait(timeout: .seconds(20))
        #expect(result.status == 130, "\(result.stderr)")
        #expect(result.stderr.contains("Stopping"))
        let stats = try await TriageBinary.run(["stats", "--store", store, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        let byStatus = try #require(object?["byStatus"] as? [String: Int])
        #expect(byStatus["processing"] == 0)
        #expect((byStatus["classified"] ?? 0) > 0)
        #expect((byStatus["classified"] ?? 0) + (byStatus["pending"] ?? 0) == 2000)
    }

    @Test("demo runs the whole workflow with no setup")
    func demo() async throws {
        let result = try await TriageBinary.run(["demo", "--count", "60", "--latency-ms", "20"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Imported 60 queries"))
        #expect(result.stdout.contains("Statistics"))
        #expect(result.stdout.contains("classified"))
        #expect(result.stdout.contains("Sample results"))
        #expect(result.stdout.contains("Store: "))
        #expect(result.stdout.contains("0 pending"))
    }

    @Test("--help explains every command")
    func help() async throws {
        let result = try await TriageBinary.run(["--help"])
        for command in ["run", "import", "export", "stats", "requeue", "demo"] {
            #expect(result.stdout.contains(command))
        }
        let run = try await TriageBinary.run(["run", "--help"])
        #expect(run.stdout.contains("--max-concurrent"))
        #expect(run.stdout.contains("--dry-run"))
        #expect(run.stdout.contains("TRIAGE_STORE"))
    }
}
