import Foundation
import Logging
import TriageCore

/// Classifies the backlog: claims queries from a ``QueryStore`` in batches, keeps up to `maxConcurrent`
/// classifications in flight, refills a slot the moment one frees, and writes each result as it lands.
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

        public init() {}

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
    /// - Throws: Only if the store cannot save the run record.
    public func run(
        id: String = UUID().uuidString.lowercased(),
        control: RunControl = RunControl(),
        onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) async throws -> RunRecord {
        let options = RunOptions(
            batchSize: configuration.batchSize, maxConcurrent: configuration.maxConcurrent,
            maxAttempts: configuration.maxAttempts, limit: configuration.limit, classifier: configuration.classifierName
        )
        let eligible = try await store.reconnecting("count", giveUp: { control.stopRequested }) { [store] in
            try await store.store.eligibleCount(now: Date())
        }
        var machine = RunStateMachine(runId: id, configuration: configuration,
                                      total: min(eligible, configuration.limit ?? .max), startedAt: .now)
        var record = RunRecord(id: id, owner: configuration.owner, state: .running, options: options,
                               statistics: machine.statistics.snapshot(finished: false))
        try await store.reconnecting("save run", giveUp: { control.stopRequested }) { [store, record] in
            try await store.store.saveRun(record)
        }
        logger.info("run started", metadata: [
            "run.id": "\(id)", "run.eligible": "\(machine.total)", "run.max_concurrent": "\(configuration.maxConcurrent)",
        ])

        let attempt = QueryAttempt(classifier: classifier, store: store, configuration: configuration, logger: logger,
                                   control: control)
        let release = await withTaskGroup(of: Event.self) { group in
            await drive(&machine, group: &group, attempt: attempt, control: control, onProgress: onProgress)
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
    }

    /// The run loop: report each event to the machine and perform what it asks, until it says the run is over.
    /// - Returns: The claims to hand back.
    private func drive(
        _ machine: inout RunStateMachine,
        group: inout TaskGroup<Event>,
        attempt: QueryAttempt,
        control: RunControl,
        onProgress: @escaping @Sendable (RunProgress) -> Void
    ) async -> [RunStateMachine.Claim] {
        // A tick wakes the loop to notice stop requests, due retries and lease renewals.
        let tickInterval = Duration.milliseconds(100)
        group.addTask { try? await Task.sleep(for: tickInterval); return .tick }
        defer { group.cancelAll() }

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
                    logger.info("the LLM provider is not answering; pausing the run", metadata: [
                        "run.handed_back": "\(claims.count)",
                    ])
                    machine.released(await store.release(RunStateMachine.LeaseGroup.grouping(claims),
                                                         giveUp: { control.abortRequested }))
                    onProgress(machine.progress(state: .running))
                case .finish(let release):
                    return release
                case .cancelInFlight, .wait:
                    break actions
                }
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
            case .claimed(.failure(let error)):
                perform(machine.claimFailed(error, stopping: control.stopRequested), machine: machine, group: &group)
            case .finished(let outcome):
                if case .leaseLost = outcome.result {
                    logger.info("lease lost; another worker holds the query", metadata: ["query.id": "\(outcome.record.id)"])
                }
                perform(machine.finished(outcome, now: Date()), machine: machine, group: &group)
                onProgress(machine.progress(state: .running))
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
