import Foundation
import Logging
import TriageCore

/// Classifies the backlog: claims queries from a ``QueryStore`` in batches, keeps up to `maxConcurrent`
/// classifications in flight, refills a slot the moment one frees, and writes each result as it lands — or, with
/// ``Configuration/via`` `.batch`, gathers them into the provider's batches (half the price, answers within a day)
/// and writes each line's result when a batch is read. Both ways share every rule: what a result makes of its query,
/// reuse, review, statistics, the outage pause and how a run stops.
///
/// Failures stay with their query: a transient error schedules a retry through `nextAttemptAt` with exponential
/// backoff and jitter, and after `maxAttempts` the query is `failed` with its last error. A run-level error
/// (see ``ClassifierError/Scope/run``) stops the run and hands every claimed query back untouched.
public struct BatchProcessor: Sendable {
    /// How a run behaves.
    public struct Configuration: Sendable {
        /// Queries claimed from the store at a time (at most `maxConcurrent`: a run holds no more than its slots
        /// need, what is in flight plus one refill).
        public var batchSize = 50
        /// Classifications in flight at once, up to ``maximumConcurrency``.
        public var maxConcurrent = 10
        /// Attempts before a query is `failed` for good.
        public var maxAttempts = 3
        /// Stop after this many distinct queries were claimed.
        public var limit: Int?
        /// How long a claim lasts without renewal; leases are renewed every third of it while work is in flight.
        public var leaseDuration: Duration = .seconds(300)
        /// Delay before the next attempt of a failed query.
        public var retryPolicy = RetryPolicy()
        /// Whether the run waits for the retries it scheduled (`true`), or leaves them to a later run.
        public var waitForRetries = true
        /// Identifies this worker in leases.
        public var owner = BatchProcessor.defaultOwner
        /// Whether a query whose normalised text was already classified under the same model, taxonomy and example
        /// pool takes that answer instead of asking the model (``Classifier/reuseScope``).
        public var reuse = true
        /// Classifications whose confidence is under this are flagged ``Classification/needsReview`` for a person.
        public var reviewBelow: Double?
        /// Recorded with the run.
        public var classifierName = "unknown"
        /// Keep working until stopped: when the backlog is empty, poll for new pending queries (waiting longer each
        /// time nothing turns up, within ``idlePoll``) instead of ending the run.
        public var continuous = false
        /// The wait between polls of an empty store in a continuous run: from the lower bound, doubling while the
        /// store stays empty, up to the upper bound.
        public var idlePoll: ClosedRange<Duration> = .milliseconds(200) ... .seconds(5)
        /// How long the run waits out an unreachable store (a lost connection, a failover), pausing and retrying
        /// with backoff, before it stops with the backlog left as it was.
        public var storeOutageBudget: Duration = .seconds(600)
        /// Pauses between attempts to reach an unreachable store.
        public var storeRetryPolicy = RetryPolicy(base: .milliseconds(200), maximum: .seconds(5))
        /// Attempts in a row that find the provider unavailable (no connection, timeouts, 5xx, each after the
        /// classifier's own retries) before the run pauses for a provider outage. With nothing else in flight to
        /// compare with, such a failure counts against its query if the provider answered within
        /// ``providerRecentlyUp``, and pauses the run otherwise.
        public var outageThreshold = 3
        /// How recent an answer must be for a lone failure to be taken for the query's own.
        public var providerRecentlyUp: Duration = .seconds(60)
        /// How long a provider outage may last: the run pauses, probing with one query at a time, then stops with
        /// the backlog pending.
        public var providerOutageBudget: Duration = .seconds(600)
        /// Waits between probes of a provider that is down, doubling up to the upper bound.
        public var outageProbe: ClosedRange<Duration> = .seconds(1) ... .seconds(30)
        /// How claimed queries reach the model.
        public var via: Via = .online
        /// How batch mode gathers, submits and polls.
        public var batch = Batch()

        public init() {}

        /// How claimed queries reach the model.
        public enum Via: String, Sendable, Hashable, Codable, CaseIterable {
            /// A request per query, as soon as a slot is free.
            case online
            /// Through the provider's batch API (``Classifier/batches``): half the price, answers within 24 hours.
            case batch
        }

