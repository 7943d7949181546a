import Foundation
import Testing
import TriageCore
import TriageLLM

@Suite("ClassifierSettings")
struct ClassifierSettingsTests {
    typealias Layer = ClassifierSettings.Layer

    func layer(_ configure: (inout Layer) -> Void) -> Layer {
        var layer = Layer()
        configure(&layer)
        return layer
    }

    @Test("every setting: a flag wins over the environment, the environment over the file, the file over the default")
    func precedence() throws {
        // Each source says every setting the one below it says, with its own value.
        func full(_ tag: String, _ number: Double) -> Layer {
            layer {
                $0.llm = .openai
                $0.llmUrl = "http://127.0.0.1:1/\(tag)"
                $0.model = "model-\(tag)"
                $0.apiKeyEnv = "KEY_\(tag)"
                $0.rpm = number
                $0.tpm = number * 10
                $0.requestTimeout = number
                $0.azureApiVersion = "v-\(tag)"
                $0.taxonomy = "\(tag).yaml"
            }
        }
        var file = full("file", 3)
        file.outputMode = .instructions
        file.headers = ["x-team": "support"]
        var environment = full("env", 2)
        environment.outputMode = .jsonObject
        var flags = full("flag", 1)
        flags.outputMode = .jsonSchema
        let variables = ["KEY_flag": "k1", "KEY_env": "k2", "KEY_file": "k3"]

        func resolved(_ flags: Layer, _ environment: Layer, _ file: Layer) throws -> LLMConfiguration {
            try #require(try ClassifierSettings.resolve(flags: flags, environment: environment, file: file,
                                                       variables: variables).llm)
        }
        let fromFlags = try resolved(flags, environment, file)
        #expect(fromFlags.baseURL.hasSuffix("/flag") && fromFlags.model == "model-flag" && fromFlags.apiKey == "k1")
        #expect(fromFlags.requestsPerMinute == 1 && fromFlags.tokensPerMinute == 10)
        #expect(fromFlags.requestTimeout == .seconds(1) && fromFlags.outputMode == .jsonSchema)
        #expect(fromFlags.azureAPIVersion == "v-flag" && fromFlags.extraHeaders == ["x-team": "support"])

        let fromEnvironment = try resolved(Layer(), environment, file)
        #expect(fromEnvironment.model == "model-env" && fromEnvironment.apiKey == "k2")
        #expect(fromEnvironment.requestTimeout == .seconds(2) && fromEnvironment.outputMode == .jsonObject)
        #expect(fromEnvironment.azureAPIVersion == "v-env")

        let fromFile = try resolved(Layer(), Layer(), file)
        #expect(fromFile.model == "model-file" && fromFile.apiKey == "k3" && fromFile.requestsPerMinute == 3)
        #expect(fromFile.requestTimeout == .seconds(3) && fromFile.outputMode == .instructions)

        let defaults = try #require(try ClassifierSettings.resolve(
            flags: layer { $0.llm = .anthropic }, environment: Layer(), file: Layer(),
            variables: ["ANTHROPIC_API_KEY": "a"]
        ).llm)
        #expect(defaults.baseURL == "https://api.anthropic.com" && defaults.model == "claude-3-5-haiku-latest")
        #expect(defaults.apiKey == "a" && defaults.requestTimeout == .seconds(60) && defaults.outputMode == .jsonSchema)
        #expect(defaults.requestsPerMinute == nil && defaults.azureAPIVersion == nil)
    }

    @Test("the environment is read by each setting's variable, and a value it cannot read is an error naming it")
    func environment() throws {
        let layer = try Layer(environment: [
            "TRIAGE_LLM": "anthropic", "TRIAGE_REQUEST_TIMEOUT": "2.5", "TRIAGE_OUTPUT_MODE": "json_object",
            "TRIAGE_API_KEY_ENV": "MY_KEY", "TRIAGE_AZURE_API_VERSION": "2024-10-21", "TRIAGE_TAXONOMY": "t.yaml",
            "UNRELATED": "x",
        ])
        #expect(layer.llm == .anthropic && layer.requestTimeout == 2.5 && layer.outputMode == .jsonObject)
        #expect(layer.apiKeyEnv == "MY_KEY" && layer.azureApiVersion == "2024-10-21" && layer.taxonomy == "t.yaml")
        #expect(throws: ClassifierSettings.Invalid.self) { try Layer(environment: ["TRIAGE_RPM": "lots"]) }
        do {
            _ = try Layer(environment: ["TRIAGE_LLM": "gpt"])
            Issue.record("an unknown classifier must be refused")
        } catch {
            #expect(error.description == "TRIAGE_LLM: expected openai, anthropic or mock, not 'gpt'")
        }
    }

    @Test("the rules after merging: a classifier must be chosen, URLs are http(s), numbers above 0, hosted endpoints need a key")
    func rules() throws {
        func error(_ flags: Layer, variables: [String: String] = [:]) -> String? {
            do {
                _ = try ClassifierSettings.resolve(flags: flags, environment: Layer(), file: Layer(), variables: variables)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(error(Layer())?.hasPrefix("no classifier chosen") == true)
        #expect(error(layer { $0.llm = .openai; $0.llmUrl = "ftp://x" }) == "the LLM URL 'ftp://x' is not an http(s) URL")
        #expect(error(layer { $0.llm = .mock; $0.rpm = 0 }) == "rpm must be more than 0, not 0.0")
        #expect(error(layer { $0.llm = .openai })?.hasPrefix("api.openai.com needs an API key: set OPENAI_API_KEY") == true)
        #expect(error(layer { $0.llm = .openai }, variables: ["OPENAI_API_KEY": "sk"]) == nil)
        #expect(error(layer { $0.llm = .openai; $0.llmUrl = "http://127.0.0.1:8080/v1" }) == nil,
                "a local server needs no key")
        let mock = try ClassifierSettings.resolve(flags: layer { $0.llm = .mock; $0.taxonomy = "t.yaml" },
                                                  environment: Layer(), file: Layer(), variables: [:])
        #expect(mock.llm == nil && mock.taxonomy == "t.yaml")
    }

    @Test("docs/llm.md's settings table is the one ClassifierSettings resolves by")
    func documentedTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = try String(contentsOf: root.appending(path: "docs/llm.md"), encoding: .utf8)
        #expect(docs.contains(ClassifierSettings.markdownTable), """
            docs/llm.md's table differs from ClassifierSettings.settings; it should read:
            \(ClassifierSettings.markdownTable)
            """)
    }
}
