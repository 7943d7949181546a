import ArgumentParser
import AsyncHTTPClient
import Foundation
import TriageCore
import TriageLLM
import Yams

/// Which classifier a command uses and how it reaches its LLM. Flags win over environment variables, which win over
/// the config file.
struct ClassifierOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The classifier: openai (any OpenAI-compatible endpoint), anthropic, or mock. (env: TRIAGE_LLM)",
        valueName: "openai|anthropic|mock"
    ))
    var llm: String?

    @Flag(name: .long, help: "Shorthand for --llm mock: the built-in mock classifier (keyword rules, no network, no cost).")
    var mockLlm = false

    @Option(name: .long, help: ArgumentHelp(
        "The endpoint: for openai the base that /chat/completions follows (default https://api.openai.com/v1; "
            + "Ollama http://localhost:11434/v1, llama.cpp http://127.0.0.1:8080/v1); for anthropic the host. "
            + "(env: TRIAGE_LLM_URL)",
        valueName: "url"
    ))
    var llmUrl: String?

    @Option(name: .long, help: ArgumentHelp("The model name. (env: TRIAGE_MODEL)", valueName: "name"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp(
        "The environment variable holding the API key (default OPENAI_API_KEY or ANTHROPIC_API_KEY).",
        valueName: "name"
    ))
    var apiKeyEnv: String?

    @Option(name: .long, help: ArgumentHelp("Requests per minute, paced evenly. (env: TRIAGE_RPM)", valueName: "n"))
    var rpm: Double?

    @Option(name: .long, help: ArgumentHelp("Tokens per minute, paced evenly. (env: TRIAGE_TPM)", valueName: "n"))
    var tpm: Double?

    @Option(name: .long, help: ArgumentHelp("Deadline of each HTTP request.", valueName: "seconds"))
    var requestTimeout: Double?

    @Option(name: .long, help: ArgumentHelp(
        "How to ask for structured output; lowered automatically when the endpoint refuses it.",
        valueName: "json_schema|json_object|instructions"
    ))
    var outputMode: String?

    @Option(name: .long, help: ArgumentHelp("Azure OpenAI's api-version; sends the key as an api-key header.",
                                            valueName: "version"))
    var azureApiVersion: String?

    @Option(name: .long, help: ArgumentHelp("A taxonomy file (JSON or YAML) to use instead of the built-in one.",
                                            valueName: "file"))
    var taxonomy: String?

    @Option(name: .long, help: ArgumentHelp(
        "A YAML or JSON config file (llm, llmUrl, model, apiKeyEnv, rpm, tpm, requestTimeout, outputMode, "
            + "azureApiVersion, headers, prices). (env: TRIAGE_CONFIG)",
        valueName: "file"
    ))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Median latency the mock classifier simulates.", valueName: "ms"))
    var mockLatencyMs: Double = 0

    @Option(name: .long, help: ArgumentHelp("Share of mock attempts that fail transiently, 0 to 1.", valueName: "rate"))
    var mockFailureRate: Double = 0

    func validate() throws {
        guard mockLatencyMs >= 0 else { throw ValidationError("--mock-latency-ms must be 0 or more") }
        guard (0...1).contains(mockFailureRate) else { throw ValidationError("--mock-failure-rate must be between 0 and 1") }
        if let rpm, rpm <= 0 { throw ValidationError("--rpm must be more than 0") }
        if let tpm, tpm <= 0 { throw ValidationError("--tpm must be more than 0") }
        if let requestTimeout, requestTimeout <= 0 { throw ValidationError("--request-timeout must be more than 0") }
        if let outputMode, LLMConfiguration.OutputMode(rawValue: outputMode) == nil {
            throw ValidationError("--output-mode must be json_schema, json_object or instructions, not '\(outputMode)'")
        }
        if let llm, !["openai", "anthropic", "mock"].contains(llm) {
            throw ValidationError("--llm must be openai, anthropic or mock, not '\(llm)'")
        }
    }

    func loadTaxonomy() throws -> Taxonomy {
        guard let taxonomy else { return .customerSupport }
        return try Taxonomy.load(contentsOf: URL(fileURLWithPath: taxonomy))
    }

    /// Builds the classifier these options name, runs `body` with it, and releases its HTTP client afterwards.
    /// - Parameter concurrency: Sizes the HTTP connection pool.
    /// - Throws: `ValidationError` when no classifier was chosen or a setting is wrong.
    func withClassifier<T>(
        concurrency: Int,
        _ body: (any Classifier, _ name: String) async throws -> T
    ) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let file = try ConfigFile.load(config ?? environment["TRIAGE_CONFIG"])
        guard let choice = mockLlm ? "mock" : (llm ?? environment["TRIAGE_LLM"] ?? file.llm) else {
            throw ValidationError("""
                no classifier chosen: pass --llm openai (any OpenAI-compatible endpoint), --llm anthropic, \
                or --mock-llm for the built-in mock classifier
                """)
        }
        let taxonomy = try loadTaxonomy()
        switch choice {
        case "mock":
            var configuration = MockClassifier.Configuration()
            if mockLatencyMs > 0 {
                configuration.latency = .logNormal(median: .milliseconds(mockLatencyMs), sigma: 0.5)
            }
            configuration.failureRate = mockFailureRate
            return try await body(MockClassifier(taxonomy: taxonomy, configuration: configuration), "mock")
        case "openai", "anthropic":
            let configuration = try llmConfiguration(provider: choice == "openai" ? .openAI : .anthropic,
                                                     file: file, environment: environment)
            var http = HTTPClient.Configuration()
            http.connectionPool = .init(idleTimeout: .seconds(60),
                                        concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, concurrency))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
            let classifier = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                           logger: CLILogging.logger("triage.llm"))
            do {
                let result = try await body(classifier, "\(choice):\(configuration.model)")
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        default:
            throw ValidationError("unknown classifier '\(choice)': expected openai, anthropic or mock")
        }
    }

    /// The base URL of the LLM endpoint the options name, or `nil` for the mock classifier (for readiness probes).
    func llmBaseURL() throws -> String? {
        let environment = ProcessInfo.processInfo.environment
        let file = try ConfigFile.load(config ?? environment["TRIAGE_CONFIG"])
        let choice = mockLlm ? "mock" : (llm ?? environment["TRIAGE_LLM"] ?? file.llm)
        guard let choice, choice != "mock" else { return nil }
        return llmUrl ?? environment["TRIAGE_LLM_URL"] ?? file.llmUrl
            ?? LLMConfiguration.defaultBaseURL(for: choice == "anthropic" ? .anthropic : .openAI)
    }

    /// The config file the options name (or `TRIAGE_CONFIG`), or an empty one.
    func configFile() throws -> ConfigFile {
        try ConfigFile.load(config ?? ProcessInfo.processInfo.environment["TRIAGE_CONFIG"])
    }

    private func llmConfiguration(
        provider: LLMConfiguration.Provider, file: ConfigFile, environment: [String: String]
    ) throws -> LLMConfiguration {
        let baseURL = llmUrl ?? environment["TRIAGE_LLM_URL"] ?? file.llmUrl ?? LLMConfiguration.defaultBaseURL(for: provider)
        guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("the LLM URL '\(baseURL)' is not an http(s) URL")
        }
        let defaultModel = provider == .openAI ? "gpt-4o-mini" : "claude-3-5-haiku-latest"
        let model = self.model ?? environment["TRIAGE_MODEL"] ?? file.model ?? defaultModel
        let keyVariable = apiKeyEnv ?? file.apiKeyEnv ?? (provider == .openAI ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY")
        let apiKey = environment[keyVariable].flatMap { $0.isEmpty ? nil : $0 }
        let hosted = ["api.openai.com", "api.anthropic.com"].contains(url.host ?? "") || (url.host ?? "").hasSuffix(".azure.com")
        if apiKey == nil && hosted {
            throw ValidationError("\(url.host ?? baseURL) needs an API key: set \(keyVariable) (or name another variable with --api-key-env)")
        }
        var configuration = LLMConfiguration(provider: provider, baseURL: baseURL, model: model, apiKey: apiKey)
        configuration.requestsPerMinute = rpm ?? environment["TRIAGE_RPM"].flatMap(Double.init) ?? file.rpm
        configuration.tokensPerMinute = tpm ?? environment["TRIAGE_TPM"].flatMap(Double.init) ?? file.tpm
        if let seconds = requestTimeout ?? file.requestTimeout {
            configuration.requestTimeout = .milliseconds(seconds * 1000)
        }
        if let mode = (outputMode ?? file.outputMode).flatMap(LLMConfiguration.OutputMode.init(rawValue:)) {
            configuration.outputMode = mode
        }
        configuration.azureAPIVersion = azureApiVersion ?? file.azureApiVersion
        configuration.extraHeaders = file.headers ?? [:]
        for (name, price) in file.prices ?? [:] { configuration.prices[name] = price }
        return configuration
    }
}

