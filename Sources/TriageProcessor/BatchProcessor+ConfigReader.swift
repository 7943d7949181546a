import Configuration
import TriageCore

extension BatchProcessor.Configuration {
    /// The processor's settings as `config` gives them (every layer: flags, environment, config file), over the
    /// defaults of ``init()``.
    ///
    /// Keys: `batchSize`, `maxConcurrent`, `maxAttempts`, `leaseSeconds`, `retryBaseSeconds`, `outageBudgetSeconds`,
    /// `reviewBelow`, `reuse`, `via`, `pollSeconds`, `batchMaxRequests`, `batchMaxBytes`, `batchWindowSeconds`.
    /// - Throws: ``ConfigurationError`` naming the key of a value out of its range.
    public init(config: ConfigReader) throws {
        self.init()
        batchSize = try config.int("batchSize", default: batchSize, in: 1...Int.max)
        maxConcurrent = try config.int("maxConcurrent", default: maxConcurrent, in: 1...Self.maximumConcurrency)
        maxAttempts = try config.int("maxAttempts", default: maxAttempts, in: 1...Int.max)
        leaseDuration = .seconds(try config.int("leaseSeconds", default: Int(leaseDuration.timeInterval),
                                                in: 1...Int.max))
        let retryBase = try config.double("retryBaseSeconds", default: retryPolicy.base.timeInterval, minimum: 0)
        retryPolicy = RetryPolicy(base: .milliseconds(retryBase * 1000), maximum: .seconds(300))
        let outage = try config.int("outageBudgetSeconds", default: Int(storeOutageBudget.timeInterval),
                                    in: 1...Int.max)
        storeOutageBudget = .seconds(outage)
        providerOutageBudget = .seconds(outage)
        reviewBelow = try config.double("reviewBelow", minimum: 0, maximum: 1)
        reuse = config.bool(forKey: "reuse", default: reuse)
        via = try config.choice("via", default: via)
        let poll = try config.double("pollSeconds", default: batch.pollInterval.timeInterval, minimum: 0,
                                     exclusive: true)
        batch.pollInterval = .milliseconds(poll * 1000)
        batch.maxRequests = try config.int("batchMaxRequests", in: 1...Int.max)
        batch.maxBytes = try config.int("batchMaxBytes", in: 1_000...Int.max)
        let window = try config.double("batchWindowSeconds", default: batch.window.timeInterval, minimum: 0)
        batch.window = .milliseconds(window * 1000)
    }
}
