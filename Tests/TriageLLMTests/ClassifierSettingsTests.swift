import Configuration
import Foundation
import Testing
import TriageCore
import TriageLLM

/// The classifier's settings read through a ``ConfigReader`` (the layers themselves are the command line's, tested
/// there): defaults, rules, and errors naming the key.
@Suite("ClassifierSettings")
struct ClassifierSettingsTests {
    func reader(_ values: [String: ConfigContent]) -> ConfigReader {
        ConfigReader(provider: InMemoryProvider(values: Dictionary(uniqueKeysWithValues: values.map {
            (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue($0.value, isSecret: false))
        })))
    }

    func resolve(_ values: [String: ConfigContent], variables: [String: String] = [:],
                 maps: ClassifierSettings.FileMaps = .init()) throws -> ClassifierSettings.Resolved {
        try ClassifierSettings.resolve(config: reader(values), maps: maps, variables: variables)
    }

    @Test("every setting is read from its key; a provider's defaults fill the rest")
    func keysAndDefaults() throws {
        let llm = try #require(try resolve([
            "llm": .string("openai"), "llmUrl": .string("http://127.0.0.1:1/v1"), "model": .string("m-1"),
            "apiKeyEnv": .string("MY_KEY"), "rpm": .double(120), "tpm": .double(9_000), "requestTimeout": .double(2.5),
            "outputMode": .string("json_object"), "azureApiVersion": .string("2024-10-21"),
            "examplesPerQuery": .int(4),
        ], variables: ["MY_KEY": "k1"], maps: .init(headers: ["x-team": "support"])).llm)
        #expect(llm.baseURL == "http://127.0.0.1:1/v1" && llm.model == "m-1" && llm.apiKey == "k1")
        #expect(llm.requestsPerMinute == 120 && llm.tokensPerMinute == 9_000)
        #expect(llm.requestTimeout == .milliseconds(2_500) && llm.outputMode == .jsonObject)
        #expect(llm.azureAPIVersion == "2024-10-21" && llm.extraHeaders == ["x-team": "support"])
        #expect(llm.examplesPerQuery == 4)

        let defaults = try #require(try resolve(["llm": .string("anthropic")],
                                                variables: ["ANTHROPIC_API_KEY": "a"]).llm)
        #expect(defaults.baseURL == "https://api.anthropic.com" && defaults.model == "claude-3-5-haiku-latest")
        #expect(defaults.apiKey == "a" && defaults.requestTimeout == .seconds(60) && defaults.outputMode == .jsonSchema)
        #expect(defaults.requestsPerMinute == nil && defaults.azureAPIVersion == nil && defaults.examplesPerQuery == 8)
    }

    @Test("the rules: a classifier must be chosen, URLs are http(s), numbers in range, hosted endpoints need a key")
    func rules() throws {
        func error(_ values: [String: ConfigContent], variables: [String: String] = [:]) -> String? {
            do {
                _ = try resolve(values, variables: variables)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error([:])?.hasPrefix("llm: no classifier chosen") == true)
        #expect(error(["llm": .string("gpt")]) == "llm: must be one of openai, anthropic, mock, not 'gpt'")
        #expect(error(["llm": .string("openai"), "llmUrl": .string("ftp://x")])
                == "llmUrl: the LLM URL 'ftp://x' is not an http(s) URL")
        #expect(error(["llm": .string("mock"), "rpm": .double(0)]) == "rpm: must be more than 0, not 0")
        #expect(error(["llm": .string("mock"), "examplesPerQuery": .int(65)])
                == "examplesPerQuery: must be from 1 to 64, not 65")
        #expect(error(["llm": .string("openai")])?.contains("api.openai.com needs an API key: set OPENAI_API_KEY") == true)
        #expect(error(["llm": .string("openai")], variables: ["OPENAI_API_KEY": "sk"]) == nil)
        #expect(error(["llm": .string("openai"), "llmUrl": .string("http://127.0.0.1:8080/v1")]) == nil,
                "a local server needs no key")
        let mock = try resolve(["llm": .string("mock"), "taxonomy": .string("t.yaml"), "mockFailureRate": .double(0.5)])
        #expect(mock.llm == nil && mock.taxonomy == "t.yaml" && mock.mock.failureRate == 0.5)
        #expect(error(["llm": .string("mock"), "mockFailureRate": .double(2)]) == "mockFailureRate: must be at most 1, not 2.0")
    }
}