        /// How batch mode gathers claimed queries into provider batches and follows them.
        public struct Batch: Sendable, Hashable {
            /// Lines per batch, below the provider's limit (OpenAI 50,000, Anthropic 100,000); `nil` for the limit.
            public var maxRequests: Int?
            /// Bytes per batch, below the provider's limit (OpenAI 200 MB, Anthropic 256 MB); `nil` for the limit.
            public var maxBytes: Int?
            /// How often the provider is asked how a batch is doing.
            public var pollInterval: Duration = .seconds(30)
            /// In a continuous run, how long a batch gathers new queries before it is sent (unless it fills first).
            public var window: Duration = .seconds(60)
            /// Batches followed at once; claiming waits while this many are at the provider and the next is full.
            public var maxOpen = 8

            public init() {}

            /// How long a run holds a batch it follows (``ProviderBatchStore/holdBatches(_:holder:until:now:)``),
            /// renewed at every poll: three polls, so that a run that died frees its batches for the next soon.
            public var holdDuration: Duration { max(pollInterval * 3, .seconds(1)) }

            /// A claim in batch mode outlasts several polls and at least an hour: a batch takes hours at the provider,
            /// and its queries stay held meanwhile (renewed every third of the lease).
            public func leaseDuration(atLeast configured: Duration) -> Duration {
                max(configured, pollInterval * 4, .seconds(3600))
            }
        }

        /// The most classifications any run keeps in flight, whatever it is configured with: each is a task holding
        /// a claimed query, and far past what any provider's rate limit serves.
        public static let maximumConcurrency = 10_000
    }

    private let configuration: Configuration
    private let store: StoreAccess
    private let classifier: any Classifier
    private let logger: Logger

    public init(store: any QueryStore, classifier: any Classifier, configuration: Configuration, logger: Logger) {
        var configuration = configuration
        configuration.maxConcurrent = min(max(1, configuration.maxConcurrent), Configuration.maximumConcurrency)
        configuration.batchSize = min(max(1, configuration.batchSize), configuration.maxConcurrent)
        if configuration.via == .batch {
            configuration.leaseDuration = configuration.batch.leaseDuration(atLeast: configuration.leaseDuration)
        }
        self.configuration = configuration
        self.store = StoreAccess(store: store, configuration: configuration, logger: logger)
        self.classifier = classifier
        self.logger = logger
    }

    /// `host:pid`, unique enough among workers sharing a store.
    public static var defaultOwner: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Runs until the backlog is done, the limit is reached, `control` asks it to stop, or a run-level error occurs.
    ///
    /// - Parameters:
    ///   - id: The run's id, recorded with the run.
    ///   - control: Lets another task stop the run.
    ///   - onProgress: Called after every finished query, and once at the end.
    /// - Returns: The run record, also saved in the store. A run stopped by a run-level error returns state
    ///   `failed` with the reason in `error`; every query it had claimed is `pending` again.
    /// - Throws: ``ClassifierError`` `configuration` for batch mode with a classifier that has no batch API;
    ///   otherwise only if the store cannot save the run record.
    public func run(
        id: String = UUID().uuidString.lowercased(),
        control: RunControl = RunControl(),
        onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) async throws -> RunRecord {
        if configuration.via == .batch, classifier.batches == nil {
            throw ClassifierError.configuration(
                "batch mode needs a provider's batch API: --llm openai or --llm anthropic")
        }
        var options = RunOptions(
            batchSize: configuration.batchSize, maxConcurrent: configuration.maxConcurrent,
            maxAttempts: configuration.maxAttempts, limit: configuration.limit, classifier: configuration.classifierName
        )
        options.via = configuration.via.rawValue
        let eligible = try await store.reconnecting("count", giveUp: { control.stopRequested }) { [store] in
            try await store.store.eligibleCount(now: Date())
        }
        let batches = configuration.via == .batch ? classifier.batches : nil
        var machine = RunStateMachine(runId: id, configuration: configuration,
                                      total: min(eligible, configuration.limit ?? .max), startedAt: .now,
                                      batchLimits: batches.map { ($0.maxRequests, $0.maxBytes) },
                                      categories: Set(classifier.taxonomy.categoryNames))
        var record = RunRecord(id: id, owner: configuration.owner, state: .running, options: options,
                               statistics: machine.statistics.snapshot(finished: false))
        record.examplesDecision = classifier.examplesDecision
        try await store.reconnecting("save run", giveUp: { control.stopRequested }) { [store, record] in
            try await store.store.saveRun(record)
        }
        // `auto` measures the model on a sample of the example pool once, for a run large enough to be worth it.
        if let measurement = await classifier.calibrate(forQueries: machine.total) {
            machine.calibrated(measurement)
        }
        record.examplesDecision = classifier.examplesDecision
        logger.info("run started", metadata: [
            "run.id": "\(id)", "run.eligible": "\(machine.total)", "run.max_concurrent": "\(configuration.maxConcurrent)",
        ])

        let attempt = QueryAttempt(classifier: classifier, store: store, configuration: configuration, logger: logger,
                                   control: control)
        let performer = batches.map {
            ProviderBatchPerformer(batches: $0, attempt: attempt, store: store, settings: configuration.batch, runId: id,
                                   logger: logger, giveUp: { control.abortRequested })
        }
        let release = await withTaskGroup(of: Event.self) { group in
            await drive(&machine, group: &group, attempt: attempt, batches: performer, control: control,
                        onProgress: onProgress)
        }
        if !release.isEmpty {
            machine.released(await store.release(RunStateMachine.LeaseGroup.grouping(release),
                                                 giveUp: { control.abortRequested }))
        }

        record.state = machine.endState
        record.error = machine.runError
        record.statistics = machine.statistics.snapshot(finished: true)
        onProgress(machine.progress(state: record.state))
        try await StoreAccess.shielded { [store, record] in
            try await store.reconnecting("save run", giveUp: { control.abortRequested }) {
                try await store.store.saveRun(record)
            }
        }
        logger.info("run finished", metadata: [
            "run.id": "\(id)", "run.state": "\(record.state.rawValue)",
            "run.classified": "\(record.statistics.classified)", "run.failed": "\(record.statistics.failed)",
        ])
        return record
    }

