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

        public init() {}

        /// The most classifications any run keeps in flight, whatever it is configured with: each is a task holding
        /// a claimed query, and far past what any provider's rate limit serves.
        public static let maximumConcurrency = 10_000
    }

    private let store: any QueryStore
    private let classifier: any Classifier
    private let configuration: Configuration
    private let logger: Logger

    public init(store: any QueryStore, classifier: any Classifier, configuration: Configuration, logger: Logger) {
        self.store = store
        self.classifier = classifier
        var configuration = configuration
        configuration.maxConcurrent = min(max(1, configuration.maxConcurrent), Configuration.maximumConcurrency)
        configuration.batchSize = min(max(1, configuration.batchSize), configuration.maxConcurrent)
        self.configuration = configuration
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
        let eligible = try await reconnecting("count", giveUp: { control.stopRequested }) { [store] in
            try await store.eligibleCount(now: Date())
        }
        var loop = RunLoop(
            runId: id, configuration: configuration, control: control,
            total: min(eligible, configuration.limit ?? .max)
        )
        var record = RunRecord(id: id, owner: configuration.owner, state: .running, options: options,
                               statistics: loop.statistics.snapshot(finished: false))
        try await reconnecting("save run", giveUp: { control.stopRequested }) { [store, record] in
            try await store.saveRun(record)
        }
        logger.info("run started", metadata: [
            "run.id": "\(id)", "run.eligible": "\(loop.total)", "run.max_concurrent": "\(configuration.maxConcurrent)",
        ])

        await withTaskGroup(of: Event.self) { group in
            await drive(&loop, group: &group, control: control, onProgress: onProgress)
        }

        // Whatever is still held (claimed but not started, or interrupted) goes back untouched.
        let leftover = loop.claimedNotStarted.map(Claim.init) + loop.toRelease
        if !leftover.isEmpty {
            await releaseShielded(leftover, loop: &loop)
        }

        record.state = loop.runError != nil ? .failed : (loop.stopped ? .cancelled : .completed)
        record.error = loop.runError
        record.statistics = loop.statistics.snapshot(finished: true)
        onProgress(loop.progress(state: record.state))
        try await Self.shielded { [self, store, record] in
            try await reconnecting("save run", giveUp: { control.abortRequested }) { try await store.saveRun(record) }
        }
        logger.info("run finished", metadata: [
            "run.id": "\(id)", "run.state": "\(record.state.rawValue)",
            "run.classified": "\(record.statistics.classified)", "run.failed": "\(record.statistics.failed)",
        ])
        return record
    }

    // MARK: - The loop

    private enum Event: Sendable {
        case finished(QueryOutcome)
        case tick
    }

    /// One claim of one query. A run can hold two claims of the same query — a lease that ran out while its attempt
    /// was still running (or a wall clock that jumped past it) lets the run claim the query again — so attempts are
    /// told apart by their lease token, not by the query id alone.
    private struct Claim: Hashable {
        let id: QueryID
        let token: String

        init(_ record: QueryRecord) {
            id = record.id
            token = record.lease?.token ?? ""
        }
    }

    /// The loop's state, owned by the one task that drives it.
    private struct RunLoop {
        let runId: String
        let configuration: Configuration
        let control: RunControl
        let total: Int
        var statistics = RunStatisticsCollector(startedAt: Date())
        var claimedNotStarted: ArraySlice<QueryRecord> = []
        var inFlight: [Claim: QueryRecord] = [:]
        var toRelease: [Claim] = []
        var distinctClaimed = Set<QueryID>()
        /// When the retries this run scheduled come due, on the wall clock that claims compare `nextAttemptAt` with
        /// (a monotonic clock drifts from it, and a retry woken a moment early would find nothing to claim).
        var retryDue: [Date] = []
        var backlogEmpty = false
        /// In a continuous run, when to look for new work again, and how long to wait after that if there is none.
        var nextPoll: Date?
        var idleDelay: Duration
        var stopped = false
        var aborted = false
        var runError: String?
        var lastRenewal = ContinuousClock.now

        init(runId: String, configuration: Configuration, control: RunControl, total: Int) {
            self.runId = runId
            self.configuration = configuration
            self.control = control
            self.idleDelay = configuration.idlePoll.lowerBound
            self.total = total
        }

        var claimBudget: Int {
            guard let limit = configuration.limit else { return configuration.batchSize }
            return min(configuration.batchSize, limit - distinctClaimed.count)
        }

        func progress(state: RunState) -> RunProgress {
            let s = statistics.statistics
            return RunProgress(
                runId: runId, state: state, total: total, classified: s.classified, failed: s.failed,
                retried: s.retried, inFlight: inFlight.count, elapsedSeconds: statistics.elapsedSeconds
            )
        }
    }

    private func drive(
        _ loop: inout RunLoop,
        group: inout TaskGroup<Event>,
        control: RunControl,
        onProgress: @escaping @Sendable (RunProgress) -> Void
    ) async {
        // A tick wakes the loop to notice stop requests, due retries and lease renewals.
        let tickInterval = Duration.milliseconds(100)
        group.addTask { try? await Task.sleep(for: tickInterval); return .tick }

        while true {
            if (control.abortRequested || Task.isCancelled) && !loop.aborted {
                loop.aborted = true
                loop.stopped = true
                group.cancelAll()
            } else if control.stopRequested {
                loop.stopped = true
            }

            if !loop.stopped {
                await fillSlots(&loop, group: &group)
            }
            if loop.inFlight.isEmpty && !hasWorkAhead(loop) {
                break
            }
            guard let event = await group.next() else { break }
            switch event {
            case .tick:
                if !loop.aborted {
                    group.addTask { try? await Task.sleep(for: tickInterval); return .tick }
                }
                await renewLeasesIfDue(&loop)
            case .finished(let outcome):
                handle(outcome, loop: &loop, group: &group)
                onProgress(loop.progress(state: .running))
            }
        }
        group.cancelAll()
    }

    /// Whether the loop should keep waiting although nothing is in flight: retries it scheduled come due later.
    /// Once the limit is reached, retries are left to a later run.
    private func hasWorkAhead(_ loop: RunLoop) -> Bool {
        if configuration.continuous { return !loop.stopped }
        return !loop.stopped && configuration.waitForRetries && !loop.retryDue.isEmpty && loop.claimBudget > 0
    }

    private func fillSlots(_ loop: inout RunLoop, group: inout TaskGroup<Event>) async {
        let now = Date()
        if loop.backlogEmpty, loop.retryDue.contains(where: { $0 <= now }) {
            loop.retryDue.removeAll { $0 <= now }
            loop.backlogEmpty = false
        }
        if loop.backlogEmpty, configuration.continuous, let poll = loop.nextPoll, poll <= now {
            loop.backlogEmpty = false
        }
        while loop.inFlight.count < configuration.maxConcurrent {
            if loop.claimedNotStarted.isEmpty {
                guard !loop.backlogEmpty else { return }
                let budget = loop.claimBudget
                guard budget > 0 else {
                    loop.backlogEmpty = true
                    return
                }
                let claimed: [QueryRecord]
                do {
                    let control = loop.control
                    claimed = try await reconnecting("claim", giveUp: { control.stopRequested }) { [store, configuration] in
                        try await store.claim(
                            limit: budget, owner: configuration.owner, leaseFor: configuration.leaseDuration, now: Date()
                        )
                    }
                } catch where loop.control.stopRequested {
                    // Stopping while the store was unreachable: nothing more to claim.
                    loop.backlogEmpty = true
                    return
                } catch {
                    stopForStoreError(error, loop: &loop, group: &group)
                    return
                }
                if claimed.isEmpty {
                    loop.backlogEmpty = true
                    if configuration.continuous {
                        loop.nextPoll = Date().addingTimeInterval(loop.idleDelay.timeInterval)
                        loop.idleDelay = min(loop.idleDelay * 2, configuration.idlePoll.upperBound)
                    }
                    return
                }
                loop.idleDelay = configuration.idlePoll.lowerBound
                loop.statistics.claimed(claimed.count)
                for record in claimed {
                    // Only a limited run needs to remember every id it took; a long-running one must stay flat.
                    if configuration.limit != nil { loop.distinctClaimed.insert(record.id) }
                }
                loop.claimedNotStarted = ArraySlice(claimed)
            }
            let record = loop.claimedNotStarted.removeFirst()
            loop.inFlight[Claim(record)] = record
            group.addTask { [self, control = loop.control] in .finished(await process(record, control: control)) }
        }
    }

    private func handle(_ outcome: QueryOutcome, loop: inout RunLoop, group: inout TaskGroup<Event>) {
        let id = outcome.record.id
        loop.inFlight[Claim(outcome.record)] = nil
        loop.statistics.record(outcome)
        if outcome.needsRelease {
            loop.toRelease.append(Claim(outcome.record))
        }
        switch outcome.result {
        case .retryScheduled(_, let at):
            loop.retryDue.append(at)
        case .runStopped(let error):
            if loop.runError == nil {
                loop.runError = "the classifier cannot work (\(error.kind)): \(error.message)"
                logger.info("run stopping on a run-level error", metadata: ["error.kind": "\(error.kind)"])
            }
            abort(&loop, group: &group)
        case .storeFailed(let error):
            stopForStoreError(error, loop: &loop, group: &group)
        case .leaseLost:
            logger.info("lease lost; another worker holds the query", metadata: ["query.id": "\(id)"])
        case .classified, .failed, .interrupted:
            break
        }
    }

    private func stopForStoreError(_ error: any Error, loop: inout RunLoop, group: inout TaskGroup<Event>) {
        if loop.runError == nil {
            loop.runError = "the store failed: \(error)"
            logger.info("run stopping on a store error", metadata: ["error": "\(error)"])
        }
        abort(&loop, group: &group)
    }

    private func abort(_ loop: inout RunLoop, group: inout TaskGroup<Event>) {
        loop.stopped = true
        if !loop.aborted {
            loop.aborted = true
            group.cancelAll()
        }
    }

    private func renewLeasesIfDue(_ loop: inout RunLoop) async {
        let now = ContinuousClock.now
        guard now - loop.lastRenewal >= configuration.leaseDuration / 3 else { return }
        loop.lastRenewal = now
        let held = Array(loop.inFlight.keys) + loop.claimedNotStarted.map(Claim.init)
        for (token, claims) in Dictionary(grouping: held, by: \.token) where !token.isEmpty {
            let ids = claims.map(\.id)
            do {
                _ = try await store.renew(ids, token: token, leaseFor: configuration.leaseDuration, now: Date())
            } catch {
                logger.info("lease renewal failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func releaseShielded(_ held: [Claim], loop: inout RunLoop) async {
        for (token, claims) in Dictionary(grouping: held, by: \.token) where !token.isEmpty {
            let ids = claims.map(\.id)
            do {
                let control = loop.control
                let released = try await Self.shielded { [self, store] in
                    try await reconnecting("release", giveUp: { control.abortRequested }) {
                        try await store.release(ids, token: token)
                    }
                }
                loop.statistics.released(released)
            } catch {
                logger.info("could not hand claimed queries back; their leases will expire", metadata: [
                    "error": "\(error)", "queries": "\(ids.count)",
                ])
            }
        }
    }

    // MARK: - An unreachable store

    /// Runs `body`, and while the store is unreachable pauses with backoff and tries again, for up to
    /// ``Configuration/storeOutageBudget``. Queries are never marked failed for an outage. Other errors, an exhausted
    /// budget, or `giveUp()` turning true end the wait with the store's error.
    private func reconnecting<T: Sendable>(
        _ operation: String,
        giveUp: @Sendable () -> Bool,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        var retry = 0
        while true {
            do {
                let result = try await body()
                if retry > 0 {
                    logger.warning("store reachable again; the run continues", metadata: [
                        "store.operation": "\(operation)", "store.paused_for": "\(ContinuousClock.now - started)",
                    ])
                }
                return result
            } catch let error as StoreError where error.isUnavailable {
                guard ContinuousClock.now - started < configuration.storeOutageBudget, !giveUp() else { throw error }
                retry += 1
                let delay = configuration.storeRetryPolicy.delay(forRetry: retry)
                if retry == 1 {
                    logger.warning("store unreachable; pausing and retrying", metadata: [
                        "store.operation": "\(operation)", "error": "\(error)",
                    ])
                }
                try await Task.sleep(for: delay)
            }
        }
    }

    // MARK: - One query

    private func process(_ record: QueryRecord, control: RunControl) async -> QueryOutcome {
        guard let token = record.lease?.token else {
            return QueryOutcome(record: record, result: .leaseLost)
        }
        let started = ContinuousClock.now
        let request = ClassificationRequest(id: record.id, query: record.query, attempt: record.attempts)
        do {
            var classification = try await classifier.classify(request)
            let elapsed = ContinuousClock.now - started
            classification.latencyMs = elapsed.timeInterval * 1000
            var outcome = QueryOutcome(record: record, result: .classified(classification))
            outcome.promptTokens = classification.promptTokens
            outcome.completionTokens = classification.completionTokens
            outcome.costUSD = classification.costUSD
            // A result already paid for is written even if the run is being cancelled.
            outcome.result = await write(record.id, control: control) { [store, classification] in
                try await store.complete(record.id, token: token, classification: classification)
                return .classified(classification)
            }
            return outcome
        } catch let error as ClassifierError {
            var outcome = QueryOutcome(record: record, result: .interrupted)
            outcome.promptTokens = error.promptTokens
            outcome.completionTokens = error.completionTokens
            outcome.costUSD = error.costUSD
            outcome.result = await recordFailure(error, of: record, token: token, control: control)
            return outcome
        } catch is CancellationError {
            return QueryOutcome(record: record, result: .interrupted)
        } catch {
            if Task.isCancelled { return QueryOutcome(record: record, result: .interrupted) }
            let wrapped = ClassifierError.server("unexpected classifier error: \(error)")
            return QueryOutcome(
                record: record, result: await recordFailure(wrapped, of: record, token: token, control: control)
            )
        }
    }

    private func recordFailure(
        _ error: ClassifierError, of record: QueryRecord, token: String, control: RunControl
    ) async -> QueryOutcome.Result {
        let recorded = RecordedError(kind: error.kind, message: error.message, at: Date())
        switch error.scope {
        case .run:
            return .runStopped(error)
        case .query:
            return await write(record.id, control: control) { [store] in
                try await store.fail(record.id, token: token, error: recorded, retryAt: nil)
                return .failed(recorded)
            }
        case .attempt:
            guard record.attempts < configuration.maxAttempts else {
                return await write(record.id, control: control) { [store] in
                    try await store.fail(record.id, token: token, error: recorded, retryAt: nil)
                    return .failed(recorded)
                }
            }
            let delay = configuration.retryPolicy.delay(forRetry: record.attempts)
            let retryAt = Date().addingTimeInterval(delay.timeInterval)
            logger.debug("attempt failed; retry scheduled", metadata: [
                "query.id": "\(record.id)", "error.kind": "\(error.kind)", "retry.delay": "\(delay)",
            ])
            return await write(record.id, control: control) { [store] in
                try await store.fail(record.id, token: token, error: recorded, retryAt: retryAt)
                return .retryScheduled(recorded, at: retryAt)
            }
        }
    }

    /// Performs a fenced store write, waiting out an unreachable store, and maps a refused lease to `.leaseLost` and
    /// any other failure to `.storeFailed`.
    private func write(
        _ id: QueryID,
        control: RunControl,
        _ body: @escaping @Sendable () async throws -> QueryOutcome.Result
    ) async -> QueryOutcome.Result {
        do {
            return try await Self.shielded { [self] in
                try await reconnecting("write", giveUp: { control.abortRequested }, body)
            }
        } catch let error as StoreError where error.isLeaseLost {
            return .leaseLost
        } catch {
            return .storeFailed(error)
        }
    }

    /// Runs `body` in a task that does not inherit cancellation, for writes that must land even while the run
    /// is being cancelled (a result already paid for, claims handed back).
    static func shielded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task { try await body() }.value
    }
}
