import Configuration
import Foundation
import TriageCore

/// Which classifier to use and how it reaches its LLM, read through one ``ConfigReader`` whose layers are the
/// command line's (flags over environment over the config file over these defaults).
///
/// Keys: `llm`, `llmUrl`, `model`, `apiKeyEnv`, `rpm`, `tpm`, `requestTimeout`, `outputMode`, `azureApiVersion`,
/// `taxonomy`, `examples`, `examplesPerQuery`, `answerFromExamples`, `candidates`, `maxTextBytes`, `redact`, `mockLatencyMs`, `mockFailureRate`;
/// and from the file only, the maps
/// `headers` and `prices` (``FileMaps``).
public enum ClassifierSettings {
    /// The classifier families.
    public enum Choice: String, Sendable, Hashable, CaseIterable, Codable {
        /// Any OpenAI-compatible chat-completions endpoint.
        case openai
        /// Anthropic's Messages API.
        case anthropic
        /// The built-in mock classifier: keyword rules, no network, no cost.
        case mock
    }

    /// What the settings resolve to.
    public struct Resolved: Sendable {
        /// The LLM's configuration, or `nil` for the mock classifier.
        public var llm: LLMConfiguration?
        /// The mock classifier's configuration, when it is the one chosen.
        public var mock: MockClassifier.Configuration
        /// A taxonomy file to use instead of the built-in taxonomy.
        public var taxonomy: String?
        /// Where the labelled examples shown to the model come from; `nil` for none.
        public var examples: ExampleSource?
    }

    /// Where labelled examples come from.
    public enum ExampleSource: Sendable, Hashable {
        /// A JSONL, JSON or CSV file.
        case file(String)
        /// The store's queries with an expected category or a person's correction.
        case store
    }

    /// The config file's maps, which a ``ConfigReader`` cannot list the keys of: extra HTTP headers, and prices by
    /// model.
    public struct FileMaps: Sendable {
        public var headers: [String: String]
        public var prices: [String: LLMConfiguration.Price]

        public init(headers: [String: String] = [:], prices: [String: LLMConfiguration.Price] = [:]) {
            self.headers = headers
            self.prices = prices
        }
    }

    /// The taxonomy file the settings name (`taxonomy`), if any: what `import`, `label` and `eval` check labels
    /// against, and what a classifier classifies with.
    public static func taxonomyPath(_ config: ConfigReader) -> String? {
        config.string(forKey: "taxonomy")
    }

    /// Resolves the settings into a classifier's configuration.
    /// - Parameter variables: The process environment, where the API key is read from (the variable `apiKeyEnv`
    ///   names).
    /// - Throws: ``ConfigurationError`` naming the key: no classifier chosen, a URL that is not http(s), a number
    ///   out of range, a hosted endpoint without an API key.
    public static func resolve(config: ConfigReader, maps: FileMaps = FileMaps(), variables: [String: String])
        throws -> Resolved {
        // Every setting is read, whichever classifier is chosen: `triage config` shows them all.
        let choice: Choice? = try config.choice("llm")
        let llmUrl = config.string(forKey: "llmUrl")
        let model = config.string(forKey: "model")
        let apiKeyEnv = config.string(forKey: "apiKeyEnv")
        let rpm = try config.double("rpm", minimum: 0, exclusive: true)
        let tpm = try config.double("tpm", minimum: 0, exclusive: true)
        let requestTimeout = try config.double("requestTimeout", default: 60, minimum: 0, exclusive: true)
        let outputMode = try config.choice("outputMode", default: LLMConfiguration.OutputMode.jsonSchema)
        let azureApiVersion = config.string(forKey: "azureApiVersion")
        let taxonomy = taxonomyPath(config)
        let examples = examples(config.string(forKey: "examples"))
        let examplesPerQuery = try config.int("examplesPerQuery", default: 8, in: 1...64)
        let answerText = config.string(forKey: "answerFromExamples", default: "auto")
        guard let answerFromExamples = LLMConfiguration.AnswerFromExamples(answerText) else {
            throw ConfigurationError("answerFromExamples", "must be auto, off, or a threshold from 0 to 1, not '\(answerText)'")
        }
        let candidates = try config.int("candidates", in: 0...1_000)
        let maxTextBytes = try config.int("maxTextBytes", default: SupportQuery.defaultMaxTextBytes, in: 1...Int.max)
        let redact = config.bool(forKey: "redact")
        var mock = MockClassifier.Configuration()
        let latency = try config.double("mockLatencyMs", default: 0, minimum: 0)
        if latency > 0 { mock.latency = .logNormal(median: .milliseconds(latency), sigma: 0.5) }
        mock.failureRate = try config.double("mockFailureRate", default: mock.failureRate, minimum: 0)
        if mock.failureRate > 1 { throw ConfigurationError("mockFailureRate", "must be at most 1, not \(mock.failureRate)") }

        guard let choice else {
            throw ConfigurationError("llm", """
                no classifier chosen: pass --llm openai (any OpenAI-compatible endpoint), --llm anthropic, \
                or --mock-llm for the built-in mock classifier
                """)
        }
        let provider: LLMConfiguration.Provider
        switch choice {
        case .mock: return Resolved(llm: nil, mock: mock, taxonomy: taxonomy, examples: examples)
        case .openai: provider = .openAI
        case .anthropic: provider = .anthropic
        }
        let baseURL = llmUrl ?? LLMConfiguration.defaultBaseURL(for: provider)
        guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", let host = url.host,
              !host.isEmpty else {
            throw ConfigurationError("llmUrl", "the LLM URL '\(baseURL)' is not an http(s) URL")
        }
        let keyVariable = apiKeyEnv ?? (provider == .openAI ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY")
        let apiKey = variables[keyVariable].flatMap { $0.isEmpty ? nil : $0 }
        if apiKey == nil && isHosted(host) {
            throw ConfigurationError("apiKeyEnv", """
                \(host) needs an API key: set \(keyVariable) (or name another variable with --api-key-env)
                """)
        }
        var configuration = LLMConfiguration(provider: provider, baseURL: baseURL,
                                             model: model ?? LLMConfiguration.defaultModel(for: provider),
                                             apiKey: apiKey)
        configuration.requestsPerMinute = rpm
        configuration.tokensPerMinute = tpm
        configuration.requestTimeout = .milliseconds(requestTimeout * 1000)
        configuration.outputMode = outputMode
        configuration.azureAPIVersion = azureApiVersion
        configuration.extraHeaders = maps.headers
        for (name, price) in maps.prices { configuration.prices[name] = price }
        configuration.examplesPerQuery = examplesPerQuery
        configuration.answerFromExamples = answerFromExamples
        configuration.candidates = candidates
        configuration.maxTextBytes = maxTextBytes
        configuration.redact = redact
        return Resolved(llm: configuration, mock: mock, taxonomy: taxonomy, examples: examples)
    }

    /// The examples' source: `none` for none, `store` for the store's labelled queries, otherwise a file.
    private static func examples(_ setting: String?) -> ExampleSource? {
        switch setting?.lowercased() {
        case nil, "none": nil
        case "store": .store
        default: setting.map(ExampleSource.file)
        }
    }

    /// The providers' own endpoints, which never answer without a key (a local server may).
    static func isHosted(_ host: String) -> Bool {
        ["api.openai.com", "api.anthropic.com"].contains(host) || host.hasSuffix(".azure.com")
    }
}
