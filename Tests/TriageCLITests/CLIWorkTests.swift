import Foundation
import TestSupport
import Testing

/// `triage work`: long-running workers that share a store and stop cleanly on SIGTERM.
@Suite("triage work")
struct CLIWorkTests {
    @Test("two workers on one SQLite file process 2,000 queries, none twice, and exit 0 on SIGTERM")
    func twoWorkersShareAFile() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("shared.sqlite"))"
        // Workers start on an empty store and pick up what arrives. At 20 ms a query, one worker alone would need
        // 2.5 s for the lot, longer than either sleeps between polls at this point, so both get a share.
        let arguments = ["work", "--mock-llm", "--mock-latency-ms", "20", "--store", store, "--batch-size", "25",
                         "--max-concurrent", "16", "--json"]
        let first = try TriageBinary.start(arguments)
        let second = try TriageBinary.start(arguments)
        try await Task.sleep(for: .milliseconds(500))
        let imported = try await TriageBinary.run(["import", "--count", "2000", "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")

        #expect(try await eventually(timeout: .seconds(120)) { try await TriageBinary.statusCounts(store: store)["classified"] == 2000 })
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        let (a, b) = (try await first.wait(timeout: .seconds(30)), try await second.wait(timeout: .seconds(30)))
        #expect(a.status == 0, "\(a.stderr)")
        #expect(b.status == 0, "\(b.stderr)")
        let classifiedA = try #require(try Self.classified(a.stdout))
        let classifiedB = try #require(try Self.classified(b.stdout))
        #expect(classifiedA + classifiedB == 2000)
        #expect(classifiedA > 0 && classifiedB > 0)

        let export = try await TriageBinary.run(["export", "--format", "jsonl", "--store", store])
        let records = try export.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(records.count == 2000)
        #expect(records.allSatisfy { $0["status"] as? String == "classified" && $0["attempts"] as? Int == 1 })
    }

    @Test("SIGTERM while classifying: exit 0 promptly, every query classified or pending, none processing")
    func sigtermLeavesNothingProcessing() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        // A backlog the worker cannot finish before the signal, however slow a loaded machine makes the polling.
        _ = try await TriageBinary.run(["import", "--count", "1500", "--store", store])
        let worker = try TriageBinary.start(["work", "--mock-llm", "--mock-latency-ms", "300", "--store", store,
                                             "--max-concurrent", "8", "--batch-size", "20"])
        #expect(try await eventually { try await TriageBinary.statusCounts(store: store)["classified", default: 0] >= 8 })
        let signalled = ContinuousClock.now
        worker.signal(SIGTERM)
        let result = try await worker.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - signalled < .seconds(15))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("Stopping"))
        let byStatus = try await TriageBinary.statusCounts(store: store)
        #expect(byStatus["processing", default: 0] == 0)
        #expect(byStatus["classified", default: 0] + byStatus["pending", default: 0] == 1500)
        #expect(byStatus["classified", default: 0] < 1500)
    }

    static func classified(_ report: String) throws -> Int? {
        let object = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any]
        return (object?["statistics"] as? [String: Any])?["classified"] as? Int
    }
}
