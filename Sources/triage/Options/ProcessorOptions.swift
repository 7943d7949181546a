import ArgumentParser
import Configuration
import TriageCore
import TriageProcessor

extension BatchProcessor.Configuration.Via: ExpressibleByArgument {}

/// How the batch processor works, shared by `run`, `work` and `serve`: the flags' layer of those settings
/// (``TriageConfig``); the defaults are `BatchProcessor.Configuration`'s.
struct ProcessorOptions: ParsableArguments, SettingFlags {
    @Option(help: ArgumentHelp("Queries claimed from the store at a time, at most --max-concurrent (default 50). "
                               + "(env: TRIAGE_BATCH_SIZE)", valueName: "n"))
    var batchSize: Int?

    @Option(help: ArgumentHelp("Classifications in flight at once; a slot is refilled the moment it frees "
                               + "(default 10). (env: TRIAGE_MAX_CONCURRENT)", valueName: "n"))
    var maxConcurrent: Int?

    @Option(help: ArgumentHelp("Attempts before a query is marked failed (default 3). (env: TRIAGE_MAX_ATTEMPTS)",
                               valueName: "n"))
    var maxAttempts: Int?

    @Option(help: ArgumentHelp("How long a claim lasts without renewal (default 300). (env: TRIAGE_LEASE_SECONDS)",
                               valueName: "seconds"))
    var leaseSeconds: Int?

    @Option(help: ArgumentHelp("Upper bound of the first retry's delay; doubles with each retry (default 2). "
                               + "(env: TRIAGE_RETRY_BASE_SECONDS)", valueName: "seconds"))
    var retryBaseSeconds: Double?

    @Option(help: ArgumentHelp(
        "How long the run waits out an outage of the store or of the LLM provider (paused, probing, no attempt "
            + "spent) before it stops with exit 2 and the backlog pending (default 600). "
            + "(env: TRIAGE_OUTAGE_BUDGET_SECONDS)",
        valueName: "seconds"
    ))
    var outageBudgetSeconds: Int?

    @Option(help: ArgumentHelp(
        "Flag classifications whose confidence is under this as needing review: listed by stats --needs-review, "
            + "export --needs-review, GET /v1/queries?needsReview=true and the status page, until a person "
            + "corrects them (triage label). (env: TRIAGE_REVIEW_BELOW)",
        valueName: "0-1"
    ))
    var reviewBelow: Double?

    @Flag(help: ArgumentHelp(
        "Ask the model about every query, even one whose text (ignoring case and spacing) was already classified "
            + "with the same model, taxonomy and examples; by default such a query takes that answer, marked as "
            + "reused, at no cost. (env: TRIAGE_REUSE=0)"))
    var noReuse = false

    @Option(help: ArgumentHelp(
        "online: a request per query as it is claimed. batch: the provider's batch API (OpenAI Batch, Anthropic "
            + "Message Batches) at half the price, results within 24 hours; a stopped or crashed process started "
            + "again follows the same batches (triage batches lists them). (default online; env: TRIAGE_VIA)",
        valueName: "online|batch"))
    var via: BatchProcessor.Configuration.Via?

    @Option(help: ArgumentHelp("With --via batch: how often the provider is asked how its batches are doing "
                               + "(default 30). (env: TRIAGE_POLL_SECONDS)", valueName: "seconds"))
    var pollSeconds: Double?

    @Option(help: ArgumentHelp("With --via batch: lines per batch (the provider's limit: OpenAI 50,000, "
                               + "Anthropic 100,000); a larger backlog is split. (env: TRIAGE_BATCH_MAX_REQUESTS)",
                               valueName: "n"))
    var batchMaxRequests: Int?

    @Option(help: ArgumentHelp("With --via batch: bytes per batch file (the provider's limit: OpenAI 200 MB, "
                               + "Anthropic 256 MB). (env: TRIAGE_BATCH_MAX_BYTES)", valueName: "bytes"))
    var batchMaxBytes: Int?

    @Option(help: ArgumentHelp(
        "With --via batch, for a worker (work, serve --workers): how long a batch gathers new queries before it is "
            + "sent, unless it fills first (default 60). (env: TRIAGE_BATCH_WINDOW_SECONDS)", valueName: "seconds"))
    var batchWindowSeconds: Double?

    var settings: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        values["batchSize"] = batchSize.map(ConfigContent.int)
        values["maxConcurrent"] = maxConcurrent.map(ConfigContent.int)
        values["maxAttempts"] = maxAttempts.map(ConfigContent.int)
        values["leaseSeconds"] = leaseSeconds.map(ConfigContent.int)
        values["retryBaseSeconds"] = retryBaseSeconds.map(ConfigContent.double)
        values["outageBudgetSeconds"] = outageBudgetSeconds.map(ConfigContent.int)
        values["reviewBelow"] = reviewBelow.map(ConfigContent.double)
        if noReuse { values["reuse"] = .bool(false) }
        values["via"] = via.map { .string($0.rawValue) }
        values["pollSeconds"] = pollSeconds.map(ConfigContent.double)
        values["batchMaxRequests"] = batchMaxRequests.map(ConfigContent.int)
        values["batchMaxBytes"] = batchMaxBytes.map(ConfigContent.int)
        values["batchWindowSeconds"] = batchWindowSeconds.map(ConfigContent.double)
        return values
    }
}

extension TriageConfig {
    /// How the processor works, as the settings say.
    func processor(classifierName: String) throws -> BatchProcessor.Configuration {
        var configuration = try build(BatchProcessor.Configuration.init(config:))
        configuration.classifierName = classifierName
        return configuration
    }
}