/// The optional config file: the same settings as the flags, read from YAML or JSON.
struct ConfigFile: Decodable {
    var llm: String?
    var llmUrl: String?
    var model: String?
    var apiKeyEnv: String?
    var rpm: Double?
    var tpm: Double?
    var requestTimeout: Double?
    var outputMode: String?
    var azureApiVersion: String?
    var headers: [String: String]?
    var prices: [String: LLMConfiguration.Price]?
    /// `triage serve`'s settings.
    var server: ServerSection?

    struct ServerSection: Decodable {
        /// Bearer tokens accepted by the API (also `TRIAGE_API_KEYS`).
        var apiKeys: [String]?
        /// Receivers of every run's end event (also `TRIAGE_WEBHOOK_URLS`).
        var webhooks: [String]?
        /// Paths outside /v1 that need a key too, such as /metrics.
        var protect: [String]?
        var maxBodyBytes: Int?
        /// Host names the server answers to besides IPs, localhost and --host (also `TRIAGE_ALLOWED_HOSTS`).
        var allowedHosts: [String]?
        /// Hosts a run's own webhook may name: exact or `*.domain` (also `TRIAGE_WEBHOOK_HOSTS`).
        var webhookHosts: [String]?
        /// Let a run's webhook reach loopback and private addresses (also `TRIAGE_WEBHOOK_ALLOW_PRIVATE=1`).
        var webhookAllowPrivate: Bool?
        /// API runs at once.
        var maxRuns: Int?
    }

    static func load(_ path: String?) throws -> ConfigFile {
        guard let path else { return ConfigFile() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CLIError("\(path): cannot read the config file")
        }
        do {
            return try YAMLDecoder().decode(ConfigFile.self, from: text)
        } catch let error as DecodingError {
            throw CLIError("\(path): \(error.readableDescription)")
        } catch {
            throw CLIError("\(path): not valid YAML or JSON (\(error))")
        }
    }
}
