import Configuration

/// Every setting Triage reads, with where each layer names it: its key (as the config file and the components name
/// it), its flag, its environment variables, whether the file may hold it, and its kind. The components read their
/// keys with their own defaults (`BatchProcessor.Configuration(config:)`, `ServerConfiguration(config:)`,
/// `ClassifierSettings.resolve(config:)`, `StoreConfiguration(config:)`); this says only how a key is spelt on the
/// command line and in the environment, and what the file may say.
struct Setting: Sendable, Hashable {
    enum Kind: String, Sendable, Hashable {
        case string, int, double, bool, list
        /// A map of names to values (`headers`, `prices`): the file only.
        case map

        var configType: ConfigType {
            switch self {
            case .string, .map: .string
            case .int: .int
            case .double: .double
            case .bool: .bool
            case .list: .stringArray
            }
        }
    }

    let key: String
    let kind: Kind
    /// The flag that sets it, if any (for `reuse`: `--no-reuse`, which sets it false).
    let flag: String?
    /// The variables that set it, the first that is set winning.
    let environment: [String]
    /// Whether the config file may set it (a webhook's signing secret stays out of files).
    let inFile: Bool
    /// Shown masked.
    let secret: Bool
    /// The commands that read it, for `triage config`'s listing: `nil` for every command that touches a store or
    /// a classifier.
    let summary: String

    init(_ key: String, _ kind: Kind, flag: String? = nil, environment: [String]? = nil, inFile: Bool = true,
         secret: Bool = false, _ summary: String) {
        self.key = key
        self.kind = kind
        self.flag = flag
        self.environment = environment ?? ["TRIAGE_" + Self.snake(key.split(separator: ".").last.map(String.init) ?? key)]
        self.inFile = inFile
        self.secret = secret
        self.summary = summary
    }

    static func snake(_ name: String) -> String {
        name.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" }
            result += character.uppercased()
        }
    }
}

enum SettingsCatalog {
    static let all: [Setting] = store + classifier + processor + server

    static let store: [Setting] = [
        Setting("store", .string, flag: "--store", environment: ["TRIAGE_STORE", "MONGODB_URI"], secret: true,
                "where queries are kept: sqlite:PATH, sqlite::memory: or mongodb://HOST/DATABASE"),
        Setting("database", .string, flag: "--database", environment: ["TRIAGE_MONGO_DATABASE"],
                "MongoDB database (default: the URI's path, or triage)"),
        Setting("collection", .string, flag: "--collection", environment: ["TRIAGE_MONGO_COLLECTION"],
                "MongoDB collection of the queries (default: queries)"),
    ]

    static let classifier: [Setting] = [
        Setting("llm", .string, flag: "--llm", "the classifier: openai, anthropic or mock (--mock-llm)"),
        Setting("llmUrl", .string, flag: "--llm-url", "the LLM endpoint (default: https://api.openai.com/v1, or https://api.anthropic.com)"),
        Setting("model", .string, flag: "--model", "the model name (default: gpt-4o-mini, or claude-3-5-haiku-latest)"),
        Setting("apiKeyEnv", .string, flag: "--api-key-env", "the variable holding the API key (default: OPENAI_API_KEY, or ANTHROPIC_API_KEY)"),
        Setting("rpm", .double, flag: "--rpm", "the API key's requests per minute, shared by the fleet"),
        Setting("tpm", .double, flag: "--tpm", "the API key's tokens per minute, shared by the fleet"),
        Setting("requestTimeout", .double, flag: "--request-timeout", "deadline of each HTTP request, seconds"),
        Setting("outputMode", .string, flag: "--output-mode", "json_schema, json_object or instructions"),
        Setting("azureApiVersion", .string, flag: "--azure-api-version", "Azure OpenAI's api-version"),
        Setting("taxonomy", .string, flag: "--taxonomy", "a taxonomy file (JSON or YAML)"),
        Setting("examples", .string, flag: "--examples", "labelled examples: a file, store, or none"),
        Setting("examplesPerQuery", .int, flag: "--examples-per-query", "examples shown before each query"),
        Setting("answerFromExamples", .string, flag: "--answer-from-examples",
                "when decisive examples answer alone, with no call: auto, off, or a threshold"),
        Setting("candidates", .int, flag: "--candidates",
                "categories offered the model per query (default: 8 past 12 categories; 0: all)"),
        Setting("maxTextBytes", .int, flag: "--max-text-bytes",
                "most bytes of a text (and of a subject) sent; longer fails text_too_long (default 32768)"),
        Setting("redact", .bool, flag: "--redact/--no-redact",
                "personal values become placeholders before anything is sent (default: on unless the LLM is on loopback)"),
        Setting("mockLatencyMs", .double, flag: "--mock-latency-ms", "median latency of the mock classifier"),
        Setting("mockFailureRate", .double, flag: "--mock-failure-rate", "share of mock attempts that fail"),
        Setting("headers", .map, environment: [], "extra HTTP headers sent to the LLM endpoint"),
        Setting("prices", .map, environment: [], "prices per model (USD per million tokens)"),
    ]

