import Foundation
import TestSupport
import Testing

/// The command line against the fake LLM provider on loopback.
@Suite("triage with an HTTP LLM")
struct CLILLMTests {
    @Test("classify prints one validated classification as JSON")
    func classifyOne() async throws {
        let server = FakeLLMServer { _ in .classification(category: "payments", priority: "high") }
        let result = try await server.run {
            try await TriageBinary.run(
                ["classify", "My card was declined twice", "--llm", "openai", "--llm-url", server.openAIBaseURL,
                 "--model", "fake"],
                environment: ["OPENAI_API_KEY": "sk-cli-SECRET"]
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["category"] as? String == "payments")
        #expect(object["priority"] as? String == "high")
        #expect(server.requests.first?.headers["authorization"] == "Bearer sk-cli-SECRET")
    }

    @Test("run over HTTP classifies the backlog; a refused key exits 2 and leaves it pending, the key unseen")
    func runOverHTTP() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("t.sqlite"))"
        _ = try await TriageBinary.run(["import", "--count", "30", "--store", store])

        let refusing = FakeLLMServer { _ in
            .status(401, body: #"{"error":{"message":"Incorrect API key provided: sk-cli-SECRET"}}"#)
        }
        let refused = try await refusing.run {
            try await TriageBinary.run(
                ["run", "--llm", "openai", "--llm-url", refusing.openAIBaseURL, "--store", store, "--api-key-env", "MY_KEY"],
                environment: ["MY_KEY": "sk-cli-SECRET", "TRIAGE_LOG_LEVEL": "debug"]
            )
        }
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("the API key was refused"))
        #expect(!(refused.stdout + refused.stderr).contains("SECRET"))
        let pending = try await TriageBinary.run(["stats", "--store", store, "--json"])
        #expect(pending.stdout.contains("\"pending\" : 30"))

        let working = FakeLLMServer { _ in .classification(category: "orders_shipping") }
        let run = try await working.run {
            try await TriageBinary.run(
                ["run", "--llm", "openai", "--llm-url", working.openAIBaseURL, "--model", "fake", "--rpm", "6000",
                 "--store", store, "--json"],
                environment: ["OPENAI_API_KEY": "sk-cli-SECRET"]
            )
        }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"classified\" : 30"))
        #expect(run.stdout.contains("\"classifier\" : \"openai:fake\""))
    }

    @Test("a hosted endpoint without a key is refused before anything is sent")
    func missingKey() async throws {
        let result = try await TriageBinary.run(["classify", "hello", "--llm", "openai"], environment: ["OPENAI_API_KEY": ""])
        #expect(result.status != 0)
        #expect(result.stderr.contains("api.openai.com needs an API key: set OPENAI_API_KEY"))
    }
}

@Suite("triage configuration file")
struct ConfigFileTests {
    @Test("settings come from a config file; flags win over it")
    func configFile() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let server = FakeLLMServer { _ in .classification(category: "billing") }
        let result = try await server.run {
            try folder.write("triage.yaml", """
                llm: openai
                llmUrl: \(server.openAIBaseURL)
                model: from-file
                apiKeyEnv: FILE_KEY
                headers:
                  X-Team: support
                """)
            return try await TriageBinary.run(
                ["classify", "Where is my invoice?", "--config", folder.path("triage.yaml"), "--model", "from-flag"],
                environment: ["FILE_KEY": "sk-file"]
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        let sent = try #require(server.requests.first)
        #expect(sent.json["model"] as? String == "from-flag")
        #expect(sent.headers["authorization"] == "Bearer sk-file")
        #expect(sent.headers["x-team"] == "support")
    }

    @Test("a broken config file is named with the field at fault")
    func brokenConfigFile() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("bad.yaml", "llm: openai\nrpm: lots\n")
        let result = try await TriageBinary.run(["classify", "hi", "--config", folder.path("bad.yaml")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bad.yaml, line 2, key 'rpm': expected a number, not 'lots'"), "\(result.stderr)")
    }
}
