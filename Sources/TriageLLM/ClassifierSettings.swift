import Foundation
import TriageCore

/// Which classifier to use and how it reaches its LLM, resolved from four sources by one rule for every setting: a
/// flag wins over the environment, which wins over the config file, which wins over the default. ``settings`` lists
/// each setting with its flag, variable, file key and default; docs/llm.md's table is ``markdownTable``, checked by a
/// test. The command line only parses flags into a ``Layer``.
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

    /// What one source says: the flags, the environment, or the config file. `nil` is "not said here".
    public struct Layer: Sendable, Decodable {
        public var llm: Choice?
        public var llmUrl: String?
        public var model: String?
        public var apiKeyEnv: String?
        public var rpm: Double?
        public var tpm: Double?
        public var requestTimeout: Double?
        public var outputMode: LLMConfiguration.OutputMode?
        public var azureApiVersion: String?
        public var taxonomy: String?
        public var examples: String?
        public var examplesPerQuery: Int?
        public var headers: [String: String]?
        public var prices: [String: LLMConfiguration.Price]?

        public init() {}

        /// The settings the environment holds, by each setting's variable.
        /// - Throws: ``Invalid`` naming the variable whose value cannot be read.
        public init(environment: [String: String]) throws(Invalid) {
            for setting in ClassifierSettings.settings {
                guard let name = setting.environment, let text = environment[name], !text.isEmpty else { continue }
                guard setting.read(text, &self) else {
                    throw Invalid("\(name): expected \(setting.expected), not '\(text)'")
                }
            }
        }
    }

    /// A setting, where each source names it, and what applies when none does.
    public struct Setting: Sendable {
        public let flag: String?
        public let environment: String?
        public let fileKey: String
        public let defaultValue: String
        let expected: String
        /// Reads the environment's text into the layer; `false` if it cannot be read.
        let read: @Sendable (String, inout Layer) -> Bool
        /// Fills the setting in `layer` from `lower` unless `layer` already says it.
        let fill: @Sendable (inout Layer, Layer) -> Void
    }

    /// Why the settings cannot be used, in words a person can act on.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// What the settings resolve to.
    public struct Resolved: Sendable {
        /// The LLM's configuration, or `nil` for the mock classifier.
        public var llm: LLMConfiguration?
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

    /// Every setting, in the order docs/llm.md lists them.
    public static let settings: [Setting] = [
        setting(\.llm, flag: "--llm", environment: "TRIAGE_LLM", file: "llm",
                default: "none: a classifier must be chosen", expected: "openai, anthropic or mock", Choice.init),
        setting(\.llmUrl, flag: "--llm-url", environment: "TRIAGE_LLM_URL", file: "llmUrl",
                default: "`https://api.openai.com/v1` / `https://api.anthropic.com`", expected: "a URL") { $0 },
        setting(\.model, flag: "--model", environment: "TRIAGE_MODEL", file: "model",
                default: "`gpt-4o-mini` / `claude-3-5-haiku-latest`", expected: "a model name") { $0 },
        setting(\.apiKeyEnv, flag: "--api-key-env", environment: "TRIAGE_API_KEY_ENV", file: "apiKeyEnv",
                default: "`OPENAI_API_KEY` / `ANTHROPIC_API_KEY`", expected: "a variable name") { $0 },
        setting(\.rpm, flag: "--rpm", environment: "TRIAGE_RPM", file: "rpm",
                default: "unlimited", expected: "a number", Double.init),
        setting(\.tpm, flag: "--tpm", environment: "TRIAGE_TPM", file: "tpm",
                default: "unlimited", expected: "a number", Double.init),
        setting(\.requestTimeout, flag: "--request-timeout", environment: "TRIAGE_REQUEST_TIMEOUT",
                file: "requestTimeout", default: "60 (seconds)", expected: "a number of seconds", Double.init),
        setting(\.outputMode, flag: "--output-mode", environment: "TRIAGE_OUTPUT_MODE", file: "outputMode",
                default: "`json_schema`", expected: "json_schema, json_object or instructions",
                LLMConfiguration.OutputMode.init),
        setting(\.azureApiVersion, flag: "--azure-api-version", environment: "TRIAGE_AZURE_API_VERSION",
                file: "azureApiVersion", default: "none (not Azure)", expected: "a version") { $0 },
        setting(\.taxonomy, flag: "--taxonomy", environment: "TRIAGE_TAXONOMY", file: "taxonomy",
                default: "the built-in customer-support taxonomy", expected: "a file path") { $0 },
        setting(\.examples, flag: "--examples", environment: "TRIAGE_EXAMPLES", file: "examples",
                default: "none", expected: "a file path, store, or none") { $0 },
        setting(\.examplesPerQuery, flag: "--examples-per-query", environment: "TRIAGE_EXAMPLES_PER_QUERY",
                file: "examplesPerQuery", default: "8", expected: "a whole number", Int.init),
        setting(\.headers, flag: nil, environment: nil, file: "headers",
                default: "none (extra HTTP headers)", expected: "a map") { _ in nil },
        setting(\.prices, flag: nil, environment: nil, file: "prices",
                default: "a few well-known models", expected: "a map") { _ in nil },
    ]

    private static func setting<Value: Sendable>(
        _ path: WritableKeyPath<Layer, Value?>, flag: String?, environment: String?, file: String,
        default defaultValue: String, expected: String, _ parse: @escaping @Sendable (String) -> Value?
    ) -> Setting {
        nonisolated(unsafe) let path = path  // a key path is immutable
        return Setting(
            flag: flag, environment: environment, fileKey: file, defaultValue: defaultValue, expected: expected,
            read: { text, layer in
                guard let value = parse(text) else { return false }
                layer[keyPath: path] = value
                return true
            },
            fill: { layer, lower in
                if layer[keyPath: path] == nil { layer[keyPath: path] = lower[keyPath: path] }
            }
        )
    }

    /// The sources merged by the one rule: each setting from the first source that says it.
    public static func merge(flags: Layer, environment: Layer, file: Layer) -> Layer {
        var merged = flags
        for setting in settings {
            setting.fill(&merged, environment)
            setting.fill(&merged, file)
        }
        return merged
    }

    /// Resolves the sources into a classifier's configuration.
    /// - Parameter variables: The process environment, where the API key is read from.
    /// - Throws: ``Invalid`` when no classifier is chosen, the URL is not http(s), a number is out of range, or a
    ///   hosted endpoint has no API key.
    public static func resolve(flags: Layer, environment: Layer, file: Layer,
                               variables: [String: String]) throws(Invalid) -> Resolved {
        let merged = merge(flags: flags, environment: environment, file: file)
        for (name, value) in [("rpm", merged.rpm), ("tpm", merged.tpm), ("requestTimeout", merged.requestTimeout)] {
            if let value, !(value > 0) { throw Invalid("\(name) must be more than 0, not \(value)") }
        }
        if let count = merged.examplesPerQuery, !(1...64).contains(count) {
            throw Invalid("examplesPerQuery must be from 1 to 64, not \(count)")
        }
        guard let choice = merged.llm else {
            throw Invalid("""
                no classifier chosen: pass --llm openai (any OpenAI-compatible endpoint), --llm anthropic, \
                or --mock-llm for the built-in mock classifier
                """)
        }
        let provider: LLMConfiguration.Provider
        switch choice {
        case .mock: return Resolved(llm: nil, taxonomy: merged.taxonomy, examples: examples(merged))
        case .openai: provider = .openAI
        case .anthropic: provider = .anthropic
        }
        let baseURL = merged.llmUrl ?? LLMConfiguration.defaultBaseURL(for: provider)
        guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", let host = url.host,
              !host.isEmpty else {
            throw Invalid("the LLM URL '\(baseURL)' is not an http(s) URL")
        }
        let keyVariable = merged.apiKeyEnv ?? (provider == .openAI ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY")
        let apiKey = variables[keyVariable].flatMap { $0.isEmpty ? nil : $0 }
        if apiKey == nil && isHosted(host) {
            throw Invalid("\(host) needs an API key: set \(keyVariable) (or name another variable with --api-key-env)")
        }
        let model = merged.model ?? (provider == .openAI ? "gpt-4o-mini" : "claude-3-5-haiku-latest")
        var configuration = LLMConfiguration(provider: provider, baseURL: baseURL, model: model, apiKey: apiKey)
        configuration.requestsPerMinute = merged.rpm
        configuration.tokensPerMinute = merged.tpm
        if let seconds = merged.requestTimeout {
            configuration.requestTimeout = .milliseconds(seconds * 1000)
        }
        configuration.outputMode = merged.outputMode ?? configuration.outputMode
        configuration.azureAPIVersion = merged.azureApiVersion
        configuration.extraHeaders = merged.headers ?? [:]
        for (name, price) in merged.prices ?? [:] { configuration.prices[name] = price }
        configuration.examplesPerQuery = merged.examplesPerQuery ?? configuration.examplesPerQuery
        return Resolved(llm: configuration, taxonomy: merged.taxonomy, examples: examples(merged))
    }

    /// The examples' source: `none` for none, `store` for the store's labelled queries, otherwise a file.
    private static func examples(_ merged: Layer) -> ExampleSource? {
        switch merged.examples?.lowercased() {
        case nil, "none": nil
        case "store": .store
        default: merged.examples.map(ExampleSource.file)
        }
    }

    /// The providers' own endpoints, which never answer without a key (a local server may).
    static func isHosted(_ host: String) -> Bool {
        ["api.openai.com", "api.anthropic.com"].contains(host) || host.hasSuffix(".azure.com")
    }

    /// The table of docs/llm.md: every setting, where each source names it, and its default.
    public static var markdownTable: String {
        func code(_ text: String?) -> String { text.map { "`\($0)`" } ?? "" }
        let rows = settings.map { setting in
            "| \(code(setting.flag)) | \(code(setting.environment)) | \(code(setting.fileKey)) | \(setting.defaultValue) |"
        }
        return (["| flag | environment | config file | default |", "|---|---|---|---|"] + rows)
            .joined(separator: "\n")
    }
}
