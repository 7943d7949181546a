import Foundation
import TriageCore

/// How an HTTP LLM classifier talks to its provider. Built at the edge (flags, environment, config file).
public struct LLMConfiguration: Sendable {
    /// The API family.
    public enum Provider: String, Sendable, CaseIterable {
        /// Any OpenAI-compatible chat-completions endpoint: OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, LM Studio.
        case openAI = "openai"
        /// Anthropic's Messages API.
        case anthropic
    }

    /// How the answer's shape is requested.
    public enum OutputMode: String, Sendable, CaseIterable, Comparable, Codable {
        /// `response_format: json_schema` (strict), or a forced tool call on Anthropic.
        case jsonSchema = "json_schema"
        /// `response_format: json_object`, for endpoints without schema support.
        case jsonObject = "json_object"
        /// Instructions in the prompt only.
        case instructions

        public static func < (lhs: Self, rhs: Self) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Price per million tokens, in US dollars.
    public struct Price: Sendable, Hashable, Codable {
        public var promptPerMillion: Double
        public var completionPerMillion: Double
        /// Prompt tokens read from the provider's prompt cache; the prompt price when not given.
        public var cachedPromptPerMillion: Double?
        /// Prompt tokens written to the cache (Anthropic charges extra for them); the prompt price when not given.
        public var cacheWritePerMillion: Double?

        public init(promptPerMillion: Double, completionPerMillion: Double, cachedPromptPerMillion: Double? = nil,
                    cacheWritePerMillion: Double? = nil) {
            self.promptPerMillion = promptPerMillion
            self.completionPerMillion = completionPerMillion
            self.cachedPromptPerMillion = cachedPromptPerMillion
            self.cacheWritePerMillion = cacheWritePerMillion
        }

        /// - Parameters:
        ///   - prompt: Every prompt token, those read from or written to the cache included.
        ///   - cachedPrompt: Of those, the ones read from the cache.
        ///   - cacheWrite: Of those, the ones written to the cache.
        public func cost(prompt: Int, completion: Int, cachedPrompt: Int = 0, cacheWrite: Int = 0) -> Double {
            let uncached = Double(max(0, prompt - cachedPrompt - cacheWrite)) * promptPerMillion
            let cached = Double(cachedPrompt) * (cachedPromptPerMillion ?? promptPerMillion)
            let written = Double(cacheWrite) * (cacheWritePerMillion ?? promptPerMillion)
            return (uncached + cached + written + Double(completion) * completionPerMillion) / 1_000_000
        }
    }

    public var provider: Provider
    /// For OpenAI-compatible endpoints the base that `/chat/completions` is appended to (`https://api.openai.com/v1`,
    /// `http://localhost:11434/v1`, an Azure deployment URL); for Anthropic the host (`https://api.anthropic.com`).
    public var baseURL: String
    public var model: String
    /// The secret, read from the environment at the edge. Never logged or echoed.
    public var apiKey: String?
    /// Azure OpenAI: sent as the `api-version` query parameter, and the key goes in an `api-key` header.
    public var azureAPIVersion: String?
    public var extraHeaders: [String: String] = [:]
    public var anthropicVersion = "2023-06-01"
    public var temperature = 0.0
    public var maxOutputTokens = 300
    /// Each HTTP request's deadline.
    public var requestTimeout: Duration = .seconds(60)
    /// Responses larger than this are refused.
    public var maxResponseBytes = 1 << 20
    /// Where to start; a 400 saying the endpoint lacks it moves down to the next mode for the rest of the run.
    public var outputMode: OutputMode = .jsonSchema
    /// Transient failures (429, 5xx, timeouts, resets) retried within one attempt before it counts as failed.
    public var retryBudget = 4
    public var retryPolicy = RetryPolicy(base: .milliseconds(500), maximum: .seconds(60))
    /// Requests per minute, paced evenly (never a minute's budget at once).
    public var requestsPerMinute: Double?
    /// Tokens per minute, estimated before each request and corrected by reported usage.
    public var tokensPerMinute: Double?
    /// Which prompt to send.
    public enum PromptStyle: String, Sendable, CaseIterable {
        /// Triage's prompt: every field, the labels with their descriptions, the rules.
        case full
        /// One line naming the categories: the baseline the quality bench compares against, not for production.
        case oneLine
    }

