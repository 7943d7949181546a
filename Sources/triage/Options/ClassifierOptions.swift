import ArgumentParser
import AsyncHTTPClient
import Foundation
import TriageCore
import TriageIngest
import TriageLLM
import TriageServer
import Yams

/// Which classifier a command uses and how it reaches its LLM. Flags win over environment variables, which win over
/// the config file.
struct ClassifierOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The classifier: openai (any OpenAI-compatible endpoint), anthropic, or mock. (env: TRIAGE_LLM)",
        valueName: "openai|anthropic|mock"
    ))
    var llm: ClassifierSettings.Choice?

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
        "The environment variable holding the API key (default OPENAI_API_KEY or ANTHROPIC_API_KEY). "
            + "(env: TRIAGE_API_KEY_ENV)",
        valueName: "name"
    ))
    var apiKeyEnv: String?

    @Option(name: .long, help: ArgumentHelp(
        "The API key's requests per minute, paced evenly and shared by every triage process on the store with the "
            + "same endpoint and key: give each the key's whole limit. (env: TRIAGE_RPM)",
        valueName: "n"))
    var rpm: Double?

    @Option(name: .long, help: ArgumentHelp(
        "The API key's tokens per minute, paced and shared like --rpm. (env: TRIAGE_TPM)", valueName: "n"))
    var tpm: Double?

    @Option(name: .long, help: ArgumentHelp("Deadline of each HTTP request. (env: TRIAGE_REQUEST_TIMEOUT)",
                                            valueName: "seconds"))
    var requestTimeout: Double?

    @Option(name: .long, help: ArgumentHelp(
        "How to ask for structured output; lowered automatically when the endpoint refuses it. "
            + "(env: TRIAGE_OUTPUT_MODE)",
        valueName: "json_schema|json_object|instructions"
    ))
    var outputMode: LLMConfiguration.OutputMode?

    @Option(name: .long, help: ArgumentHelp(
        "Azure OpenAI's api-version; sends the key as an api-key header. (env: TRIAGE_AZURE_API_VERSION)",
        valueName: "version"
    ))
    var azureApiVersion: String?

    @Option(name: .long, help: ArgumentHelp(
        "A taxonomy file (JSON or YAML) to use instead of the built-in one. (env: TRIAGE_TAXONOMY)",
        valueName: "file"
    ))
    var taxonomy: String?

    @Option(name: .long, help: ArgumentHelp(
        "Labelled examples: a file (JSONL, JSON or CSV with text and category, optionally priority and "
            + "sentiment), 'store' for the store's queries with expected labels or corrections, or 'none'. Before "
            + "each query the model sees the most similar ones, and their agreement with its answer is the "
            + "confidence. (env: TRIAGE_EXAMPLES)",
        valueName: "file|store|none"
    ))
    var examples: String?

    @Option(name: .long, help: ArgumentHelp("Examples shown before each query, 1 to 64. (env: TRIAGE_EXAMPLES_PER_QUERY)",
                                            valueName: "n"))
    var examplesPerQuery: Int?

    @Option(name: .long, help: ArgumentHelp(
        "A YAML or JSON config file (llm, llmUrl, model, apiKeyEnv, rpm, tpm, requestTimeout, outputMode, "
            + "azureApiVersion, taxonomy, headers, prices, server). Flags win over the environment, which wins "
            + "over the file. (env: TRIAGE_CONFIG)",
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
    }

    /// What the flags say; every other source and the rule between them are ``ClassifierSettings``'.
    var flags: ClassifierSettings.Layer {
        var layer = ClassifierSettings.Layer()
        layer.llm = mockLlm ? .mock : llm
        layer.llmUrl = llmUrl
        layer.model = model
        layer.apiKeyEnv = apiKeyEnv
        layer.rpm = rpm
        layer.tpm = tpm
        layer.requestTimeout = requestTimeout
        layer.outputMode = outputMode
        layer.azureApiVersion = azureApiVersion
        layer.taxonomy = taxonomy
        layer.examples = examples
        layer.examplesPerQuery = examplesPerQuery
        return layer
    }

    /// The config file the options name (or `TRIAGE_CONFIG`), or an empty one.
    func configFile() throws -> ConfigFile {
        try ConfigFile.load(config ?? ProcessInfo.processInfo.environment["TRIAGE_CONFIG"])
    }

    /// The settings resolved from the flags, the environment and the config file.
    func resolved() throws -> ClassifierSettings.Resolved {
        let environment = ProcessInfo.processInfo.environment
        do {
            return try ClassifierSettings.resolve(flags: flags, environment: ClassifierSettings.Layer(environment: environment),
                                                  file: try configFile().classifier, variables: environment)
        } catch let invalid as ClassifierSettings.Invalid {
            throw ValidationError(invalid.description)
        }
    }

    /// Builds the classifier these options name, runs `body` with it, and releases its HTTP client afterwards.
    /// - Parameter concurrency: Sizes the HTTP connection pool.
    /// - Throws: `ValidationError` when no classifier was chosen or a setting is wrong.
    /// - Parameter examples: A pool to use instead of the one the settings name (`triage eval --holdout`).
    /// - Parameter store: Where `--examples store` reads its pool from.
    func withClassifier<T>(
        concurrency: Int,
        examples pool: [LabelledExample]? = nil,
        store: (any QueryStore)? = nil,
        _ body: (any Classifier, _ name: String) async throws -> T
    ) async throws -> T {
        let settings = try resolved()
        let taxonomy = try loadTaxonomy(settings)
        let examples: [LabelledExample]?
        if let pool {
            examples = pool
        } else {
            examples = try await self.examples(from: settings.examples, taxonomy: taxonomy, store: store)
        }
        guard let configuration = settings.llm else {
            var configuration = MockClassifier.Configuration()
            if mockLatencyMs > 0 {
                configuration.latency = .logNormal(median: .milliseconds(mockLatencyMs), sigma: 0.5)
            }
            configuration.failureRate = mockFailureRate
            return try await body(MockClassifier(taxonomy: taxonomy, configuration: configuration), "mock")
        }
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(idleTimeout: .seconds(60),
                                    concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, concurrency))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        let classifier = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                       logger: CLILogging.logger("triage.llm"),
                                       examples: examples.map(ExampleIndex.init),
                                       sharedLimits: store)
        do {
            let result = try await body(classifier, "\(configuration.provider.rawValue):\(configuration.model)")
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The pool the settings name plus the taxonomy's own examples; `nil` when there are none.
    private func examples(from source: ClassifierSettings.ExampleSource?, taxonomy: Taxonomy,
                          store: (any QueryStore)?) async throws -> [LabelledExample]? {
        var pool = taxonomy.examples ?? []
        switch source {
        case .file(let path)?:
            pool += try ExampleFileReader.read(path: path, taxonomy: taxonomy)
        case .store?:
            guard let store else { throw ValidationError("--examples store needs a store; this command has none") }
            let known = Set(taxonomy.categoryNames)
            let labelled = try await store.labelledExamples().filter { known.contains($0.category) }
            guard !labelled.isEmpty else {
                throw CLIError("--examples store: no query in the store has an expected category or a correction "
                               + "in the taxonomy; import queries with expected labels, or correct some with "
                               + "triage label")
            }
            pool += labelled
        case nil:
            break
        }
        return pool.isEmpty ? nil : pool
    }

    /// The taxonomy the settings name, or the built-in one.
    func loadTaxonomy(_ settings: ClassifierSettings.Resolved? = nil) throws -> Taxonomy {
        guard let path = try (settings ?? resolved()).taxonomy else { return .customerSupport }
        return try Taxonomy.load(contentsOf: URL(fileURLWithPath: path))
    }
}

extension ClassifierSettings.Choice: ExpressibleByArgument {}
extension LLMConfiguration.OutputMode: ExpressibleByArgument {}

/// The optional config file: the classifier's settings at the top level (``ClassifierSettings/Layer``), and
/// `triage serve`'s under `server`, read from YAML or JSON.
struct ConfigFile: Decodable {
    var classifier = ClassifierSettings.Layer()
    var server: ServerSettings?

    private enum CodingKeys: String, CodingKey {
        case server
    }

    init() {}

    init(from decoder: any Decoder) throws {
        classifier = try ClassifierSettings.Layer(from: decoder)
        server = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(ServerSettings.self, forKey: .server)
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
