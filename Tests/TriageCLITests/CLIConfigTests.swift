import Foundation
import TestSupport
import Testing

/// One reader for every setting: flags over the environment over the config file over the defaults, as
/// `triage config` shows, and as every command obeys.
@Suite("triage config")
struct CLIConfigTests {
    func settings(_ result: TriageBinary.Result) throws -> [String: (value: String?, origin: String, layer: String)] {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                  "\(result.stdout) \(result.stderr)")
        let rows = try #require(report["settings"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: rows.map {
            ($0["key"] as? String ?? "", ($0["value"] as? String, $0["origin"] as? String ?? "", $0["layer"] as? String ?? ""))
        })
    }

    @Test("a value from each layer, each with its origin; secrets masked")
    func layers() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try """
            # every layer says maxAttempts; only the file says model and server.maxRuns
            model: from-the-file
            maxAttempts: 9
            rpm: 100
            server:
              maxRuns: 7
              apiKeys: [file-key-SECRET]
            """.write(toFile: folder.path("triage.yaml"), atomically: true, encoding: .utf8)
        let result = try await TriageBinary.run(
            ["config", "--json", "--config", folder.path("triage.yaml"), "--max-attempts", "4", "--llm", "mock",
             "--store", "mongodb://alice:pa55word@127.0.0.1:1/db"],
            environment: ["TRIAGE_MAX_ATTEMPTS": "6", "TRIAGE_RPM": "200", "TRIAGE_API_KEYS": "env-key-SECRET"])
        #expect(result.status == 0, "\(result.stderr)")
        let shown = try settings(result)
        #expect(shown["maxAttempts"]?.value == "4" && shown["maxAttempts"]?.origin == "--max-attempts",
                "the flag wins over the environment and the file")
        #expect(shown["rpm"]?.value == "200" && shown["rpm"]?.origin == "TRIAGE_RPM", "the environment over the file")
        #expect(shown["model"]?.value == "from-the-file" && shown["model"]?.layer == "file")
        #expect(shown["model"]?.origin.contains("triage.yaml, line 2, key 'model'") == true)
        #expect(shown["server.maxRuns"]?.value == "7" && shown["server.maxRuns"]?.layer == "file")
        #expect(shown["batchSize"]?.value == "50" && shown["batchSize"]?.origin == "default")
        #expect(shown["server.apiKeys"]?.origin == "TRIAGE_API_KEYS" && shown["server.apiKeys"]?.value == "*** (1)")
        #expect(shown["store"]?.value == "mongodb://alice:***@127.0.0.1:1/db")
        #expect(!(result.stdout + result.stderr).contains("SECRET") && !result.stdout.contains("pa55word"))
        let table = try await TriageBinary.run(["config", "--max-attempts", "4", "--llm", "mock"])
        #expect(table.stdout.contains("maxAttempts") && table.stdout.contains("--max-attempts"), "\(table.stdout)")
    }

    @Test("every command obeys the same layers: the config file sets run's processor, serve's server and the store")
    func commandsObey() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        try "store: \(store)\nllm: mock\nmaxAttempts: 1\nmockFailureRate: 1\n"
            .write(toFile: folder.path("c.yaml"), atomically: true, encoding: .utf8)
        _ = try await TriageBinary.run(["import", "--count", "3", "--config", folder.path("c.yaml")])
        let run = try await TriageBinary.run(["run", "--json", "--config", folder.path("c.yaml")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await TriageBinary.statusCounts(store: store)["failed"] == 3,
                "one attempt each, every one failing, as the file says")
        // TRIAGE_CONFIG names the file when --config does not; a flag still wins.
        let stats = try await TriageBinary.run(["stats", "--json"], environment: ["TRIAGE_CONFIG": folder.path("c.yaml")])
        #expect(stats.stdout.contains("\"failed\" : 3"), "\(stats.stdout) \(stats.stderr)")
    }

    @Test("an unknown key is an error naming the key and the file; a bad value names its variable")
    func errors() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "server:\n  maxRun: 3\n".write(toFile: folder.path("bad.yaml"), atomically: true, encoding: .utf8)
        let unknown = try await TriageBinary.run(["stats", "--config", folder.path("bad.yaml"),
                                                  "--store", "sqlite::memory:"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("bad.yaml, line 2, key 'server.maxRun': unknown key"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("maxRuns"), "the known keys are listed")
        try "rpm: fast\n".write(toFile: folder.path("kind.yaml"), atomically: true, encoding: .utf8)
        let kind = try await TriageBinary.run(["config", "--config", folder.path("kind.yaml")])
        #expect(kind.stderr.contains("kind.yaml, line 1, key 'rpm': expected a number, not 'fast'"), "\(kind.stderr)")
        let variable = try await TriageBinary.run(["run", "--mock-llm", "--store", "sqlite::memory:"],
                                                  environment: ["TRIAGE_MAX_CONCURRENT": "lots"])
        #expect(variable.status != 0)
        #expect(variable.stderr.contains("TRIAGE_MAX_CONCURRENT: expected a whole number, not 'lots'"), "\(variable.stderr)")
        let range = try await TriageBinary.run(["run", "--mock-llm", "--store", "sqlite::memory:"],
                                               environment: ["TRIAGE_MAX_CONCURRENT": "0"])
        #expect(range.stderr.contains("TRIAGE_MAX_CONCURRENT: must be from 1 to 10000, not 0"), "\(range.stderr)")
    }

    @Test("docs/configuration.md's table is the catalog's, with the components' defaults")
    func documentedTable() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = try String(contentsOf: root.appending(path: "docs/configuration.md"), encoding: .utf8)
        let table = try await TriageBinary.run(["config", "--markdown"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(docs.contains(table), "docs/configuration.md's table should read:\n\(table)")
    }
}