    /// Triage's prompt unless a measurement asks for the baseline.
    public var promptStyle: PromptStyle = .full
    /// Labelled examples shown before each query, the most similar from the pool (see ``ExampleIndex``).
    public var examplesPerQuery = 8
    /// Without examples to show, list the categories most like the query (by their names and descriptions) first:
    /// small models lean on the first labels they read.
    public var rankCategories = true
    /// Ask OpenAI-compatible endpoints for the answer's token log-probabilities, from which the chosen category's
    /// probability goes into the confidence; a 400 that names `logprobs` turns this off for the rest of the run.
    public var requestLogprobs = true
    /// Alternatives asked for at each token position (OpenAI allows up to 20).
    static let topLogprobs = 10
    /// When the retrieved examples answer a query alone, with no call (``AnswerFromExamples``).
    public var answerFromExamples: AnswerFromExamples = .auto
    /// Examples of the pool `auto` has the model classify at the start of a run (each with the others as its
    /// examples) to hold the examples' answers to the model's accuracy; measured only for a run of at least twice
    /// as many queries, once per classifier. 0: never measure (the examples are held to 0.97).
    public var calibrationSample = 20
    /// Categories offered the model for one query: `nil` for 8 when the taxonomy has more than 12 (the labels of the
    /// retrieved examples and the categories most like the query), else all; 0 for all, always.
    public var candidates: Int?
    /// The candidates a large taxonomy's query is offered when ``candidates`` is `nil`.
    public static let defaultCandidates = 8
    /// The most UTF-8 bytes of a query's text (and of its subject) sent; a longer query fails `text_too_long`
    /// before any call (``Classifier/maxTextBytes``).
    public var maxTextBytes = SupportQuery.defaultMaxTextBytes
    /// Whether personal values in what is sent (queries, subjects, examples) become typed placeholders first:
    /// `nil` for on unless the endpoint is on a loopback address (a local model). See docs/privacy.md.
    public var redact: Bool?

    /// Whether requests are redacted: ``redact``, or by default whenever the endpoint is not on this machine.
    public var redacts: Bool {
        redact ?? !Self.isLoopback(URL(string: baseURL)?.host ?? "")
    }

    /// `localhost`, `127.0.0.0/8` and `::1`: a model on this machine.
    public static func isLoopback(_ host: String) -> Bool {
        let host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host == "0:0:0:0:0:0:0:1" {
            return true
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// When the retrieved examples answer a query alone.
    public enum AnswerFromExamples: Sendable, Hashable {
        /// At a threshold chosen by leave-one-out over the pool: where the examples' own answers are at least
        /// ``autoTarget`` accurate with 95% confidence, or as accurate as the model when it is measured
        /// (``LLMConfiguration/calibrationSample``) and measurably less.
        case auto
        /// Never: the model is asked about every query.
        case off
        /// When the decisiveness (the leading label's share of the evidence times the nearest example's closeness)
        /// reaches this.
        case threshold(Double)

        /// The accuracy `auto` holds the examples' answers to on their pool, above what the model reaches with
        /// examples on the development data (0.93 for SmolLM2).
        public static let autoTarget = 0.97

        /// Reads `auto`, `off`, or a threshold from 0 to 1.
        public init?(_ text: String) {
            switch text.lowercased() {
            case "auto": self = .auto
            case "off", "none", "no": self = .off
            default:
                guard let value = Double(text), (0...1).contains(value) else { return nil }
                self = .threshold(value)
            }
        }
    }
    /// What the providers' batch APIs charge, as a share of the online price (OpenAI and Anthropic: half).
    public static let batchPriceFactor = 0.5

    /// Prices by model name; a model not listed costs 0.
    public var prices: [String: Price] = LLMConfiguration.defaultPrices

    public init(provider: Provider, baseURL: String, model: String, apiKey: String? = nil) {
        self.provider = provider
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
    }

    /// The default endpoint of each provider.
    public static func defaultBaseURL(for provider: Provider) -> String {
        switch provider {
        case .openAI: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        }
    }

    /// The default model of each provider.
    public static func defaultModel(for provider: Provider) -> String {
        switch provider {
        case .openAI: "gpt-4o-mini"
        case .anthropic: "claude-3-5-haiku-latest"
        }
    }

    /// A few well-known prices (USD per million tokens); configuration may override or add.
    public static let defaultPrices: [String: Price] = [
        "gpt-4o-mini": Price(promptPerMillion: 0.15, completionPerMillion: 0.60, cachedPromptPerMillion: 0.075),
        "gpt-4o": Price(promptPerMillion: 2.50, completionPerMillion: 10.00, cachedPromptPerMillion: 1.25),
        "gpt-4.1-mini": Price(promptPerMillion: 0.40, completionPerMillion: 1.60, cachedPromptPerMillion: 0.10),
        "claude-3-5-haiku-latest": Price(promptPerMillion: 0.80, completionPerMillion: 4.00,
                                         cachedPromptPerMillion: 0.08, cacheWritePerMillion: 1.00),
        "claude-sonnet-4-0": Price(promptPerMillion: 3.00, completionPerMillion: 15.00,
                                   cachedPromptPerMillion: 0.30, cacheWritePerMillion: 3.75),
    ]
}