    static let processor: [Setting] = [
        Setting("batchSize", .int, flag: "--batch-size", "queries claimed at a time"),
        Setting("maxConcurrent", .int, flag: "--max-concurrent", "classifications in flight at once"),
        Setting("maxAttempts", .int, flag: "--max-attempts", "attempts before a query is failed"),
        Setting("leaseSeconds", .int, flag: "--lease-seconds", "how long a claim lasts without renewal"),
        Setting("retryBaseSeconds", .double, flag: "--retry-base-seconds", "ceiling of the first retry's delay"),
        Setting("outageBudgetSeconds", .int, flag: "--outage-budget-seconds",
                "how long an outage of the store or provider is waited out"),
        Setting("reviewBelow", .double, flag: "--review-below", "flag answers under this confidence for review"),
        Setting("reuse", .bool, flag: "--no-reuse", "take an identical query's answer instead of asking"),
        Setting("via", .string, flag: "--via", "online or batch (the provider's batch API)"),
        Setting("pollSeconds", .double, flag: "--poll-seconds", "how often batches are polled"),
        Setting("batchMaxRequests", .int, flag: "--batch-max-requests", "lines per provider batch"),
        Setting("batchMaxBytes", .int, flag: "--batch-max-bytes", "bytes per provider batch"),
        Setting("batchWindowSeconds", .double, flag: "--batch-window-seconds",
                "how long a worker's batch gathers queries"),
    ]

    static let server: [Setting] = [
        Setting("server.host", .string, flag: "--host", environment: ["TRIAGE_SERVER_HOST"], "address to listen on"),
        Setting("server.port", .int, flag: "--port", environment: ["TRIAGE_SERVER_PORT"], "port to listen on"),
        Setting("server.workers", .bool, flag: "--workers", environment: ["TRIAGE_SERVER_WORKERS"],
                "classify new queries in the background"),
        Setting("server.graceSeconds", .int, flag: "--grace-seconds", environment: ["TRIAGE_SERVER_GRACE_SECONDS"],
                "how long in-flight work may finish on shutdown"),
        Setting("server.maxBodyBytes", .int, flag: "--max-body-bytes", environment: ["TRIAGE_SERVER_MAX_BODY_BYTES"],
                "largest request body"),
        Setting("server.idleTimeoutSeconds", .double, flag: "--idle-timeout-seconds",
                environment: ["TRIAGE_SERVER_IDLE_TIMEOUT_SECONDS"],
                "a connection with no request in progress (or a head still arriving) is closed after it"),
        Setting("server.bodyTimeoutSeconds", .double, flag: "--body-timeout-seconds",
                environment: ["TRIAGE_SERVER_BODY_TIMEOUT_SECONDS"],
                "a request body not whole this long after its head closes the connection"),
        Setting("server.protect", .list, flag: "--protect", environment: ["TRIAGE_SERVER_PROTECT"],
                "paths outside /v1 that need a key"),
        Setting("server.allowedHosts", .list, flag: "--allowed-host", environment: ["TRIAGE_ALLOWED_HOSTS"],
                "host names clients may address"),
        Setting("server.maxRuns", .int, flag: "--max-runs", environment: ["TRIAGE_SERVER_MAX_RUNS"],
                "API runs at once"),
        Setting("server.noAuth", .bool, flag: "--no-auth", environment: [],
                "serve /v1 without keys, to anyone who can reach it"),
        Setting("server.apiKeys", .list, environment: ["TRIAGE_API_KEYS"], secret: true, "the API's bearer tokens"),
        Setting("server.webhooks", .list, environment: ["TRIAGE_WEBHOOK_URLS"], "receivers of every run's end event"),
        Setting("server.webhookHosts", .list, environment: ["TRIAGE_WEBHOOK_HOSTS"],
                "hosts a run's own webhook may name"),
        Setting("server.webhookAllowPrivate", .bool, environment: ["TRIAGE_WEBHOOK_ALLOW_PRIVATE"],
                "let a run's webhook reach private addresses"),
        Setting("server.webhookTimeoutSeconds", .double, environment: ["TRIAGE_WEBHOOK_TIMEOUT_SECONDS"],
                "one webhook delivery attempt, connecting to the last byte of the answer"),
        Setting("server.webhookSecret", .string, environment: ["TRIAGE_WEBHOOK_SECRET"], inFile: false, secret: true,
                "the webhook signing key (environment only)"),
    ]

    static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
}
