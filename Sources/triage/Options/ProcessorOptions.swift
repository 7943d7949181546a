import ArgumentParser
import TriageCore
import TriageProcessor

extension BatchProcessor.Configuration.Via: ExpressibleByArgument {}

/// How the batch processor works, shared by `run` and `work`.
struct ProcessorOptions: ParsableArguments {
    @Option(help: "Queries claimed from the store at a time (at most --max-concurrent).")
    var batchSize = 50

    @Option(help: "Classifications in flight at once; a slot is refilled the moment it frees.")
    var maxConcurrent = 10

    @Option(help: "Attempts before a query is marked failed.")
    var maxAttempts = 3

    @Option(help: ArgumentHelp("How long a claim lasts without renewal.", valueName: "seconds"))
    var leaseSeconds = 300

    @Option(help: ArgumentHelp("Upper bound of the first retry's delay; doubles with each retry.", valueName: "seconds"))
    var retryBaseSeconds = 2.0

    @Option(help: ArgumentHelp(
        "How long the run waits out an outage of the store or of the LLM provider (paused, probing, no attempt "
            + "spent) before it stops with exit 2 and the backlog pending.",
        valueName: "seconds"
    ))
    var outageBudgetSeconds = 600

    @Option(help: ArgumentHelp(
        "Flag classifications whose confidence is under this as needing review: listed by stats --needs-review, "
            + "export --needs-review, GET /v1/queries?needsReview=true and the status page, until a person "
            + "corrects them (triage label).",
        valueName: "0-1"
    ))
    var reviewBelow: Double?

    @Flag(help: ArgumentHelp(
        "Ask the model about every query, even one whose text (ignoring case and spacing) was already classified "
            + "with the same model, taxonomy and examples; by default such a query takes that answer, marked as "
            + "reused, at no cost."))
    var noReuse = false

    @Option(help: ArgumentHelp(
        "online: a request per query as it is claimed. batch: the provider's batch API (OpenAI Batch, Anthropic "
            + "Message Batches) at half the price, results within 24 hours; a stopped or crashed process started "
            + "again follows the same batches (triage batches lists them).",
        valueName: "online|batch"))
    var via: BatchProcessor.Configuration.Via = .online

    @Option(help: ArgumentHelp("With --via batch: how often the provider is asked how its batches are doing.",
                               valueName: "seconds"))
    var pollSeconds = 30.0

    @Option(help: ArgumentHelp("With --via batch: lines per batch (the provider's limit: OpenAI 50,000, "
                               + "Anthropic 100,000); a larger backlog is split.", valueName: "n"))
    var batchMaxRequests: Int?

    @Option(help: ArgumentHelp("With --via batch: bytes per batch file (the provider's limit: OpenAI 200 MB, "
                               + "Anthropic 256 MB).", valueName: "bytes"))
    var batchMaxBytes: Int?

    @Option(help: ArgumentHelp(
        "With --via batch, for a worker (work, serve --workers): how long a batch gathers new queries before it is "
            + "sent, unless it fills first (--batch-max-requests).", valueName: "seconds"))
    var batchWindowSeconds = 60.0

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        let most = BatchProcessor.Configuration.maximumConcurrency
        guard (1...most).contains(maxConcurrent) else {
            throw ValidationError("--max-concurrent must be from 1 to \(most)")
        }
        guard maxAttempts > 0 else { throw ValidationError("--max-attempts must be at least 1") }
        guard leaseSeconds > 0 else { throw ValidationError("--lease-seconds must be at least 1") }
        guard outageBudgetSeconds > 0 else { throw ValidationError("--outage-budget-seconds must be at least 1") }
        guard retryBaseSeconds >= 0 else { throw ValidationError("--retry-base-seconds must be 0 or more") }
        if let reviewBelow, !(0...1).contains(reviewBelow) {
            throw ValidationError("--review-below must be from 0 to 1, not \(reviewBelow)")
        }
        guard pollSeconds > 0 else { throw ValidationError("--poll-seconds must be more than 0") }
        guard batchWindowSeconds >= 0 else { throw ValidationError("--batch-window-seconds must be 0 or more") }
        if let batchMaxRequests, batchMaxRequests < 1 {
            throw ValidationError("--batch-max-requests must be at least 1")
        }
        if let batchMaxBytes, batchMaxBytes < 1_000 { throw ValidationError("--batch-max-bytes must be at least 1000") }
    }

    /// The processor's configuration these flags describe.
    func configuration(classifierName: String) -> BatchProcessor.Configuration {
        var configuration = BatchProcessor.Configuration()
        configuration.batchSize = batchSize
        configuration.maxConcurrent = maxConcurrent
        configuration.maxAttempts = maxAttempts
        configuration.leaseDuration = .seconds(leaseSeconds)
        configuration.retryPolicy = RetryPolicy(base: .seconds(retryBaseSeconds), maximum: .seconds(300))
        configuration.classifierName = classifierName
        configuration.reviewBelow = reviewBelow
        configuration.reuse = !noReuse
        configuration.storeOutageBudget = .seconds(outageBudgetSeconds)
        configuration.providerOutageBudget = .seconds(outageBudgetSeconds)
        configuration.via = via
        configuration.batch.maxRequests = batchMaxRequests
        configuration.batch.maxBytes = batchMaxBytes
        configuration.batch.pollInterval = .milliseconds(Int(pollSeconds * 1000))
        configuration.batch.window = .milliseconds(Int(batchWindowSeconds * 1000))
        return configuration
    }
}
