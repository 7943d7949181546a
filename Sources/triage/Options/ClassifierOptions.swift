import ArgumentParser
import AsyncHTTPClient
import Foundation
import TriageCore
import TriageIngest
import TriageLLM
import TriageServer
import Configuration

/// Which classifier a command uses and how it reaches its LLM: the flags' layer of those settings (``TriageConfig``).
struct ClassifierOptions: ParsableArguments, SettingFlags {
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
        "When the retrieved examples answer a query alone, with no LLM call: auto (default: at a threshold chosen at "
            + "the start by leave-one-out over the pool, where the examples' own answers are 0.97 accurate with 95% "
            + "confidence, or as accurate as the model when it is less: a run of 40 queries or more first has the "
            + "model classify 20 examples of the pool), off, or a threshold from 0 to 1 on their decisiveness (the leading label's share of the "
            + "evidence times the nearest example's closeness). (env: TRIAGE_ANSWER_FROM_EXAMPLES)",
        valueName: "auto|off|X"))
    var answerFromExamples: String?

    @Option(name: .long, help: ArgumentHelp(
        "Categories offered the model for one query: the retrieved examples' labels and the categories most like "
            + "the query, in the prompt and the schema (default: 8 when the taxonomy has more than 12, else all; "
            + "0: all). (env: TRIAGE_CANDIDATES)", valueName: "n"))
    var candidates: Int?

    @Option(name: .long, help: ArgumentHelp(
        "The most bytes (UTF-8) of a query's text, and of its subject, sent to the LLM (default 32768); a longer "
            + "query fails as text_too_long before any call, and `serve` refuses it with 413. "
            + "(env: TRIAGE_MAX_TEXT_BYTES)", valueName: "bytes"))
    var maxTextBytes: Int?

    @Flag(name: .long, help: ArgumentHelp(
        "Replace personal values (emails, phones, cards, IBANs, IPs, names, addresses, credentials…) with typed "
            + "placeholders in everything sent to the LLM; the default whenever the LLM endpoint is not on a "
            + "loopback address. See docs/privacy.md. (env: TRIAGE_REDACT)"))
    var redact = false

    @Flag(name: .long, help: ArgumentHelp("Send queries as they are, even to a hosted LLM. (env: TRIAGE_REDACT=false)"))
    var noRedact = false

    @Option(name: .long, help: ArgumentHelp("Median latency the mock classifier simulates (default 0). "
                                            + "(env: TRIAGE_MOCK_LATENCY_MS)", valueName: "ms"))
    var mockLatencyMs: Double?

    @Option(name: .long, help: ArgumentHelp("Share of mock attempts that fail transiently, 0 to 1 (default 0). "
                                            + "(env: TRIAGE_MOCK_FAILURE_RATE)", valueName: "rate"))
    var mockFailureRate: Double?

    var settings: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        values["llm"] = (mockLlm ? .mock : llm).map { .string($0.rawValue) }
        values["llmUrl"] = llmUrl.map(ConfigContent.string)
        values["model"] = model.map(ConfigContent.string)
        values["apiKeyEnv"] = apiKeyEnv.map(ConfigContent.string)
        values["rpm"] = rpm.map(ConfigContent.double)
        values["tpm"] = tpm.map(ConfigContent.double)
        values["requestTimeout"] = requestTimeout.map(ConfigContent.double)
        values["outputMode"] = outputMode.map { .string($0.rawValue) }
        values["azureApiVersion"] = azureApiVersion.map(ConfigContent.string)
        values["taxonomy"] = taxonomy.map(ConfigContent.string)
        values["examples"] = examples.map(ConfigContent.string)
        values["examplesPerQuery"] = examplesPerQuery.map(ConfigContent.int)
        values["answerFromExamples"] = answerFromExamples.map(ConfigContent.string)
        values["candidates"] = candidates.map(ConfigContent.int)
        values["maxTextBytes"] = maxTextBytes.map(ConfigContent.int)
        if redact { values["redact"] = .bool(true) }
        if noRedact { values["redact"] = .bool(false) }
        values["mockLatencyMs"] = mockLatencyMs.map(ConfigContent.double)
        values["mockFailureRate"] = mockFailureRate.map(ConfigContent.double)
        return values
    }
}

extension TriageConfig {
    /// The classifier the settings name, resolved.
    func classifierSettings() throws -> ClassifierSettings.Resolved {
        try build { reader in
            try ClassifierSettings.resolve(config: reader, maps: file?.maps ?? ClassifierSettings.FileMaps(),
                                           variables: ProcessInfo.processInfo.environment)
        }
    }

    /// The taxonomy the settings name (`taxonomy`), or the built-in one.
    func taxonomy() throws -> Taxonomy {
        guard let path = try build(ClassifierSettings.taxonomyPath) else { return .customerSupport }
        return try Taxonomy.load(contentsOf: URL(fileURLWithPath: path))
    }

    /// Builds the classifier the settings name, runs `body` with it, and releases its HTTP client afterwards.
    /// - Parameters:
    ///   - concurrency: Sizes the HTTP connection pool.
    ///   - pool: Examples to use instead of the ones the settings name (`triage eval --holdout`).
    ///   - store: Where `--examples store` reads its pool from, and the fleet's shared rate limits live.
    /// - Throws: ``CLIError`` when no classifier was chosen or a setting is wrong.
    func withClassifier<T>(
        concurrency: Int,
        examples pool: [LabelledExample]? = nil,
        store: (any QueryStore)? = nil,
        _ body: (any Classifier, _ name: String) async throws -> T
    ) async throws -> T {
        let settings = try classifierSettings()
        let taxonomy = try taxonomy()
        let examples: [LabelledExample]?
        if let pool {
            examples = pool
        } else {
            examples = try await self.examples(from: settings.examples, taxonomy: taxonomy, store: store)
        }
        guard let configuration = settings.llm else {
            return try await body(MockClassifier(taxonomy: taxonomy, configuration: settings.mock), "mock")
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
}

extension ClassifierSettings.Choice: ExpressibleByArgument {}
extension LLMConfiguration.OutputMode: ExpressibleByArgument {}