    // MARK: - Performing the machine's actions

    private enum Event: Sendable {
        case finished(QueryOutcome)
        case claimed(Result<[QueryRecord], any Error>)
        case tick
        case resumed(Result<(adopted: [ProviderBatch], heldElsewhere: Int), any Error>)
        case prepared([QueryRecord], outcomes: [QueryOutcome], lines: [BatchLine])
        case submitted([BatchLine], ProviderBatch, ClassifierError?)
        case polled(String, ProviderBatchPerformer.Poll)
        case ingested(ProviderBatch, [BatchLineOutcome], ClassifierError?)
    }

    /// The run loop: report each event to the machine and perform what it asks, until it says the run is over.
    /// - Returns: The claims to hand back.
    private func drive(
        _ machine: inout RunStateMachine,
        group: inout TaskGroup<Event>,
        attempt: QueryAttempt,
        batches: ProviderBatchPerformer?,
        control: RunControl,
        onProgress: @escaping @Sendable (RunProgress) -> Void
    ) async -> [RunStateMachine.Claim] {
        // A tick wakes the loop to notice stop requests, due retries and lease renewals.
        let tickInterval = Duration.milliseconds(100)
        group.addTask { try? await Task.sleep(for: tickInterval); return .tick }
        defer { group.cancelAll() }

        // Progress is reported once the machine has acted on an event, so that the slots it refilled show as in
        // flight (a full run at four slots shows four, not three).
        var progressAfterRefill = false
        while true {
            if (control.abortRequested || Task.isCancelled) && !machine.aborted {
                perform(machine.abort(), machine: machine, group: &group)
            } else if control.stopRequested {
                machine.stop()
            }
            actions: while true {
                switch machine.nextAction(now: Date()) {
                case .claim(let limit):
                    // A task of its own, so the slots keep turning over while the store answers; shielded, so a
                    // claim the store made is always reported, and handed back if the run is ending.
                    group.addTask { [store] in
                        do {
                            return .claimed(.success(try await StoreAccess.shielded {
                                try await store.claim(limit: limit, giveUp: { control.stopRequested })
                            }))
                        } catch {
                            return .claimed(.failure(error))
                        }
                    }
                case .start(let record):
                    group.addTask { [attempt] in .finished(await attempt.run(record)) }
                case .settle(let record, let error):
                    group.addTask { [attempt] in .finished(await attempt.settle(record, error)) }
                case .release(let claims):
                    if machine.paused {
                        logger.info("the LLM provider is not answering; pausing the run", metadata: [
                            "run.handed_back": "\(claims.count)",
                        ])
                    }
                    machine.released(await store.release(RunStateMachine.LeaseGroup.grouping(claims),
                                                         giveUp: { control.abortRequested }))
                    onProgress(machine.progress(state: .running))
                case .finish(let release):
                    if progressAfterRefill { onProgress(machine.progress(state: .running)) }
                    return release
                case .cancelInFlight, .wait:
                    break actions
                case .resumeBatches(let following):
                    guard let batches else { break }
                    group.addTask {
                        do { return .resumed(.success(try await batches.resume(following: following))) } catch {
                            return .resumed(.failure(error))
                        }
                    }
                case .prepare(let records):
                    guard let batches else { break }
                    group.addTask {
                        let (outcomes, lines) = await batches.prepare(records)
                        return .prepared(records, outcomes: outcomes, lines: lines)
                    }
                case .submit(let lines, let followers):
                    guard let batches else { break }
                    // Shielded: once the provider may be starting a batch, its id must reach the store.
                    group.addTask {
                        let (batch, error) = await StoreAccess.shielded {
                            await batches.submit(lines, followers: followers)
                        }
                        return .submitted(lines, batch, error)
                    }
                case .poll(let batch):
                    guard let batches else { break }
                    group.addTask { .polled(batch.id, await batches.poll(batch)) }
                case .ingest(let batch, let status, let refusal):
                    guard let batches else { break }
                    group.addTask {
                        let (outcomes, failure) = await batches.ingest(batch, status: status, refusal: refusal)
                        return .ingested(batch, outcomes, failure)
                    }
                }
            }
            if progressAfterRefill {
                progressAfterRefill = false
                onProgress(machine.progress(state: .running))
            }
            guard let event = await group.next() else { return [] }
            switch event {
            case .tick:
                if machine.paused { onProgress(machine.progress(state: .running)) }
                if !machine.aborted {
                    group.addTask { try? await Task.sleep(for: tickInterval); return .tick }
                }
                await store.renew(machine.leasesToRenew(at: .now))
            case .claimed(.success(let records)):
                machine.claimed(records, now: Date())
                progressAfterRefill = !records.isEmpty
            case .claimed(.failure(let error)):
                perform(machine.claimFailed(error, stopping: control.stopRequested), machine: machine, group: &group)
            case .finished(let outcome):
                if case .leaseLost = outcome.result {
                    logger.info("lease lost; another worker holds the query", metadata: ["query.id": "\(outcome.record.id)"])
                }
                perform(machine.finished(outcome, now: Date()), machine: machine, group: &group)
                progressAfterRefill = true
            case .resumed(let result):
                if case .success(let found) = result, !found.adopted.isEmpty || found.heldElsewhere > 0 {
                    logger.info("unfinished batches recorded in the store", metadata: [
                        "batch.followed": "\(found.adopted.count)", "batch.held_elsewhere": "\(found.heldElsewhere)",
                    ])
                }
                perform(machine.batchesResumed(result, now: Date()), machine: machine, group: &group)
                progressAfterRefill = true
            case .prepared(let records, let outcomes, let lines):
                perform(machine.prepared(records, outcomes: outcomes, lines: lines, now: Date()), machine: machine,
                        group: &group)
                progressAfterRefill = true
            case .submitted(let lines, let batch, let error):
                if let error {
                    logger.info("batch submission failed", metadata: ["batch.id": "\(batch.id)", "error": "\(error)"])
                }
                perform(machine.submitted(lines, batch: batch, error: error, now: Date()), machine: machine,
                        group: &group)
                progressAfterRefill = true
            case .polled(let id, let poll):
                if case .failed(_, let error) = poll {
                    logger.warning("the batch API did not answer a poll", metadata: [
                        "batch.id": "\(id)", "error": "\(error.message)",
                    ])
                }
                perform(machine.polled(id, poll, now: Date()), machine: machine, group: &group)
                progressAfterRefill = true
            case .ingested(let batch, let outcomes, let failure):
                perform(machine.ingested(batch, outcomes, failure: failure, now: Date()), machine: machine,
                        group: &group)
                progressAfterRefill = true
            }
        }
    }

    /// Performs what an event's answer asks: the only one is cancelling the attempts in flight when the run aborts.
    private func perform(_ action: RunStateMachine.Action, machine: RunStateMachine, group: inout TaskGroup<Event>) {
        guard action == .cancelInFlight else { return }
        if let reason = machine.runError {
            logger.info("run stopping", metadata: ["reason": "\(reason)"])
        }
        group.cancelAll()
    }
}
